/**
 * Shedding of live output (`output` messages) on the command socket, so that output never
 * delays commits, votes, results or heartbeats, which arrive on the same ROUTER:
 *
 * - a global bound: while the output collector has `maxBacklog` chunks or more waiting to be
 *   published, `output` messages are dropped as soon as their body is parsed, before their
 *   signature is checked (the costly step);
 * - a budget per node: token buckets of messages and bytes per second (refilled from the elapsed
 *   time, no timers; the map of buckets is bounded, second-chance eviction). An agent coalesces
 *   its output every 100 to 250 ms, about 4 to 10 messages a second; the default budget takes
 *   16 a second with bursts of 32, and 128 KiB a second with bursts of 512 KiB.
 *
 * Everything dropped is counted ({@link OutputShedStats}). Control messages are never looked at
 * here.
 *
 * @module
 */
import { TokenBuckets } from './rate-limiter.js';

/** Settings of {@link OutputBudget}. */
export interface OutputBudgetOptions {
  /** Sustained `output` messages per second per node. @default 16 */
  messagesPerSecond?: number;
  /** Burst of messages per node. @default 32 */
  burstMessages?: number;
  /** Sustained bytes (of the body) per second per node. @default 128 KiB */
  bytesPerSecond?: number;
  /** Burst of bytes per node. @default 512 KiB */
  burstBytes?: number;
  /** Chunks waiting in the output collector at which output is shed before verification. @default 4096 */
  maxBacklog?: number;
  /** How many nodes' buckets are kept. @default 100000 */
  maxNodes?: number;
  /** Monotonic clock, ms. @default performance.now */
  now?: () => number;
}

/** What was shed, counted. */
export interface OutputShedStats {
  /** `output` messages let through (verified, within budget). */
  passed: number;
  /** Dropped before verification: the collector's backlog was full. */
  shedBacklog: number;
  /** Dropped after verification: the node was over its budget. */
  shedBudget: number;
}

/** See the module documentation. */
export class OutputBudget {
  readonly stats: OutputShedStats = { passed: 0, shedBacklog: 0, shedBudget: 0 };
  private readonly buckets: TokenBuckets;
  private readonly maxBacklog: number;

  /**
   * `backlog` says how many chunks the collector has waiting (its `queued`).
   * @throws {RangeError} for a rate or burst that is not positive
   */
  constructor(
    private readonly backlog: () => number,
    options: OutputBudgetOptions = {},
  ) {
    const messages = { perSecond: options.messagesPerSecond ?? 16, burst: options.burstMessages ?? 32 };
    const bytes = {
      perSecond: options.bytesPerSecond ?? 128 * 1024,
      burst: options.burstBytes ?? 512 * 1024,
    };
    this.maxBacklog = options.maxBacklog ?? 4096;
    this.buckets = new TokenBuckets([messages, bytes], options.maxNodes ?? 100_000, options.now);
  }

  /** Whether output must be shed before verification (counts the drop when it must). */
  saturated(): boolean {
    if (this.backlog() < this.maxBacklog) return false;
    this.stats.shedBacklog++;
    return true;
  }

  /** Takes one message of `bytes` from the node's budget; false (counted) when it is over. */
  take(org: string, node: string, bytes: number): boolean {
    if (!this.buckets.take(`${org}\u0000${node}`, [1, bytes])) {
      this.stats.shedBudget++;
      return false;
    }
    this.stats.passed++;
    return true;
  }
}
