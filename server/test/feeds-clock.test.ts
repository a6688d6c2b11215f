import { expect } from 'chai';
import { EventClock, MAX_CLOCK_DRIFT_US } from '../src/feeds/event-clock.js';

const T0 = Date.UTC(2025, 10, 24, 10, 0, 0, 123);

/** A wall clock (ms) and a monotonic clock (ns) that move only when told. */
class FakeClocks {
  wall = T0;
  mono = 5_000_000_000n;
  wallMs = (): number => this.wall;
  monotonicNs = (): bigint => this.mono;
  /** Both clocks move forward together. */
  advanceUs(us: number): void {
    this.wall += us / 1000;
    this.mono += BigInt(us) * 1000n;
  }
}

function strictlyIncreasing(values: readonly number[]): boolean {
  return values.every((v, i) => i === 0 || v > values[i - 1]!);
}

describe('feeds: event clock', () => {
  let clocks: FakeClocks;
  beforeEach(() => {
    clocks = new FakeClocks();
  });

  it('takes the microseconds from the monotonic clock, anchored to the wall clock at creation', () => {
    const clock = new EventClock(clocks);
    expect(clock.next()).to.equal(T0 * 1000);
    clocks.mono += 1_234_567n; // 1234.567 µs later by the monotonic clock; the wall clock lags
    expect(clock.next()).to.equal(T0 * 1000 + 1234);
    clocks.advanceUs(10);
    expect(clock.next()).to.equal(T0 * 1000 + 1244);
  });

  it('adds 1 µs when the clock did not advance', () => {
    const clock = new EventClock(clocks);
    const stamps = Array.from({ length: 5 }, () => clock.next());
    expect(stamps).to.deep.equal([0, 1, 2, 3, 4].map((n) => T0 * 1000 + n));
    clocks.mono += 2_000n; // 2 µs: already issued, so 1 µs after the last one
    expect(clock.next()).to.equal(T0 * 1000 + 5);
    clocks.mono += 10_000n; // 12 µs since the anchor: ahead of the last stamp again
    expect(clock.next()).to.equal(T0 * 1000 + 12);
  });

  it('a wall clock set back still yields increasing stamps, and is followed once it catches up', () => {
    const clock = new EventClock(clocks);
    const stamps = [clock.next()];
    clocks.wall -= 10_000; // set back 10 s; the monotonic clock goes on
    for (let i = 0; i < 100; i++) {
      clocks.mono += 1_000n;
      stamps.push(clock.next());
    }
    expect(strictlyIncreasing(stamps)).to.equal(true);
    expect(stamps.at(-1)).to.equal(T0 * 1000 + 100);
    clocks.wall += 20_000; // 10 s after the first stamp: the stamps follow the wall clock again
    const later = clock.next();
    expect(later).to.be.within((T0 + 10_000) * 1000, (T0 + 10_000) * 1000 + MAX_CLOCK_DRIFT_US);
    expect(later).to.be.greaterThan(stamps.at(-1)!);
  });

  it('follows a wall clock stepped forward', () => {
    const clock = new EventClock(clocks);
    const first = clock.next();
    clocks.wall += 3_600_000;
    clocks.mono += 1_000n;
    expect(clock.next()).to.equal(first + 3_600_000_000);
  });

  it('without a monotonic clock: the wall clock’s milliseconds, 1 µs apart within one', () => {
    const clock = new EventClock({ wallMs: clocks.wallMs, monotonicNs: null });
    expect([clock.next(), clock.next(), clock.next()]).to.deep.equal([
      T0 * 1000,
      T0 * 1000 + 1,
      T0 * 1000 + 2,
    ]);
    clocks.wall += 1;
    expect(clock.next()).to.equal((T0 + 1) * 1000);
    clocks.wall -= 5_000; // set back: still after the last one
    expect(clock.next()).to.equal((T0 + 1) * 1000 + 1);
  });

  it('with the real clocks: 10,000 stamps in one tick are distinct, increasing and near the wall clock', () => {
    const before = Date.now();
    const clock = new EventClock();
    const stamps = Array.from({ length: 10_000 }, () => clock.next());
    const after = Date.now();
    expect(strictlyIncreasing(stamps)).to.equal(true);
    expect(stamps.every(Number.isSafeInteger)).to.equal(true);
    // Anchored to the wall clock at creation, so never before it; ahead of the wall clock by at
    // most the re-anchoring bound, its millisecond and the 1 µs steps.
    expect(stamps[0]).to.be.at.least(before * 1000);
    expect(stamps.at(-1)).to.be.at.most(after * 1000 + MAX_CLOCK_DRIFT_US + 1000 + stamps.length);
  });
});
