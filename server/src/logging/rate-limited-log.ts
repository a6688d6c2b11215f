/**
 * Logging of events a peer can cause at will (dropped messages, refused handshakes, refused
 * connections): a storm from one attacker must not flood the log, and must not grow memory.
 *
 * - At most one line per key per interval (the key names the reason and the node or address);
 *   the first line after a quiet interval carries `suppressed`, how many were left out.
 * - At most `maxLinesPerInterval` lines per interval over all keys (an attacker can make many
 *   keys); beyond it lines are counted, and the next interval opens with one summary line.
 * - At most `maxKeys` keys are remembered; the least recently logged is forgotten first (its
 *   suppressed count goes to the summary). Keys are cut to {@link MAX_KEY_CHARS} characters.
 *
 * No timers: intervals are measured when the next event arrives.
 *
 * @module
 */
import type { LogFields, Logger, LogMethodName } from '@push-jobs/protocol/internal';

/** Settings of a {@link RateLimitedLog}. */
export interface RateLimitedLogOptions {
  /** Length of an interval, ms. @default 60000 */
  intervalMs?: number;
  /** Most lines per interval over all keys. @default 100 */
  maxLinesPerInterval?: number;
  /** Most keys remembered. @default 1000 */
  maxKeys?: number;
  /** Monotonic clock, ms. @default performance.now */
  now?: () => number;
}

/** Longest key kept, in characters (keys hold names a peer chose). */
export const MAX_KEY_CHARS = 200;

interface KeyState {
  /** When this key last logged a line. */
  loggedAt: number;
  /** Lines of this key left out since. */
  suppressed: number;
}

/** See the module documentation. */
export class RateLimitedLog {
  private readonly keys = new Map<string, KeyState>();
  private readonly intervalMs: number;
  private readonly maxLines: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private windowStart = Number.NEGATIVE_INFINITY;
  private linesInWindow = 0;
  /** Lines left out by the global cap, or whose key was forgotten. */
  private overflow = 0;

  constructor(
    private readonly log: Logger,
    options: RateLimitedLogOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 60_000;
    this.maxLines = options.maxLinesPerInterval ?? 100;
    this.maxKeys = options.maxKeys ?? 1000;
    this.now = options.now ?? (() => performance.now());
  }

  /** How many keys are remembered now. */
  get size(): number {
    return this.keys.size;
  }

  /** Logs `message` at `level` unless `key` (or the whole log) already did this interval. */
  write(level: LogMethodName, key: string, fields: LogFields, message: string): void {
    const now = this.now();
    if (now - this.windowStart >= this.intervalMs) this.openWindow(now);
    const k = key.length > MAX_KEY_CHARS ? key.slice(0, MAX_KEY_CHARS) : key;
    const state = this.keys.get(k);
    if (state !== undefined && now - state.loggedAt < this.intervalMs) {
      state.suppressed++;
      return;
    }
    if (this.linesInWindow >= this.maxLines) {
      this.overflow++;
      return;
    }
    this.linesInWindow++;
    const suppressed = state?.suppressed ?? 0;
    // Most recently logged last: the first key in the map is the one to forget.
    if (state !== undefined) this.keys.delete(k);
    else if (this.keys.size >= this.maxKeys) this.forgetOldest();
    this.keys.set(k, { loggedAt: now, suppressed: 0 });
    this.log[level](suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }

  private openWindow(now: number): void {
    this.windowStart = now;
    this.linesInWindow = 0;
    if (this.overflow === 0) return;
    const suppressed = this.overflow;
    this.overflow = 0;
    this.linesInWindow = 1;
    this.log.warn({ suppressed }, 'log lines suppressed by the rate limit in the last interval');
  }

  private forgetOldest(): void {
    const oldest = this.keys.entries().next();
    if (oldest.done === true) return;
    const [k, state] = oldest.value;
    this.keys.delete(k);
    this.overflow += state.suppressed;
  }
}
