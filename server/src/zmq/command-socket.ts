/**
 * The ROUTER command socket: `[identity, header, body]` in and out. Inbound messages are checked
 * for shape and size, rate-limited per peer and handed to one handler; outbound messages go
 * through a single FIFO drained by one loop, because zeromq.js allows one `send()` in flight per
 * socket.
 *
 * Logging: messages dropped for their shape or size or by the rate limit are logged at `warn`,
 * at most one line per reason and peer a minute (see {@link RateLimitedLog}); handler
 * exceptions and unexpected socket errors at `error`, rate-limited the same way.
 *
 * @module
 */

import {
  DEFAULT_MAX_BODY_BYTES,
  MAX_HEADER_BYTES,
  SILENT_LOGGER,
  errorMessage,
  type Logger,
} from '@push-jobs/protocol/internal';
import { Router } from 'zeromq';
import type { Context } from 'zeromq';
import { getZmqContext } from './context.js';
import { normalizeEndpoint } from './endpoint.js';
import { Fifo } from './fifo.js';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import { DEFAULT_RATE_LIMIT, PeerRateLimiter } from './rate-limiter.js';
import type { RateLimitOptions } from './rate-limiter.js';
import type { CommandTransport, InboundMessage, TransportStats } from './types.js';
import type { ZapHandler } from './zap-handler.js';

/** Default ZAP domain of the command socket. */
export const COMMAND_ZAP_DOMAIN = 'pushy';

/** Options of {@link ZmqCommandTransport.bind}. */
export interface ZmqCommandTransportOptions {
  /** Where to bind, e.g. `tcp://*:10002`, or `tcp://127.0.0.1:0` for any free port. */
  endpoint: string;
  /** The server's CURVE key pair (Z85); null or absent for no encryption. */
  curve?: { publicKey: string; secretKey: string } | null;
  /**
   * The ZAP handler guarding the socket (the socket is created in its context). With CURVE it
   * checks client keys; without, it admits NULL connections only if built with `allowNull`.
   */
  zap?: ZapHandler;
  /** Context when there is no ZAP handler. @default getZmqContext() */
  context?: Context;
  /** ZAP domain of the socket (also the key of its `zapDenied` count). @default 'pushy' */
  zapDomain?: string;
  /** Largest accepted header frame. @default 2048 */
  maxHeaderBytes?: number;
  /** Largest accepted body frame. @default 65536 */
  maxBodyBytes?: number;
  /**
   * ZMQ_MAXMSGSIZE: a peer sending a bigger frame is disconnected by libzmq (not counted). Frames
   * between the limits above and this one are received and dropped as malformed.
   * @default 2 × max(maxHeaderBytes, maxBodyBytes)
   */
  maxFrameBytes?: number;
  /**
   * How long a send to a peer at its high-water mark may wait before failing (sends to unknown
   * peers fail at once). After such a timeout the peer counts as stalled for `stallMs`: its sends
   * are then tried without waiting, so one stuck peer cannot hold the queue up for everyone else.
   * @default 1000
   */
  sendTimeoutMs?: number;
  /** How long a peer whose send timed out gets only non-waiting sends. @default 10000 */
  stallMs?: number;
  /** ZMQ_SNDHWM per peer. @default 1000 */
  sendHighWaterMark?: number;
  /**
   * ZMQ_RCVHWM per peer: messages libzmq reads ahead of the server for one peer. When the server
   * falls behind, each connection holds at most this many, so memory stays bounded (libzmq's
   * default of 1000 let 10,000 peers buffer gigabytes), and the rest waits in TCP and on the
   * peers: backpressure, nothing dropped here. A node sends a heartbeat a second and a few
   * messages per job. @default 100
   */
  receiveHighWaterMark?: number;
  /** Per-peer inbound limit. @default { messagesPerSecond: 200, burst: 400 } */
  rateLimit?: Partial<RateLimitOptions>;
  /** How many peers the rate limiter tracks at most. @default 100000 */
  maxPeers?: number;
  /** Longest send queue; sends beyond it resolve false. @default 100000 */
  maxQueue?: number;
  /**
   * How long the receive loop sleeps once it has found the socket empty, ms, before it reads
   * again. Reads never wait on the socket: each batch is read without waiting until libzmq answers
   * EAGAIN. This bounds the added latency of a message to this much, and saves, per message, the
   * readiness check (a getsockopt(ZMQ_EVENTS) and a poll(2)) zeromq.js makes before every waiting
   * receive, and, per wake-up, re-arming the socket's file descriptor. @default 2
   */
  receiveIdleMs?: number;
  /** Drops, handler exceptions and unexpected socket errors are logged here. @default silent */
  log?: Logger;
}

