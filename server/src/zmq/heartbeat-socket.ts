/**
 * The heartbeat PUB socket, speaking ZMTP 3 (NULL mechanism) itself on a plain TCP server so that
 * what an unauthenticated peer can make the server hold is bounded:
 *
 * - libzmq's PUB keeps every subscription a peer sends in a trie, about 46 bytes per byte sent,
 *   with no limit on their size or number; here a peer may hold a few short subscriptions
 *   (agents subscribe to everything, the empty prefix) and is disconnected when it asks for more;
 * - a peer's input is read frame by frame, at most one bounded frame buffered, at a bounded rate;
 * - connections are capped per remote address and in total (so that the heartbeat port cannot
 *   take the file descriptors the HTTP API and the command socket need), and a peer that has not
 *   finished its handshake in time is dropped;
 * - output to a peer that does not read is dropped once its queue holds `maxQueuedBytes`, as PUB
 *   drops at its high-water mark.
 *
 * Peers are ZeroMQ SUB (or XSUB) sockets of libzmq 4.x (ZMTP 3.0 and 3.1), as the agents and the
 * original client use; they see an ordinary PUB socket.
 *
 * Refused connections, dropped peers and heartbeats dropped for a full queue are counted
 * ({@link ZmqHeartbeatTransport.stats}) and logged at `warn` with the reason and the remote
 * address, at most one line per reason and address a minute (see {@link RateLimitedLog}).
 *
 * @module
 */

import { createServer, type Server, type Socket } from 'node:net';
import { SILENT_LOGGER, errorMessage, type Logger } from '@push-jobs/protocol/internal';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import {
  checkGreeting,
  command,
  FrameReader,
  greeting,
  message,
  readyCommand,
  readyProperties,
  splitCommand,
  type Frame,
} from './zmtp.js';
import type { HeartbeatTransport } from './types.js';

/** Options of {@link ZmqHeartbeatTransport.bind}. */
export interface ZmqHeartbeatTransportOptions {
  /** Where to bind, e.g. `tcp://*:10000`, or `tcp://127.0.0.1:0` for any free port. */
  endpoint: string;
  /** Most connections from one remote address (0: no per-address limit). @default 64 */
  maxConnectionsPerAddress?: number;
  /** Most connections in all. @default 10000 */
  maxConnections?: number;
  /** A peer must finish its ZMTP handshake within this many ms. @default 10000 */
  handshakeTimeoutMs?: number;
  /** Most distinct subscriptions one peer may hold; one more drops the peer. @default 8 */
  maxSubscriptions?: number;
  /** Longest subscription prefix, bytes; a longer one drops the peer. @default 255 */
  maxSubscriptionBytes?: number;
  /** Largest frame accepted from a peer (its READY command included), bytes. @default 1024 */
  maxFrameBytes?: number;
  /** Bytes queued to a peer beyond which heartbeats to it are dropped. @default 65536 */
  maxQueuedBytes?: number;
  /** Frames a peer may send at once, and per second afterwards; beyond, it is dropped. @default { burst: 64, perSecond: 16 } */
  inboundRate?: { burst: number; perSecond: number };
  /** Refusals, drops and server errors are logged here. @default silent */
  log?: Logger;
}

/** Counters of the heartbeat socket. */
export interface HeartbeatSocketStats {
  /** Connections open now. */
  connections: number;
  /** Connections refused at once because their address or the whole socket was at its cap. */
  refused: number;
  /** Connections dropped for breaking the protocol or the limits (subscriptions, size, rate, handshake time). */
  kicked: number;
  /** Messages published. */
  published: number;
  /** Copies of messages not queued to a peer because its queue was full. */
  dropped: number;
}

interface Peer {
  socket: Socket;
  address: string;
  reader: FrameReader;
  ready: boolean;
  /** Subscribed prefixes (latin1 strings), each with its count. */
  subscriptions: Map<string, number>;
  /** Whether the next frame continues a multi-frame message from the peer. */
  inMessage: boolean;
  tokens: number;
  refilledAt: number;
  timer: NodeJS.Timeout | undefined;
}

const DEFAULTS = {
  maxConnectionsPerAddress: 64,
  maxConnections: 10_000,
  handshakeTimeoutMs: 10_000,
  maxSubscriptions: 8,
  maxSubscriptionBytes: 255,
  maxFrameBytes: 1024,
  maxQueuedBytes: 65_536,
  inboundRate: { burst: 64, perSecond: 16 },
};

/** Socket types that may subscribe to a PUB. */
const PEER_TYPES = new Set(['SUB', 'XSUB']);

/** `tcp://host:port` → listen arguments; `*` is every IPv4 address, as libzmq reads it. */
function parseEndpoint(endpoint: string): { host: string; port: number } {
  const m = /^tcp:\/\/(.+):(\d+|\*)$/.exec(endpoint);
  if (m === null) throw new Error(`heartbeat endpoint must be tcp://host:port, got ${endpoint}`);
  const rawHost = m[1] ?? '*';
  const host = rawHost === '*' ? '0.0.0.0' : rawHost.replace(/^\[(.*)\]$/, '$1');
  return { host, port: m[2] === '*' ? 0 : Number(m[2]) };
}

