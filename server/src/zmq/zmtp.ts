/**
 * The few pieces of ZMTP 3.x (the ZeroMQ wire protocol, RFC 23 and 37) the heartbeat publisher
 * speaks itself: the greeting, the NULL mechanism's READY command, frames, and a parser that
 * never holds more than one bounded frame of a peer's input.
 *
 * @module
 */

/** Length of a ZMTP 3 greeting. */
export const GREETING_BYTES = 64;

/** Frame flag: more frames of this message follow. */
const FLAG_MORE = 0x01;
/** Frame flag: the size is 8 bytes, not 1. */
const FLAG_LONG = 0x02;
/** Frame flag: the frame is a command. */
const FLAG_COMMAND = 0x04;

/**
 * Our greeting: signature, version 3.1, mechanism NULL, as-server 0. The signature's padding is
 * what libzmq sends (an 8-byte length of 1, from ZMTP 1.0) so that old peers read it the same way.
 */
export function greeting(): Buffer {
  const g = Buffer.alloc(GREETING_BYTES);
  g[0] = 0xff;
  g[8] = 0x01;
  g[9] = 0x7f;
  g[10] = 3;
  g[11] = 1;
  g.write('NULL', 12, 'latin1');
  return g;
}

/** Why a peer's greeting is refused, or undefined when it is a ZMTP 3 NULL greeting. */
export function checkGreeting(g: Buffer): string | undefined {
  if (g.length < GREETING_BYTES) return 'short greeting';
  if (g[0] !== 0xff || ((g[9] ?? 0) & 0x01) !== 1) return 'not a ZMTP 3 greeting';
  if ((g[10] ?? 0) < 3) return `ZMTP version ${String(g[10])} not supported`;
  const mechanism = g.subarray(12, 32);
  const end = mechanism.indexOf(0);
  const name = mechanism.subarray(0, end === -1 ? 20 : end).toString('latin1');
  return name === 'NULL' ? undefined : `mechanism ${JSON.stringify(name)} not supported`;
}

/** One frame, size prefix included. */
export function frame(body: Buffer, flags: { more?: boolean; command?: boolean } = {}): Buffer {
  const long = body.length > 255;
  const head = Buffer.alloc(long ? 9 : 2);
  head[0] =
    (flags.more === true ? FLAG_MORE : 0) |
    (flags.command === true ? FLAG_COMMAND : 0) |
    (long ? FLAG_LONG : 0);
  if (long) head.writeBigUInt64BE(BigInt(body.length), 1);
  else head[1] = body.length;
  return Buffer.concat([head, body]);
}

/** A command frame: the name's length, the name, the data. */
export function command(name: string, data: Buffer = Buffer.alloc(0)): Buffer {
  const n = Buffer.from(name, 'latin1');
  return frame(Buffer.concat([Buffer.from([n.length]), n, data]), { command: true });
}

/** The NULL mechanism's READY command of a socket of type `socketType`. */
export function readyCommand(socketType: string): Buffer {
  const name = Buffer.from('Socket-Type', 'latin1');
  const value = Buffer.from(socketType, 'latin1');
  const size = Buffer.alloc(4);
  size.writeUInt32BE(value.length);
  return command('READY', Buffer.concat([Buffer.from([name.length]), name, size, value]));
}

/** A whole message: every frame but the last flagged MORE. */
export function message(parts: readonly Buffer[]): Buffer {
  return Buffer.concat(parts.map((p, i) => frame(p, { more: i < parts.length - 1 })));
}

/** A frame read from a peer. */
export interface Frame {
  command: boolean;
  more: boolean;
  body: Buffer;
}

/** A command's name and data, or undefined when the body is too short to hold its name. */
export function splitCommand(body: Buffer): { name: string; data: Buffer } | undefined {
  const length = body[0];
  if (length === undefined || body.length < 1 + length) return undefined;
  return { name: body.subarray(1, 1 + length).toString('latin1'), data: body.subarray(1 + length) };
}

/**
 * The properties of a READY command's data (names compared case-insensitively, as the RFC says);
 * undefined when the data is malformed.
 */
export function readyProperties(data: Buffer): Map<string, Buffer> | undefined {
  const props = new Map<string, Buffer>();
  let at = 0;
  while (at < data.length) {
    const nameLength = data[at] ?? 0;
    if (nameLength === 0 || at + 1 + nameLength + 4 > data.length) return undefined;
    const name = data
      .subarray(at + 1, at + 1 + nameLength)
      .toString('latin1')
      .toLowerCase();
    const valueLength = data.readUInt32BE(at + 1 + nameLength);
    const start = at + 1 + nameLength + 4;
    if (start + valueLength > data.length) return undefined;
    props.set(name, data.subarray(start, start + valueLength));
    at = start + valueLength;
  }
  return props;
}

/**
 * Splits a peer's byte stream into the greeting and then frames. It keeps at most one frame
 * (bounded by `maxFrameBytes`) plus its header; a bigger frame, or reserved flag bits, is an error.
 */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);
  private greeted = false;

  constructor(private readonly maxFrameBytes: number) {}

  /**
   * Adds bytes; returns the greeting (once) and the whole frames now available, or an error
   * string when the stream breaks the rules (the caller then drops the connection).
   */
  push(chunk: Buffer): { greeting?: Buffer; frames: Frame[] } | string {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: { greeting?: Buffer; frames: Frame[] } = { frames: [] };
    let at = 0;
    if (!this.greeted) {
      // The signature alone tells a ZMTP 1.0/2.0 peer, which would never send 64 bytes.
      if (this.pending.length >= 10 && (this.pending[0] !== 0xff || ((this.pending[9] ?? 0) & 1) !== 1)) {
        return 'not a ZMTP 3 greeting';
      }
      if (this.pending.length >= 11 && (this.pending[10] ?? 0) < 3) {
        return `ZMTP version ${String(this.pending[10])} not supported`;
      }
      if (this.pending.length < GREETING_BYTES) return out;
      out.greeting = Buffer.from(this.pending.subarray(0, GREETING_BYTES));
      this.greeted = true;
      at = GREETING_BYTES;
    }
    for (;;) {
      const flags = this.pending[at];
      if (flags === undefined) break;
      if ((flags & ~(FLAG_MORE | FLAG_LONG | FLAG_COMMAND)) !== 0) return 'reserved frame flags';
      const long = (flags & FLAG_LONG) !== 0;
      const headBytes = long ? 9 : 2;
      if (this.pending.length - at < headBytes) break;
      let size: number;
      if (long) {
        const big = this.pending.readBigUInt64BE(at + 1);
        if (big > BigInt(this.maxFrameBytes)) return 'frame too large';
        size = Number(big);
      } else {
        size = this.pending[at + 1] ?? 0;
      }
      if (size > this.maxFrameBytes) return 'frame too large';
      if (this.pending.length - at - headBytes < size) break;
      const command = (flags & FLAG_COMMAND) !== 0;
      const more = (flags & FLAG_MORE) !== 0;
      if (command && more) return 'command with more flag';
      out.frames.push({
        command,
        more,
        body: Buffer.from(this.pending.subarray(at + headBytes, at + headBytes + size)),
      });
      at += headBytes + size;
    }
    this.pending = at === 0 ? this.pending : Buffer.from(this.pending.subarray(at));
    return out;
  }
}
