/**
 * The ZeroMQ transport as the rest of the server sees it: raw frames in and out, no JSON, no
 * signatures (the broker verifies those with the protocol package). Implementations own the
 * sockets, the send queue, the CURVE/ZAP set-up and the per-peer limits.
 *
 * @module
 */

/** Counters of the command socket, for `_status`, logs and benchmarks. */
export interface TransportStats {
  received: number;
  sent: number;
  /** Messages with the wrong number of frames, or over the size limits. */
  droppedMalformed: number;
  /** Messages dropped by the per-peer rate limit. */
  droppedRateLimited: number;
  /** Sends that failed (peer gone, timeout, queue full). */
  sendFailures: number;
  /** CURVE handshakes refused by the ZAP handler. */
  zapDenied: number;
}

/** One message from a peer: the ROUTER identity and the two application frames. */
export interface InboundMessage {
  identity: Buffer;
  /** The identity as a hex string, when the transport has made it already (the broker's key). */
  peer?: string;
  header: Buffer;
  body: Buffer;
}

/** The ROUTER command socket. */
export interface CommandTransport {
  /** The endpoint actually bound (with the real port when 0 was asked). */
  readonly endpoint: string;
  /** Sets the one consumer of inbound messages (called synchronously per message; must not throw). */
  onMessage(handler: (message: InboundMessage) => void): void;
  /**
   * Queues `[identity, header, body]`. Never blocks sends to other peers; resolves false when
   * the message could not be delivered to the socket (unknown peer, send timeout, closed).
   */
  send(identity: Buffer, header: Buffer, body: Buffer): Promise<boolean>;
  /**
   * How far behind the receive side is, in ms: 0 when every message that arrived has been
   * handed to the consumer, otherwise the time since that was last true (a backlog).
   */
  receiveLagMs?(): number;
  stats(): TransportStats;
  close(): Promise<void>;
}

/** The PUB socket that broadcasts server heartbeats. */
export interface HeartbeatTransport {
  readonly endpoint: string;
  /**
   * Publishes `[header, body]` without waiting: a peer whose queue is full misses it; false
   * (dropped) only when the socket is closed.
   */
  publish(header: Buffer, body: Buffer): boolean;
  close(): Promise<void>;
}

/**
 * CURVE client keys allowed to connect: a key enters only after its config request's signature
 * verified, bound to that node (a node has at most one admitted key: a new fetch replaces the
 * old one), and expires after a TTL (60 s by default, as the original).
 */
export interface CurveAllowList {
  /** Admits `publicKey` (32 raw bytes) for `org`/`node` until now + ttlMs. */
  allow(publicKey: Buffer, org: string, node: string, ttlMs?: number): void;
  /** The binding of an admitted, unexpired key. */
  lookup(publicKey: Buffer): { org: string; node: string } | undefined;
  /** How many keys are admitted now. */
  size(): number;
}
