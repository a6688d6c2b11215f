/**
 * A rollout's bookkeeping (`max_concurrency`, `max_errors`): which ready nodes wait for their
 * turn, how many run, how many failed, and whether the error budget is spent. No I/O: the job
 * machine ({@link JobRun}) asks it what to start and tells it what ended.
 *
 * Semantics (documented in docs/differences.md):
 * - the window is `max_concurrency` nodes: a count, or a percentage of the job's nodes rounded
 *   up (at least 1). After the quorum, the first nodes to be ready start; the next starts as soon
 *   as one ends;
 * - a failure is a node that was sent `run` and ended in any state but `succeeded` (`failed`,
 *   `crashed`, a `nack_run`); once there are more failures than `max_errors` (a count, or a
 *   percentage of the job's nodes rounded down), the budget is spent: no node starts any more.
 *
 * @module
 */
import type { RolloutSize } from '@push-jobs/protocol/internal';
import type { JobOptions } from '../store/types.js';

/** A rollout's limits, resolved to counts. */
export interface RolloutLimits {
  /** At most this many nodes run at once; `Infinity` without `max_concurrency`. */
  window: number;
  /** Failures tolerated; `Infinity` without `max_errors`. */
  budget: number;
}

/** A count, or `"N%"` of `of`: rounded up (at least `min`) or down. */
function resolveSize(size: RolloutSize, of: number, round: 'up' | 'down', min: number): number {
  if (typeof size === 'number') return size;
  const percent = Number(size.slice(0, -1));
  const exact = (percent * of) / 100;
  return Math.max(min, round === 'up' ? Math.ceil(exact) : Math.floor(exact));
}

/** The limits of a job with `nodeCount` nodes, or undefined when it is not a rollout. */
export function rolloutLimits(options: JobOptions, nodeCount: number): RolloutLimits | undefined {
  const { maxConcurrency, maxErrors } = options;
  if (maxConcurrency === undefined && maxErrors === undefined) return undefined;
  return {
    window: maxConcurrency === undefined ? Infinity : resolveSize(maxConcurrency, nodeCount, 'up', 1),
    budget: maxErrors === undefined ? Infinity : resolveSize(maxErrors, nodeCount, 'down', 0),
  };
}

/** The sliding window and the error budget of one job. */
export class Rollout {
  /** Ready nodes in the order they became ready, not started yet (from {@link head} on). */
  private readonly waiting: string[] = [];
  private head = 0;
  private readonly started = new Set<string>();
  /** Started nodes that have not ended. */
  private running = 0;
  /** Started nodes that ended in any state but `succeeded`. */
  failures = 0;
  /** The budget is spent: nothing starts any more. */
  spent = false;

  constructor(readonly limits: RolloutLimits) {}

  /** A node is ready: it starts when its turn comes. */
  enqueue(node: string): void {
    this.waiting.push(node);
  }

  /** Whether `node` was sent `run`. */
  isStarted(node: string): boolean {
    return this.started.has(node);
  }

  /** Started nodes that have not ended. */
  get active(): number {
    return this.running;
  }

  /**
   * The nodes to start now: waiting nodes (that `stillReady` says are still ready) while the
   * window has room and the budget is not spent. They count as started.
   */
  take(stillReady: (node: string) => boolean): string[] {
    const out: string[] = [];
    while (!this.spent && this.running < this.limits.window && this.head < this.waiting.length) {
      const node = this.waiting[this.head++]!;
      if (!stillReady(node) || this.started.has(node)) continue;
      this.started.add(node);
      this.running++;
      out.push(node);
    }
    this.compact();
    return out;
  }

  /** A started node ended; `succeeded` says how. Nodes that never started are not counted. */
  ended(node: string, succeeded: boolean): void {
    if (!this.started.has(node)) return;
    this.running--;
    if (!succeeded) this.failures++;
  }

  /**
   * Spends the budget when the failures exceed it; returns true only the first time. The
   * caller then skips {@link drain}.
   */
  checkBudget(): boolean {
    if (this.spent || this.failures <= this.limits.budget) return false;
    this.spent = true;
    return true;
  }

  /** Every waiting node not started yet (that `stillReady` says is ready); the queue empties. */
  drain(stillReady: (node: string) => boolean): string[] {
    const out = this.waiting.slice(this.head).filter((n) => stillReady(n) && !this.started.has(n));
    this.waiting.length = 0;
    this.head = 0;
    return out;
  }

  /** Drops the consumed head of the queue once it is large (amortised O(1) per node). */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
  }
}
