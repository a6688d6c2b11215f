/**
 * The clock that stamps feed events: microseconds since the epoch, strictly increasing.
 *
 * A `Date` has milliseconds only, so events recorded in the same millisecond used to share a
 * timestamp (the last three digits always `000`), and a client ordering or de-duplicating events
 * by timestamp could not tell them apart. This clock takes the time of day from the wall clock and
 * the microseconds from a monotonic high-resolution clock anchored to it, and never issues the same
 * stamp twice or goes back: when the clock did not advance (two events in the same microsecond, or
 * the wall clock was set back), the stamp is the previous one plus 1 µs.
 *
 * @module
 */

/** Sources of an {@link EventClock}. */
export interface EventClockOptions {
  /** The wall clock, milliseconds since the epoch. @default Date.now */
  wallMs?: () => number;
  /**
   * A monotonic clock in nanoseconds (any origin) that refines the wall clock below the
   * millisecond. Without one, stamps are the wall clock's milliseconds (plus 1 µs per stamp issued
   * within the same millisecond). @default process.hrtime.bigint
   */
  monotonicNs?: (() => bigint) | null;
}

/**
 * How far (µs) the anchored high-resolution time may stray from the wall clock before it is
 * anchored again. The two normally move together (the kernel slews both alike), so this only
 * catches a wall clock that was stepped, while a reading delayed by a busy machine between the two
 * clock calls does not count.
 */
export const MAX_CLOCK_DRIFT_US = 50_000;

/** Issues strictly increasing timestamps, in microseconds since the epoch. */
export class EventClock {
  readonly #wallMs: () => number;
  readonly #monotonicNs: (() => bigint) | undefined;
  /** Wall time (µs) at the anchor. */
  #anchorUs = 0;
  /** Monotonic time (ns) at the anchor. */
  #anchorNs = 0n;
  /** The last stamp issued. */
  #last = Number.NEGATIVE_INFINITY;

  /** Creates a clock anchored to the wall clock now. */
  constructor(opts: EventClockOptions = {}) {
    this.#wallMs = opts.wallMs ?? Date.now;
    this.#monotonicNs = opts.monotonicNs === null ? undefined : (opts.monotonicNs ?? process.hrtime.bigint);
    if (this.#monotonicNs !== undefined) this.#anchor(Math.trunc(this.#wallMs() * 1000), this.#monotonicNs());
  }

  /** The last stamp issued (-Infinity before the first). */
  get last(): number {
    return this.#last;
  }

  /**
   * The next stamp: the current time in microseconds, or 1 µs after the previous stamp when that
   * is not earlier. Always an integer.
   */
  next(): number {
    const wallUs = Math.trunc(this.#wallMs() * 1000);
    let us = wallUs;
    if (this.#monotonicNs !== undefined) {
      const ns = this.#monotonicNs();
      us = this.#anchorUs + Number((ns - this.#anchorNs) / 1000n);
      if (Math.abs(us - wallUs) > MAX_CLOCK_DRIFT_US) {
        this.#anchor(wallUs, ns);
        us = wallUs;
      }
    }
    if (!(us > this.#last)) us = this.#last + 1;
    this.#last = us;
    return us;
  }

  #anchor(wallUs: number, ns: bigint): void {
    this.#anchorUs = wallUs;
    this.#anchorNs = ns;
  }
}