interface QueuedSend {
  frames: [Buffer, Buffer, Buffer];
  resolve: (ok: boolean) => void;
  settled: boolean;
}

const DEFAULT_SEND_TIMEOUT_MS = 1000;

/** See {@link ZmqCommandTransportOptions.receiveHighWaterMark}. */
export const DEFAULT_RECEIVE_HWM = 100;

/** Sends in a row before the drain loop yields to the event loop. */
const SENDS_PER_TURN = 512;

/** Messages read in a row before the receive loop yields to the event loop. */
const RECEIVES_PER_TURN = 256;

/** See {@link ZmqCommandTransportOptions.receiveIdleMs}. */
export const DEFAULT_RECEIVE_IDLE_MS = 2;

/**
 * Backlogs shorter than this are reported as no lag (see {@link ZmqCommandTransport.receiveLagMs}):
 * with the receive loop reading in batches, every batch starts up to `receiveIdleMs` late, and
 * the liveness clock must not be stopped for that.
 */
const MIN_REPORTED_LAG_MS = 50;

/** {@link CommandTransport} on a zeromq.js ROUTER. */
export class ZmqCommandTransport implements CommandTransport {
  /** The endpoint actually bound (with the real port when 0 was asked). */
  readonly endpoint: string;
  private readonly socket: Router;
  private readonly zap: ZapHandler | undefined;
  private readonly zapDomain: string;
  private readonly maxHeaderBytes: number;
  private readonly maxBodyBytes: number;
  private readonly maxQueue: number;
  private readonly limiter: PeerRateLimiter;
  private readonly sendTimeoutMs: number;
  private readonly maxPeers: number;
  private readonly stallMs: number;
  /** Peers whose send timed out (binary-string identity → when), oldest first. */
  private readonly stalled = new Map<string, number>();
  private readonly log: RateLimitedLog;
  private handler: ((message: InboundMessage) => void) | undefined;
  private readonly queue = new Fifo<QueuedSend>();
  private inFlight: QueuedSend | undefined;
  private draining = false;
  private closed = false;
  /** When the receive loop last found no message waiting (Date.now() ms). */
  private caughtUpAt = Date.now();
  /** Whether the receive loop is reading a batch (it has not found the socket empty since). */
  private behind = false;
  private readonly receiveIdleMs: number;
  private readonly receiving: Promise<void>;
  private readonly counters = {
    received: 0,
    sent: 0,
    droppedMalformed: 0,
    droppedRateLimited: 0,
    sendFailures: 0,
  };

  private constructor(
    socket: Router,
    endpoint: string,
    options: ZmqCommandTransportOptions,
    zapDomain: string,
  ) {
    this.socket = socket;
    this.endpoint = endpoint;
    this.zap = options.zap;
    this.zapDomain = zapDomain;
    this.maxHeaderBytes = options.maxHeaderBytes ?? MAX_HEADER_BYTES;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.maxQueue = options.maxQueue ?? 100_000;
    this.maxPeers = options.maxPeers ?? 100_000;
    this.limiter = new PeerRateLimiter({ ...DEFAULT_RATE_LIMIT, ...options.rateLimit }, this.maxPeers);
    this.sendTimeoutMs = options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
    this.stallMs = options.stallMs ?? 10_000;
    this.log = new RateLimitedLog(options.log ?? SILENT_LOGGER);
    this.receiveIdleMs = Math.max(1, options.receiveIdleMs ?? DEFAULT_RECEIVE_IDLE_MS);
    this.receiving = this.receiveLoop();
  }

