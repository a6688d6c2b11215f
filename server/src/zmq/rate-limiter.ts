/**
 * Per-peer token buckets without timers: a bucket is refilled from the elapsed time when its peer's
 * next message arrives. The map is bounded; a peer not seen since the last eviction pass is evicted
 * first (second-chance, "clock" order: close to least recently seen, without re-inserting every
 * peer on every message, which made this map the most expensive lookup of the receive path). An
 * evicted peer gets a full bucket if it comes back, which only an idle peer can have earned anyway.
 *
 * @module
 */
import { SecondChanceMap, type SecondChance } from '@push-jobs/protocol/internal';

/** Settings of {@link PeerRateLimiter}. */
export interface RateLimitOptions {
  /** Sustained rate per peer. @default 200 */
  messagesPerSecond: number;
  /** Bucket size: how many messages a peer may send at once. @default 400 */
  burst: number;
}

/** Default per-peer limit of the command socket. */
export const DEFAULT_RATE_LIMIT: RateLimitOptions = { messagesPerSecond: 200, burst: 400 };

/** One kind of token: its sustained rate and its bucket size. */
export interface TokenLimit {
  /** Tokens added per second. */
  perSecond: number;
  /** Most tokens a bucket holds (and a new key starts with). */
  burst: number;
}

interface Buckets extends SecondChance {
  /** Tokens of each limit, in the order of the limits. */
  tokens: number[];
  last: number;
}

/**
 * Token buckets keyed by a string, one per {@link TokenLimit} for each key (messages and bytes,
 * say), refilled from the elapsed time; see the module documentation. A take is all or nothing:
 * it takes its cost from every bucket of the key, or from none.
 */
export class TokenBuckets {
  private readonly buckets: SecondChanceMap<string, Buckets>;
  private readonly perMs: number[];
  private readonly bursts: number[];

  /**
   * @param limits the kinds of token (positive rates, bursts of at least 1)
   * @param maxKeys how many keys to keep at most
   * @param now monotonic clock in milliseconds
   */
  constructor(
    limits: readonly TokenLimit[],
    maxKeys: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (limits.length === 0 || limits.some((l) => !(l.perSecond > 0) || !(l.burst >= 1))) {
      throw new RangeError('token limits need a rate above 0 and a burst of at least 1');
    }
    this.perMs = limits.map((l) => l.perSecond / 1000);
    this.bursts = limits.map((l) => l.burst);
    this.buckets = new SecondChanceMap(maxKeys);
  }

  /** Takes `costs` (one per limit) from `key`'s buckets; false, taking nothing, when one is short. */
  take(key: string, costs: readonly number[]): boolean {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: [...this.bursts], last: now, referenced: false };
      this.buckets.set(key, bucket);
    } else {
      bucket.referenced = true;
      const elapsed = now - bucket.last;
      for (let i = 0; i < bucket.tokens.length; i++) {
        bucket.tokens[i] = Math.min(this.bursts[i]!, bucket.tokens[i]! + elapsed * this.perMs[i]!);
      }
      bucket.last = now;
    }
    for (let i = 0; i < bucket.tokens.length; i++) if (bucket.tokens[i]! < costs[i]!) return false;
    for (let i = 0; i < bucket.tokens.length; i++) bucket.tokens[i]! -= costs[i]!;
    return true;
  }

  /** How many keys are tracked. */
  get size(): number {
    return this.buckets.size;
  }
}

const ONE = [1] as const;

/** Token buckets keyed by peer (a string naming the ROUTER identity; the command socket uses hex). */
export class PeerRateLimiter {
  private readonly buckets: TokenBuckets;

  /**
   * @param options rate and burst (both positive, else a RangeError)
   * @param maxPeers how many buckets to keep at most
   * @param now monotonic clock in milliseconds
   */
  constructor(
    options: RateLimitOptions = DEFAULT_RATE_LIMIT,
    maxPeers = 100_000,
    now: () => number = () => performance.now(),
  ) {
    this.buckets = new TokenBuckets(
      [{ perSecond: options.messagesPerSecond, burst: options.burst }],
      maxPeers,
      now,
    );
  }

  /** Takes one token from `peer`'s bucket; false when the bucket is empty (drop the message). */
  take(peer: string): boolean {
    return this.buckets.take(peer, ONE);
  }

  /** How many peers are tracked. */
  get size(): number {
    return this.buckets.size;
  }
}