/** {@link HeartbeatTransport}: a PUB socket on a Node.js TCP server; see the module documentation. */
export class ZmqHeartbeatTransport implements HeartbeatTransport {
  /** The endpoint actually bound (with the real port when 0 was asked). */
  readonly endpoint: string;
  private readonly server: Server;
  private readonly peers = new Set<Peer>();
  private readonly perAddress = new Map<string, number>();
  private readonly opts: Required<Omit<ZmqHeartbeatTransportOptions, 'endpoint' | 'log'>>;
  private readonly log: RateLimitedLog;
  private closed = false;
  private readonly counters = { refused: 0, kicked: 0, published: 0, dropped: 0 };

  private constructor(
    server: Server,
    endpoint: string,
    opts: Required<Omit<ZmqHeartbeatTransportOptions, 'endpoint' | 'log'>>,
    log: Logger,
  ) {
    this.server = server;
    this.endpoint = endpoint;
    this.opts = opts;
    this.log = new RateLimitedLog(log);
    server.on('connection', (socket) => this.accept(socket));
    // Accept errors (EMFILE...) must not kill the server; the caps keep them rare.
    server.on('error', (error) => {
      const err = errorMessage(error);
      this.log.write('error', `error\u0000${err}`, { err }, 'heartbeat socket error');
    });
  }

  /** Binds the TCP server. */
  static async bind(options: ZmqHeartbeatTransportOptions): Promise<ZmqHeartbeatTransport> {
    const { host, port } = parseEndpoint(options.endpoint);
    const opts = {
      maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? DEFAULTS.maxConnectionsPerAddress,
      maxConnections: options.maxConnections ?? DEFAULTS.maxConnections,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs,
      maxSubscriptions: options.maxSubscriptions ?? DEFAULTS.maxSubscriptions,
      maxSubscriptionBytes: options.maxSubscriptionBytes ?? DEFAULTS.maxSubscriptionBytes,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULTS.maxFrameBytes,
      maxQueuedBytes: options.maxQueuedBytes ?? DEFAULTS.maxQueuedBytes,
      inboundRate: options.inboundRate ?? DEFAULTS.inboundRate,
    };
    const server = createServer({ noDelay: true, pauseOnConnect: false });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address();
    const actualPort = typeof bound === 'object' && bound !== null ? bound.port : port;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    return new ZmqHeartbeatTransport(
      server,
      `tcp://${shownHost}:${actualPort}`,
      opts,
      options.log ?? SILENT_LOGGER,
    );
  }

  /** Messages handed to the socket. */
  get published(): number {
    return this.counters.published;
  }

  /** Copies not queued because a peer's queue was full, plus publishes after close. */
  get dropped(): number {
    return this.counters.dropped;
  }

  /** A snapshot of the counters. */
  stats(): HeartbeatSocketStats {
    return { connections: this.peers.size, ...this.counters };
  }

  /**
   * Queues `[header, body]` to every peer subscribed to a prefix of `header` whose queue has
   * room; false (dropped) only when the socket is closed.
   */
  publish(header: Buffer, body: Buffer): boolean {
    if (this.closed) {
      this.counters.dropped++;
      return false;
    }
    this.counters.published++;
    let bytes: Buffer | undefined;
    for (const peer of this.peers) {
      if (!peer.ready || !matches(peer.subscriptions, header)) continue;
      if (peer.socket.writableLength > this.opts.maxQueuedBytes) {
        this.counters.dropped++;
        this.report(peer.address, 'queue full', 'heartbeat dropped');
        continue;
      }
      bytes ??= message([header, body]);
      peer.socket.write(bytes);
    }
    return true;
  }

