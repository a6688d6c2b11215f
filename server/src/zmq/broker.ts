/**
 * The broker between the command socket and the node tracker: verifies every inbound message
 * (frames, size, JSON, HMAC with the node's session key, timestamp skew both ways, sequence
 * replay) before anything acts on it, and signs and queues outbound messages. Garbage is
 * counted and dropped; nothing here throws into the socket loop.
 *
 * Wiring: the broker signs for the node tracker ({@link Broker.send} is the tracker's sender,
 * given to its constructor) and, once {@link Broker.start}ed, delivers verified messages to the
 * tracker it is given there. Every drop is counted in {@link Broker.stats} and logged at `warn`,
 * rate-limited per reason and node (or connection, when the message names no node).
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
  SILENT_LOGGER,
  decodeMessage,
  encodeMessage,
  formatHttpDate,
  hmacVerify,
  isWireError,
  parseBody,
  parseHttpDateMillis,
  type Logger,
  sealServerMessage,
  type MessageBody,
  type ServerCommandBody,
} from '@push-jobs/protocol/internal';
import type { SessionKeyManager } from '../keys/session-keys.js';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import type { LiveNodeTracker, NodeRecord } from '../nodes/tracker.js';
import type { CommandTransport, InboundMessage } from './types.js';
import { NodeReplayTracker } from './replay-tracker.js';
import type { OutputBudget } from './output-budget.js';

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

/** Who gets the verified messages: the node tracker (`output` goes to its `handleOutput`). */
export type VerifiedMessageSink = Pick<LiveNodeTracker, 'handle'> &
  Partial<Pick<LiveNodeTracker, 'handleOutput'>>;

/** Settings of the broker. */
export interface BrokerOptions {
  transport: CommandTransport;
  sessionKeys: SessionKeyManager;
  /** Seconds of clock difference accepted, both ways. */
  maxMessageSkewSeconds: number;
  /** Largest JSON body, bytes. */
  maxBodySize: number;
  /** Where drops are logged (rate-limited). @default silent */
  log?: Logger;
  now?: () => number;
  /**
   * Shedding of live output (see output-budget.ts): `output` messages past it are dropped and
   * counted. Without it, every verified `output` message is delivered. @default none
   */
  outputBudget?: OutputBudget;
}

/** Longest org or node name a drop's log line quotes (an unverified message names them). */
const MAX_LOGGED_NAME = 256;

