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

interface Bucket extends SecondChance {
  tokens: number;
  last: number;
}

/** Token buckets keyed by peer (a string naming the ROUTER identity; the command socket uses hex). */
export class PeerRateLimiter {
  private readonly buckets: SecondChanceMap<string, Bucket>;
  private readonly ratePerMs: number;
  private readonly burst: number;

  /**
   * @param options rate and burst (both positive)
   * @param maxPeers how many buckets to keep at most
   * @param now monotonic clock in milliseconds
   */
  constructor(
    options: RateLimitOptions = DEFAULT_RATE_LIMIT,
    maxPeers = 100_000,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(options.messagesPerSecond > 0) || !(options.burst >= 1)) {
      throw new RangeError('rate limit needs messagesPerSecond > 0 and burst >= 1');
    }
    this.ratePerMs = options.messagesPerSecond / 1000;
    this.burst = options.burst;
    this.buckets = new SecondChanceMap(maxPeers);
  }

  /** Takes one token from `peer`'s bucket; false when the bucket is empty (drop the message). */
  take(peer: string): boolean {
    const now = this.now();
    const bucket = this.buckets.get(peer);
    if (bucket === undefined) {
      this.buckets.set(peer, { tokens: this.burst - 1, last: now, referenced: false });
      return true;
    }
    bucket.referenced = true;
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.last) * this.ratePerMs);
    bucket.last = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** How many peers are tracked. */
  get size(): number {
    return this.buckets.size;
  }
}
