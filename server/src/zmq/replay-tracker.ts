/**
 * Replay protection per node, whatever connection a message arrives on.
 *
 * An agent numbers its messages per connection: `sequence` starts again at 1 whenever it builds
 * new sockets (a reconfigure), with the same `incarnation_id` (one per agent process); a
 * restarted agent has a new incarnation id. Checking sequences per (node, connection) let a
 * captured message be replayed from a fresh connection (without CURVE, anyone can capture and
 * connect), which moved the node's address to the attacker, or, with an older incarnation,
 * ended the node's running job.
 *
 * So each node has one record: its incarnation, the one before, the connection it uses now
 * with the last sequence on it, and the newest `timestamp` accepted from it. A message is
 * accepted when
 *
 * - it comes on the node's current connection in its current incarnation, and its sequence is
 *   greater than the last one there (as before); or
 * - otherwise (a new connection, a new incarnation), its timestamp is newer than every
 *   timestamp accepted from the node, or equal to the newest one and its signature is not one
 *   accepted in that same second. Timestamps have one-second resolution, so a genuine reconnect
 *   or restart within the second is let in, while a replayed message, being byte for byte what
 *   was accepted (changing anything breaks the HMAC), is either older or a known signature;
 * - an incarnation the node has left is never accepted again.
 *
 * The signatures remembered are only those of the newest second of each node (a busy node sends
 * hundreds in a second while jobs race): if more than {@link SIGNATURES_PER_SECOND} arrive in one
 * second, messages from elsewhere wait for the next second.
 * Memory is bounded by `maxNodes` (second-chance eviction, as the protocol's tracker).
 *
 * @module
 */
import { DEFAULT_MAX_SEQUENCE_PEERS, SecondChanceMap, type SecondChance } from '@push-jobs/protocol/internal';

/** `ok`; `replay` (a replayed or stale message); `bad_sequence` (not a non-negative integer). */
export type ReplayVerdict = 'ok' | 'replay' | 'bad_sequence';

/** One message as the tracker sees it (after its signature and skew were verified). */
export interface TrackedMessage {
  /** The connection it came on (the ROUTER identity, hex). */
  connection: string;
  incarnation: string;
  sequence: number;
  /** Its `timestamp`, epoch ms (second resolution). */
  timestampMs: number;
  /** Its HMAC signature, as in the header. */
  signature: string;
}

/**
 * Signatures remembered for the newest second of one node: above the most one connection can get
 * past the command socket's rate limit in a second (a burst of 400, then 200 a second).
 */
export const SIGNATURES_PER_SECOND = 1024;

interface NodeState extends SecondChance {
  incarnation: string;
  previousIncarnation: string | undefined;
  connection: string;
  sequence: number;
  newestMs: number;
  /** Signatures accepted with timestamp `newestMs`. */
  newestSignatures: Set<string>;
  /** More than {@link SIGNATURES_PER_SECOND} were accepted in the newest second. */
  overflowed: boolean;
}

/** See the module documentation. */
export class NodeReplayTracker {
  private readonly nodes: SecondChanceMap<string, NodeState>;

  constructor(maxNodes: number = DEFAULT_MAX_SEQUENCE_PEERS) {
    this.nodes = new SecondChanceMap(maxNodes);
  }

  /** How many nodes are remembered. */
  get size(): number {
    return this.nodes.size;
  }

  /** Checks, and on `ok` records, a message from `node` (any string naming org and node). */
  check(node: string, m: TrackedMessage): ReplayVerdict {
    if (!Number.isSafeInteger(m.sequence) || m.sequence < 0 || !Number.isFinite(m.timestampMs)) {
      return 'bad_sequence';
    }
    const state = this.nodes.get(node);
    if (state === undefined) {
      this.nodes.set(node, {
        incarnation: m.incarnation,
        previousIncarnation: undefined,
        connection: m.connection,
        sequence: m.sequence,
        newestMs: m.timestampMs,
        newestSignatures: new Set([m.signature]),
        overflowed: false,
        referenced: false,
      });
      return 'ok';
    }
    if (m.incarnation === state.incarnation && m.connection === state.connection) {
      if (m.sequence <= state.sequence) return 'replay';
    } else {
      if (m.incarnation !== state.incarnation && m.incarnation === state.previousIncarnation) return 'replay';
      if (m.timestampMs < state.newestMs) return 'replay';
      if (m.timestampMs === state.newestMs && (state.overflowed || state.newestSignatures.has(m.signature))) {
        return 'replay';
      }
      if (m.incarnation !== state.incarnation) {
        state.previousIncarnation = state.incarnation;
        state.incarnation = m.incarnation;
      }
      state.connection = m.connection;
    }
    state.sequence = m.sequence;
    state.referenced = true;
    this.remember(state, m);
    return 'ok';
  }

  /** Forgets `node`. */
  forget(node: string): boolean {
    return this.nodes.delete(node);
  }

  private remember(state: NodeState, m: TrackedMessage): void {
    if (m.timestampMs > state.newestMs) {
      state.newestMs = m.timestampMs;
      state.newestSignatures = new Set([m.signature]);
      state.overflowed = false;
    } else if (m.timestampMs === state.newestMs) {
      if (state.newestSignatures.size < SIGNATURES_PER_SECOND) state.newestSignatures.add(m.signature);
      else state.overflowed = true;
    }
    // An older timestamp on the current connection (its clock stepped back) is accepted by its
    // sequence and changes nothing here: the newest second stays the bar for other connections.
  }
}