function clip(name: string): string {
  return name.length > MAX_LOGGED_NAME ? `${name.slice(0, MAX_LOGGED_NAME)}…` : name;
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
  private readonly drops: RateLimitedLog;
  /** Sends that failed (a node gone, a full queue): debug lines, with their own budget. */
  private readonly unsent: RateLimitedLog;
  private receiver: VerifiedMessageSink | undefined;

  constructor(private readonly opts: BrokerOptions) {
    this.now = opts.now ?? Date.now;
    this.drops = new RateLimitedLog(opts.log ?? SILENT_LOGGER);
    this.unsent = new RateLimitedLog(opts.log ?? SILENT_LOGGER);
  }

  /** Starts consuming the transport's messages: verified ones go to `receiver` (the tracker). */
  start(receiver: VerifiedMessageSink): void {
    this.receiver = receiver;
    this.opts.transport.onMessage((m) => this.receive(m));
  }

  /** Handles one inbound message (public for tests). */
  receive(message: InboundMessage): void {
    const peer = message.peer ?? message.identity.toString('hex');
    const decoded = decodeMessage([message.header, message.body], { maxBodySize: this.opts.maxBodySize });
    if (isWireError(decoded)) return this.drop('malformed', { peer }, decoded.message);
    const body = parseBody(decoded.bodyBytes);
    if (isWireError(body)) return this.drop('malformed', { peer }, body.message);
    const { org, node } = body;
    if (typeof org !== 'string' || typeof node !== 'string') {
      return this.drop('malformed', { peer }, 'no org or node');
    }
    // Live output is shed first: before its signature is even checked when output backs up.
    const output = body.type === 'output';
    if (output && this.opts.outputBudget?.saturated() === true) return this.shedOutput('backlog', org, node);
    const who = { peer, org: clip(org), node: clip(node) };
    if (decoded.header.signingMethod !== 'hmac_sha256')
      return this.drop('badSignature', who, 'not hmac_sha256');

    const { bodyBytes, header } = decoded;
    const signed = this.opts.sessionKeys.verify(org, node, (k) => hmacVerify(bodyBytes, k, header.signature));
    if (signed === 'unknown') return this.drop('unknownNode', who, 'no session key');
    if (signed === 'bad') return this.drop('badSignature', who, 'signature does not verify');

    const skew = checkSkew(body.timestamp, this.now(), this.opts.maxMessageSkewSeconds);
    if (skew !== 'ok') return this.drop('badTimestamp', who, skew);

    const addressKey = peer;
    const incarnation = typeof body.incarnation_id === 'string' ? body.incarnation_id : '';
    const sequence = typeof body.sequence === 'number' ? body.sequence : Number.NaN;
    const verdict = this.sequences.check(`${org}\u0000${node}`, {
      connection: addressKey,
      incarnation,
      sequence,
      timestampMs: parseHttpDateMillis(body.timestamp),
      signature: header.signature,
    });
    if (verdict !== 'ok') return this.drop('replayed', who, `${verdict} ${String(body.sequence)}`);

    if (output) {
      const budget = this.opts.outputBudget;
      if (budget !== undefined && !budget.take(org, node, decoded.bodyBytes.length)) {
        return this.shedOutput('budget', org, node);
      }
      this.stats.accepted++;
      // Never through handle(): an output message must not create a record or move an address.
      return this.receiver?.handleOutput?.(org, node, body as MessageBody);
    }
    this.stats.accepted++;
    this.receiver?.handle(org, node, message.identity, addressKey, body as MessageBody);
  }

  /** An `output` message shed (counted in the budget's stats): one line a minute per cause. */
  private shedOutput(why: 'backlog' | 'budget', org: string, node: string): void {
    const key = why === 'backlog' ? 'output\u0000backlog' : `output\u0000${clip(org)}/${clip(node)}`;
    this.drops.write(
      'warn',
      key,
      why === 'backlog'
        ? { reason: 'output shed', why }
        : { reason: 'output shed', why, org: clip(org), node: clip(node) },
      'message dropped',
    );
  }

  /**
   * Puts the envelope (the node's next `sequence`, `timestamp`) in front of a message, signs it
   * with the node's session key and queues it on the socket.
   */
  send(record: NodeRecord, message: ServerCommandBody): boolean {
    const key = this.opts.sessionKeys.signingKey(record.org, record.node);
    if (key === undefined) {
      this.unsendable(record, message.type, 'no session key');
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
      if (!ok) this.unsendable(record, message.type, 'the socket did not take it');
    });
    return true;
  }

  private unsendable(record: NodeRecord, type: ServerCommandBody['type'], why: string): void {
    this.stats.unsendable++;
    const { org, node } = record;
    this.unsent.write(
      'debug',
      `unsendable\u0000${org}/${node}`,
      { org, node, type, why },
      'message not sent',
    );
  }

  /**
   * Counts and logs a dropped message: one line per reason and node (or connection) per minute
   * at most, see {@link RateLimitedLog}. `detail` is what the check said, never key material.
   */
  private drop(
    reason: keyof BrokerStats,
    who: { peer: string; org?: string; node?: string },
    detail: string,
  ): void {
    this.stats[reason]++;
    const subject = who.node === undefined ? `peer ${who.peer}` : `${who.org ?? ''}/${who.node}`;
    this.drops.write('warn', `${reason}\u0000${subject}`, { reason, ...who, detail }, 'message dropped');
  }
}
