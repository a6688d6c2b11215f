/**
 * Replay protection: a message's `sequence` must go forward within its sender's incarnation
 * (design.md, "where we deliberately differ"; the original never checked it).
 *
 * @module
 */

import { InvalidArgumentError } from '../errors.js';
import { DEFAULT_MAX_SEQUENCE_PEERS } from './limits.js';
import { SecondChanceMap, type SecondChance } from './second-chance-map.js';

/**
 * The outcome of {@link SequenceTracker.check}: `'ok'` (recorded), `'replay'` (not after the last
 * one seen in this incarnation, or from an incarnation the peer has already left), or
 * `'bad_sequence'` (not a non-negative safe integer, or a peer or incarnation that is not a string).
 */
export type SequenceVerdict = 'ok' | 'replay' | 'bad_sequence';

/** Options of {@link SequenceTracker}. */
export interface SequenceTrackerOptions {
  /**
   * How many peers to remember. When full, a peer not seen recently is forgotten (second-chance
   * eviction); a forgotten peer's next message is accepted as if it were new.
   * @default {@link DEFAULT_MAX_SEQUENCE_PEERS} (100,000)
   */
  readonly maxPeers?: number;
}

interface PeerState extends SecondChance {
  incarnationId: string;
  /** The incarnation this peer left most recently: replays from it are refused. */
  previousIncarnationId: string | undefined;
  sequence: number;
}

/**
 * Remembers, per peer (e.g. `org/node`), the incarnation ID and the last sequence number accepted,
 * and refuses messages that do not move forward. A new incarnation resets the sequence; going back
 * to the incarnation just left is refused as a replay. Memory is bounded by `maxPeers`.
 *
 * Call {@link SequenceTracker.check} only after the message's signature and timestamp have been
 * verified, so forged messages cannot advance the counters.
 */
export class SequenceTracker {
  readonly #peers: SecondChanceMap<string, PeerState>;

  /** @throws {@link InvalidArgumentError} when `maxPeers` is not a positive integer. */
  constructor(options: SequenceTrackerOptions = {}) {
    const maxPeers = options.maxPeers ?? DEFAULT_MAX_SEQUENCE_PEERS;
    if (!Number.isSafeInteger(maxPeers) || maxPeers < 1) {
      throw new InvalidArgumentError(`SequenceTracker: maxPeers must be a positive integer, got ${maxPeers}`);
    }
    this.#peers = new SecondChanceMap(maxPeers);
  }

  /** How many peers are remembered. */
  get size(): number {
    return this.#peers.size;
  }

  /**
   * Checks, and on `'ok'` records, a message from `peer` with the given incarnation and sequence.
   * `'replay'` when `sequence` is not greater than the last one accepted in the same incarnation,
   * or `incarnationId` is the one the peer left most recently. Allocates only for a new peer.
   */
  check(peer: string, incarnationId: string, sequence: number): SequenceVerdict {
    if (!Number.isSafeInteger(sequence) || sequence < 0) return 'bad_sequence';
    if (typeof peer !== 'string' || typeof incarnationId !== 'string') return 'bad_sequence';
    const state = this.#peers.get(peer);
    if (state === undefined) {
      this.#peers.set(peer, { incarnationId, previousIncarnationId: undefined, sequence, referenced: false });
      return 'ok';
    }
    if (state.incarnationId !== incarnationId) {
      if (state.previousIncarnationId === incarnationId) return 'replay';
      state.previousIncarnationId = state.incarnationId;
      state.incarnationId = incarnationId;
    } else if (sequence <= state.sequence) {
      return 'replay';
    }
    state.sequence = sequence;
    state.referenced = true;
    return 'ok';
  }

  /** The last accepted state of `peer`, for diagnostics. */
  peek(peer: string): { readonly incarnationId: string; readonly sequence: number } | undefined {
    const state = this.#peers.get(peer);
    return state === undefined ? undefined : { incarnationId: state.incarnationId, sequence: state.sequence };
  }

  /** Forgets `peer` (e.g. when its node process ends). True when it was known. */
  forget(peer: string): boolean {
    return this.#peers.delete(peer);
  }

  /** Forgets every peer. */
  clear(): void {
    this.#peers.clear();
  }
}
