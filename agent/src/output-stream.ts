/**
 * Live output of one job (the `output` message): what the command prints, cut into chunks while
 * it runs. Writes are coalesced (a chunk goes out {@link OUTPUT_FLUSH_MS} after the first byte
 * waiting, or as soon as {@link OUTPUT_CHUNK_BYTES} wait, whichever first), both channels share
 * one `seq` counter from 0 in the order the bytes were read, a `StringDecoder` per channel keeps
 * every UTF-8 character whole, and the stream stops at the job's cap (`output_stream_max_bytes`,
 * bytes of both channels): the last chunk then carries `truncated: true`.
 *
 * The stream only produces chunks; the connection signs, queues and sends them (and sheds them
 * first when the socket is backed up).
 *
 * @module
 */
import { StringDecoder } from 'node:string_decoder';
import { MAX_OUTPUT_CHUNK_BYTES, type OutputChannel } from '@push-jobs/protocol/lite';

/** Most UTF-8 bytes of `data` in one chunk: the protocol's `MAX_OUTPUT_CHUNK_BYTES`. */
export const OUTPUT_CHUNK_BYTES = MAX_OUTPUT_CHUNK_BYTES;

/** How long output waits to be coalesced with more before it is sent, ms. */
export const OUTPUT_FLUSH_MS = 150;

/** The fields of one `output` message. */
export interface OutputChunk {
  seq: number;
  channel: OutputChannel;
  data: string;
  truncated?: true;
}

/** Options of {@link OutputStream}. */
export interface OutputStreamOptions {
  /** The job's cap: most UTF-8 bytes streamed over both channels (`output_stream_max_bytes`). */
  readonly maxBytes: number;
  /** Called with each chunk, in `seq` order. */
  readonly send: (chunk: OutputChunk) => void;
  /** Coalescing delay, ms. @default {@link OUTPUT_FLUSH_MS} */
  readonly flushMs?: number;
  /** Most UTF-8 bytes per chunk (at most, and by default, {@link OUTPUT_CHUNK_BYTES}). */
  readonly chunkBytes?: number;
  /**
   * Most bytes of `data` once JSON-encoded (escapes make control characters up to six times
   * longer), so that a chunk with its envelope fits the message size limit. @default no bound
   */
  readonly maxJsonBytes?: number;
}

/** The smallest chunk bound accepted (any character fits, escaped or not). */
const MIN_CHUNK_BYTES = 64;

/**
 * The length (in UTF-16 code units) of the longest prefix of `text` that takes at most
 * `maxBytes` bytes in UTF-8 and at most `maxJsonBytes` bytes inside a JSON string, never
 * splitting a surrogate pair. Linear in the prefix.
 */
export function fitPrefix(text: string, maxBytes: number, maxJsonBytes = Infinity): number {
  let bytes = 0;
  let json = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    let units = 1;
    let b: number;
    let j: number;
    if (c < 0x80) {
      b = 1;
      // JSON.stringify: `"` `\` and \b \t \n \f \r take two bytes, other controls six (\u00XX).
      if (c === 0x22 || c === 0x5c || c === 8 || c === 9 || c === 10 || c === 12 || c === 13) j = 2;
      else j = c < 0x20 ? 6 : 1;
    } else if (c < 0x800) {
      b = 2;
      j = 2;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // NaN past the end: no pair.
      const next = text.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        units = 2;
        b = 4;
        j = 4;
      } else {
        // A lone surrogate: U+FFFD (3 bytes) in UTF-8, `\uXXXX` (6) in JSON.
        b = 3;
        j = 6;
      }
    } else {
      b = 3;
      j = 3;
    }
    if (bytes + b > maxBytes || json + j > maxJsonBytes) break;
    bytes += b;
    json += j;
    i += units;
  }
  return i;
}