  /** Stops listening and drops every peer (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const peer of [...this.peers]) peer.socket.destroy();
    await closing;
  }

  private accept(socket: Socket): void {
    const address = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const fromAddress = this.perAddress.get(address) ?? 0;
    const perAddressCap = this.opts.maxConnectionsPerAddress;
    const refusal = this.closed
      ? 'closed'
      : address === ''
        ? 'no remote address'
        : this.peers.size >= this.opts.maxConnections
          ? 'connection cap'
          : perAddressCap > 0 && fromAddress >= perAddressCap
            ? 'per-address connection cap'
            : undefined;
    if (refusal !== undefined) {
      this.counters.refused++;
      this.report(address, refusal, 'connection refused');
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    const peer: Peer = {
      socket,
      address,
      reader: new FrameReader(this.opts.maxFrameBytes),
      ready: false,
      subscriptions: new Map(),
      inMessage: false,
      tokens: this.opts.inboundRate.burst,
      refilledAt: performance.now(),
      timer: undefined,
    };
    this.peers.add(peer);
    this.perAddress.set(address, fromAddress + 1);
    peer.timer = setTimeout(() => this.kick(peer, 'handshake timeout'), this.opts.handshakeTimeoutMs);
    peer.timer.unref();
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => this.forget(peer));
    socket.on('data', (chunk: Buffer) => this.receive(peer, chunk));
    socket.write(greeting());
  }

  private forget(peer: Peer): void {
    if (!this.peers.delete(peer)) return;
    clearTimeout(peer.timer);
    const left = (this.perAddress.get(peer.address) ?? 1) - 1;
    if (left <= 0) this.perAddress.delete(peer.address);
    else this.perAddress.set(peer.address, left);
  }

  private kick(peer: Peer, reason: string): void {
    if (!this.peers.has(peer) || peer.socket.destroyed) return;
    this.counters.kicked++;
    this.report(peer.address, reason, 'peer dropped');
    peer.socket.destroy();
    this.forget(peer);
  }

  private receive(peer: Peer, chunk: Buffer): void {
    const read = peer.reader.push(chunk);
    if (typeof read === 'string') return this.kick(peer, read);
    if (read.greeting !== undefined) {
      const bad = checkGreeting(read.greeting);
      if (bad !== undefined) return this.kick(peer, bad);
      peer.socket.write(readyCommand('PUB'));
    }
    for (const f of read.frames) {
      if (!this.takeToken(peer)) return this.kick(peer, 'over the inbound rate');
      if (!this.handle(peer, f)) return this.kick(peer, 'protocol or limit violation');
    }
  }

  /** Logs a refusal or drop, see the module documentation. */
  private report(address: string, reason: string, message: string): void {
    this.log.write('warn', `${reason}\u0000${address}`, { address, reason }, message);
  }

  private takeToken(peer: Peer): boolean {
    const now = performance.now();
    const { burst, perSecond } = this.opts.inboundRate;
    peer.tokens = Math.min(burst, peer.tokens + ((now - peer.refilledAt) * perSecond) / 1000);
    peer.refilledAt = now;
    if (peer.tokens < 1) return false;
    peer.tokens -= 1;
    return true;
  }

  /** Acts on one frame; false when the peer must be dropped. */
  private handle(peer: Peer, f: Frame): boolean {
    if (!peer.ready) {
      // The first frame after the greeting must be the peer's READY, naming a subscriber type.
      if (!f.command) return false;
      const cmd = splitCommand(f.body);
      if (cmd?.name !== 'READY') return false;
      const type = readyProperties(cmd.data)?.get('socket-type')?.toString('latin1');
      if (type === undefined || !PEER_TYPES.has(type)) return false;
      peer.ready = true;
      clearTimeout(peer.timer);
      peer.timer = undefined;
      return true;
    }
    if (f.command) {
      const cmd = splitCommand(f.body);
      if (cmd === undefined) return false;
      switch (cmd.name) {
        case 'SUBSCRIBE':
          return this.subscribe(peer, cmd.data);
        case 'CANCEL':
          this.cancel(peer, cmd.data);
          return true;
        case 'PING':
          // PING: a 2-byte TTL, then up to 16 bytes of context echoed in the PONG.
          if (cmd.data.length < 2 || cmd.data.length > 18) return false;
          peer.socket.write(command('PONG', cmd.data.subarray(2)));
          return true;
        case 'PONG':
          return true;
        default:
          return false;
      }
    }
    // A message frame: subscriptions of ZMTP 3.0 peers are messages starting with 1 (subscribe)
    // or 0 (cancel); anything else, and every later frame of a multi-frame message, is ignored.
    const first = !peer.inMessage;
    peer.inMessage = f.more;
    if (!first || f.body.length === 0) return true;
    if (f.body[0] === 1) return this.subscribe(peer, f.body.subarray(1));
    if (f.body[0] === 0) this.cancel(peer, f.body.subarray(1));
    return true;
  }

  private subscribe(peer: Peer, topic: Buffer): boolean {
    if (topic.length > this.opts.maxSubscriptionBytes) return false;
    const key = topic.toString('latin1');
    const count = peer.subscriptions.get(key);
    if (count === undefined && peer.subscriptions.size >= this.opts.maxSubscriptions) return false;
    // Counted like libzmq's SUB side does: a prefix stays until cancelled as often as subscribed.
    peer.subscriptions.set(key, Math.min((count ?? 0) + 1, 1_000_000));
    return true;
  }

  private cancel(peer: Peer, topic: Buffer): void {
    const key = topic.toString('latin1');
    const count = peer.subscriptions.get(key);
    if (count === undefined) return;
    if (count <= 1) peer.subscriptions.delete(key);
    else peer.subscriptions.set(key, count - 1);
  }
}

function matches(subscriptions: Map<string, number>, header: Buffer): boolean {
  if (subscriptions.has('')) return true;
  for (const prefix of subscriptions.keys()) {
    if (prefix.length <= header.length && header.toString('latin1', 0, prefix.length) === prefix) return true;
  }
  return false;
}