  /** Creates the ROUTER, binds it and starts receiving. */
  static async bind(options: ZmqCommandTransportOptions): Promise<ZmqCommandTransport> {
    const { zap, curve } = options;
    if (zap !== undefined && options.context !== undefined && options.context !== zap.context) {
      throw new Error('the command socket must live in its ZAP handler’s context');
    }
    const maxHeaderBytes = options.maxHeaderBytes ?? MAX_HEADER_BYTES;
    const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const zapDomain = options.zapDomain ?? COMMAND_ZAP_DOMAIN;
    const socket = new Router({
      context: zap?.context ?? options.context ?? getZmqContext(),
      linger: 0,
      mandatory: true,
      sendTimeout: 0,
      // Receives never wait (see receiveIdleMs): an empty socket answers EAGAIN at once.
      receiveTimeout: 0,
      sendHighWaterMark: options.sendHighWaterMark ?? 1000,
      receiveHighWaterMark: options.receiveHighWaterMark ?? DEFAULT_RECEIVE_HWM,
      maxMessageSize: options.maxFrameBytes ?? 2 * Math.max(maxHeaderBytes, maxBodyBytes),
    });
    try {
      if (curve != null) {
        socket.curveServer = true;
        socket.curveSecretKey = curve.secretKey;
      }
      if (zap !== undefined) {
        // NULL connections are only sent to ZAP when a domain is set; with enforcement, a missing
        // handler refuses connections instead of letting them in.
        socket.zapDomain = zapDomain;
        socket.zapEnforceDomain = true;
      } else if (curve != null) {
        socket.zapDomain = zapDomain;
      }
      await socket.bind(normalizeEndpoint(options.endpoint));
    } catch (error) {
      socket.close();
      throw error;
    }
    return new ZmqCommandTransport(socket, socket.lastEndpoint ?? options.endpoint, options, zapDomain);
  }

  /** Sets the one consumer of inbound messages. */
  onMessage(handler: (message: InboundMessage) => void): void {
    this.handler = handler;
  }