/** See the module documentation. One per job; not reusable. */
export class OutputStream {
  private readonly maxBytes: number;
  private readonly flushMs: number;
  private readonly chunkBytes: number;
  private readonly maxJsonBytes: number;
  private readonly decoders: Record<OutputChannel, StringDecoder> = {
    stdout: new StringDecoder('utf8'),
    stderr: new StringDecoder('utf8'),
  };
  /** Text read but not sent yet, as runs of one channel in the order read. */
  private pending: { channel: OutputChannel; text: string }[] = [];
  private pendingBytes = 0;
  /** Bytes taken towards the cap (sent or pending). */
  private taken = 0;
  private nextSeq = 0;
  private timer: NodeJS.Timeout | undefined;
  private state: 'open' | 'capped' | 'closed' = 'open';
  private capped = false;

  constructor(private readonly options: OutputStreamOptions) {
    this.maxBytes = Math.max(0, Math.floor(options.maxBytes));
    this.flushMs = Math.max(0, options.flushMs ?? OUTPUT_FLUSH_MS);
    this.chunkBytes = Math.max(
      MIN_CHUNK_BYTES,
      Math.min(OUTPUT_CHUNK_BYTES, options.chunkBytes ?? OUTPUT_CHUNK_BYTES),
    );
    this.maxJsonBytes = Math.max(MIN_CHUNK_BYTES, options.maxJsonBytes ?? Infinity);
  }

  /** Chunks produced so far (the next `seq`). */
  get chunks(): number {
    return this.nextSeq;
  }

  /** Whether the cap was reached (the last chunk carried `truncated: true`). */
  get truncated(): boolean {
    return this.capped;
  }

  /** Bytes the command wrote on `channel`. Ignored once capped or ended. */
  write(channel: OutputChannel, bytes: Buffer): void {
    if (this.state !== 'open') return;
    const text = this.decoders[channel].write(bytes);
    if (text !== '') this.take(channel, text);
  }

  /**
   * The command ended: what the decoders hold (an incomplete character becomes U+FFFD) and every
   * pending chunk are sent now; nothing more afterwards. Call it before the job's final reply.
   */
  end(): void {
    if (this.state === 'open') {
      for (const channel of ['stdout', 'stderr'] as const) {
        const tail = this.decoders[channel].end();
        if (tail !== '' && this.state === 'open') this.take(channel, tail);
      }
    }
    if (this.state !== 'closed') this.flush();
    this.close();
  }

  /** Stops without sending what is pending (agent shutdown). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
    this.pendingBytes = 0;
    this.state = 'closed';
  }

  private take(channel: OutputChannel, text: string): void {
    const bytes = Buffer.byteLength(text, 'utf8');
    const room = this.maxBytes - this.taken;
    if (bytes > room) {
      // The cap: keep what fits (whole characters), send it marked truncated, stop.
      const kept = text.slice(0, fitPrefix(text, room));
      if (kept !== '') this.append(channel, kept, Buffer.byteLength(kept, 'utf8'));
      this.state = 'capped';
      this.capped = true;
      this.flush(channel);
      return;
    }
    this.append(channel, text, bytes);
    if (this.pendingBytes >= this.chunkBytes) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.flushMs);
      this.timer.unref();
    }
  }

  private append(channel: OutputChannel, text: string, bytes: number): void {
    const last = this.pending[this.pending.length - 1];
    if (last !== undefined && last.channel === channel) last.text += text;
    else this.pending.push({ channel, text });
    this.pendingBytes += bytes;
    this.taken += bytes;
  }

  /** Sends everything pending; with `truncatedOn`, the last chunk is marked truncated. */
  private flush(truncatedOn?: OutputChannel): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const runs = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const chunks: OutputChunk[] = [];
    for (const run of runs) {
      let text = run.text;
      while (text !== '') {
        // fitPrefix takes at least one character: the bounds are far above any character's size.
        const cut = Math.max(1, fitPrefix(text, this.chunkBytes, this.maxJsonBytes));
        chunks.push({ seq: 0, channel: run.channel, data: text.slice(0, cut) });
        text = text.slice(cut);
      }
    }
    if (truncatedOn !== undefined) {
      const last = chunks[chunks.length - 1];
      if (last === undefined) chunks.push({ seq: 0, channel: truncatedOn, data: '', truncated: true });
      else last.truncated = true;
    }
    for (const chunk of chunks) {
      chunk.seq = this.nextSeq++;
      this.options.send(chunk);
    }
  }
}
