/**
 * The broker between the command socket and the node tracker: verifies every inbound message
 * (frames, size, JSON, HMAC with the node's session key, timestamp skew both ways, sequence
 * replay) before anything acts on it, and signs and queues outbound messages. Garbage is
 * counted and dropped; nothing here throws into the socket loop.
 *
 * Replay protection is per node and incarnation, not per connection ({@link NodeReplayTracker}):
 * a client that reconnects (a new ROUTER identity) may start its numbering again, as the Ruby
 * client does, and a restarted client (a new incarnation) is let in, but a captured message
 * replayed on any connection, or a message from an incarnation the node has left, is refused.
 *
 * @module
 */
import {
  checkSkew,
  decodeMessage,
  encodeMessage,
  formatHttpDate,
  hmacVerify,
  isWireError,
  parseBody,
  parseHttpDateMillis,
  sealServerMessage,
  type MessageBody,
  type ServerCommandBody,
} from '@push-jobs/protocol';
import type { SessionKeyManager } from '../keys/session-keys.js';
import type { LiveNodeTracker, NodeRecord } from '../nodes/tracker.js';
import type { CommandTransport, InboundMessage } from '../zmq/types.js';
import { NodeReplayTracker } from './replay-tracker.js';

/** Why inbound messages were dropped, counted. */
export interface BrokerStats {
  accepted: number;
  malformed: number;
  unknownNode: number;
  badSignature: number;
  badTimestamp: number;
  replayed: number;
  sent: number;
  unsendable: number;
}

/** Settings of the broker. */
export interface BrokerOptions {
  transport: CommandTransport;
  tracker: LiveNodeTracker;
  sessionKeys: SessionKeyManager;
  /** Seconds of clock difference accepted, both ways. */
  maxMessageSkewSeconds: number;
  /** Largest JSON body, bytes. */
  maxBodySize: number;
  /** Called for each dropped message (for debug logs). */
  onDrop?: (reason: keyof BrokerStats, detail: string) => void;
  now?: () => number;
}

/** Verifies inbound and signs outbound command-socket traffic. */
export class Broker {
  readonly stats: BrokerStats = {
    accepted: 0,
    malformed: 0,
    unknownNode: 0,
    badSignature: 0,
    badTimestamp: 0,
    replayed: 0,
    sent: 0,
    unsendable: 0,
  };
  private readonly sequences = new NodeReplayTracker();
  private readonly now: () => number;

  constructor(private readonly opts: BrokerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Starts consuming the transport's messages and makes the tracker send through this broker. */
  start(): void {
    this.opts.transport.onMessage((m) => this.receive(m));
    this.opts.tracker.setSender((record, message) => this.send(record, message));
  }

  /** Handles one inbound message (public for tests). */
  receive(message: InboundMessage): void {
    const decoded = decodeMessage([message.header, message.body], { maxBodySize: this.opts.maxBodySize });
    if (isWireError(decoded)) return this.drop('malformed', decoded.message);
    const body = parseBody(decoded.bodyBytes);
    if (isWireError(body)) return this.drop('malformed', body.message);
    const { org, node } = body;
    if (typeof org !== 'string' || typeof node !== 'string') return this.drop('malformed', 'no org or node');
    if (decoded.header.signingMethod !== 'hmac_sha256') return this.drop('badSignature', 'not hmac_sha256');

    const { bodyBytes, header } = decoded;
    const signed = this.opts.sessionKeys.verify(org, node, (k) => hmacVerify(bodyBytes, k, header.signature));
    if (signed === 'unknown') return this.drop('unknownNode', `${org}/${node}`);
    if (signed === 'bad') return this.drop('badSignature', `${org}/${node}`);

    const skew = checkSkew(body.timestamp, this.now(), this.opts.maxMessageSkewSeconds);
    if (skew !== 'ok') return this.drop('badTimestamp', `${org}/${node}: ${skew}`);

    const addressKey = message.peer ?? message.identity.toString('hex');
    const incarnation = typeof body.incarnation_id === 'string' ? body.incarnation_id : '';
    const sequence = typeof body.sequence === 'number' ? body.sequence : Number.NaN;
    const verdict = this.sequences.check(`${org}\u0000${node}`, {
      connection: addressKey,
      incarnation,
      sequence,
      timestampMs: parseHttpDateMillis(body.timestamp),
      signature: header.signature,
    });
    if (verdict !== 'ok') return this.drop('replayed', `${org}/${node}: ${verdict} ${String(body.sequence)}`);

    this.stats.accepted++;
    this.opts.tracker.handle(org, node, message.identity, addressKey, body as MessageBody);
  }

  /**
   * Puts the envelope (the node's next `sequence`, `timestamp`) in front of a message, signs it
   * with the node's session key and queues it on the socket.
   */
  send(record: NodeRecord, message: ServerCommandBody): boolean {
    const key = this.opts.sessionKeys.signingKey(record.org, record.node);
    if (key === undefined) {
      this.stats.unsendable++;
      return false;
    }
    record.sendSequence += 1;
    const body = sealServerMessage(
      { sequence: record.sendSequence, timestamp: formatHttpDate(new Date(this.now())) },
      message,
    );
    const [header, bytes] = encodeMessage(body, { method: 'hmac_sha256', key });
    this.stats.sent++;
    void this.opts.transport.send(record.address, header, bytes).then((ok) => {
      if (!ok) this.stats.unsendable++;
    });
    return true;
  }

  private drop(reason: keyof BrokerStats, detail: string): void {
    this.stats[reason]++;
    this.opts.onDrop?.(reason, detail);
  }
}