  /** Queues `[identity, header, body]`; resolves false when it could not be handed to the socket. */
  send(identity: Buffer, header: Buffer, body: Buffer): Promise<boolean> {
    if (this.closed || this.queue.length >= this.maxQueue) {
      this.counters.sendFailures++;
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve) => {
      this.queue.push({ frames: [identity, header, body], resolve, settled: false });
      if (!this.draining) void this.drain();
    });
  }

  /** A snapshot of the counters. */
  stats(): TransportStats {
    return { ...this.counters, zapDenied: this.zap?.deniedFor(this.zapDomain) ?? 0 };
  }

  /**
   * 0 when the receive loop has caught up, otherwise the ms since it last found the socket empty:
   * how long the server has been reading a backlog (see the node tracker's liveness clock).
   * Backlogs under 50 ms count as 0 (batches start up to `receiveIdleMs` late by design).
   */
  receiveLagMs(): number {
    if (this.closed || !this.behind) return 0;
    const lag = Date.now() - this.caughtUpAt;
    return lag < MIN_REPORTED_LAG_MS ? 0 : lag;
  }

  /** The ROUTER's per-peer high-water marks, as libzmq reports them. */
  highWaterMarks(): { send: number; receive: number } {
    return { send: this.socket.sendHighWaterMark, receive: this.socket.receiveHighWaterMark };
  }

  /** Number of sends waiting in the queue (not counting the one in flight). */
  get queued(): number {
    return this.queue.length;
  }

  /** Stops both loops and closes the socket; queued and in-flight sends resolve false. */
  async close(): Promise<void> {
    if (this.closed) return this.receiving;
    this.closed = true;
    for (const item of this.queue.drain()) this.settle(item, false);
    this.socket.close();
    if (this.inFlight !== undefined) this.settle(this.inFlight, false);
    await this.receiving;
  }

  private settle(item: QueuedSend, ok: boolean): void {
    if (item.settled) return;
    item.settled = true;
    if (ok) this.counters.sent++;
    else this.counters.sendFailures++;
    item.resolve(ok);
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      let turn = 0;
      while (!this.closed) {
        const item = this.queue.shift();
        if (item === undefined) break;
        this.inFlight = item;
        const ok = await this.sendOne(item.frames);
        this.inFlight = undefined;
        this.settle(item, ok && !this.closed);
        if (++turn % SENDS_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * One send on the socket; false when it rejected. The socket's own send timeout is 0, so a send
   * never waits unless this method asks: `mandatory` makes an unknown peer reject at once with
   * EHOSTUNREACH, and a peer at its high-water mark with EAGAIN. Only then, and only when the peer
   * has not timed out in the last `stallMs`, the send is retried waiting up to `sendTimeoutMs`.
   * (zeromq.js always sends with ZMQ_DONTWAIT and waits only while the whole socket is not
   * writable; a mandatory ROUTER is writable when any peer has room, so with other healthy peers
   * the retry fails at once too, and the wait happens only when no peer can take a message.)
   */
  private async sendOne(frames: [Buffer, Buffer, Buffer]): Promise<boolean> {
    try {
      await this.socket.send(frames);
      return true;
    } catch (error) {
      if (errorCode(error) !== 'EAGAIN' || this.closed) {
        this.stalled.delete(frames[0].toString('latin1'));
        return false;
      }
    }
    const peer = frames[0].toString('latin1');
    if (this.isStalled(peer)) return false;
    this.socket.sendTimeout = this.sendTimeoutMs;
    try {
      await this.socket.send(frames);
      return true;
    } catch (error) {
      if (errorCode(error) === 'EAGAIN') this.markStalled(peer);
      return false;
    } finally {
      if (!this.socket.closed) this.socket.sendTimeout = 0;
    }
  }

  private isStalled(peer: string): boolean {
    const since = this.stalled.get(peer);
    if (since === undefined) return false;
    if (performance.now() - since < this.stallMs) return true;
    this.stalled.delete(peer);
    return false;
  }

  private markStalled(peer: string): void {
    this.stalled.delete(peer);
    if (this.stalled.size >= this.maxPeers) {
      const oldest = this.stalled.keys().next();
      if (oldest.done !== true) this.stalled.delete(oldest.value);
    }
    this.stalled.set(peer, performance.now());
  }

  /**
   * Reads in batches: every receive is made without waiting (the socket's receive timeout is 0)
   * until libzmq answers EAGAIN; then the loop sleeps `receiveIdleMs` and reads the next batch.
   * It yields to the event loop every {@link RECEIVES_PER_TURN} messages, so timers, HTTP and the
   * send queue keep running while a backlog is read.
   */
  private async receiveLoop(): Promise<void> {
    let turn = 0;
    while (!this.closed && !this.socket.closed) {
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch (error) {
        if (this.closed || this.socket.closed) return;
        if (errorCode(error) === 'EAGAIN') {
          this.behind = false;
          this.caughtUpAt = Date.now();
          turn = 0;
        } else {
          this.failed('socket', error);
        }
        await new Promise<void>((resolve) => setTimeout(resolve, this.receiveIdleMs));
        continue;
      }
      this.behind = true;
      this.accept(frames);
      if (++turn % RECEIVES_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private accept(frames: Buffer[]): void {
    if (frames.length !== 3) {
      this.counters.droppedMalformed++;
      const peer = frames[0]?.toString('hex') ?? '';
      return this.dropped('malformed', peer, `${frames.length} frames`);
    }
    const [identity, header, body] = frames as [Buffer, Buffer, Buffer];
    if (header.length > this.maxHeaderBytes || body.length > this.maxBodyBytes) {
      this.counters.droppedMalformed++;
      return this.dropped(
        'malformed',
        identity.toString('hex'),
        `frames of ${header.length} and ${body.length} bytes`,
      );
    }
    const peer = identity.toString('hex');
    if (!this.limiter.take(peer)) {
      this.counters.droppedRateLimited++;
      return this.dropped('rate limited', peer, 'over the per-peer rate');
    }
    this.counters.received++;
    try {
      this.handler?.({ identity, peer, header, body });
    } catch (error) {
      this.failed('handler', error);
    }
  }

  private dropped(reason: string, peer: string, detail: string): void {
    this.log.write('warn', `${reason}\u0000${peer}`, { reason, peer, detail }, 'message dropped');
  }

  private failed(where: 'socket' | 'handler', error: unknown): void {
    const err = errorMessage(error);
    this.log.write('error', `${where}\u0000${err}`, { where, err }, 'command socket error');
  }
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}
