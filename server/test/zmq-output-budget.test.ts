import { expect } from 'chai';
import { OutputBudget } from '../src/zmq/output-budget.js';
import { PeerRateLimiter, TokenBuckets } from '../src/zmq/rate-limiter.js';

describe('zmq: output budget and token buckets (fake clock)', () => {
  it('a node may send its burst, then its rate; messages and bytes are both counted, all or nothing', () => {
    let now = 0;
    const budget = new OutputBudget(() => 0, {
      messagesPerSecond: 10,
      burstMessages: 3,
      bytesPerSecond: 1000,
      burstBytes: 2000,
      now: () => now,
    });
    expect([1, 2, 3].map(() => budget.take('acme', 'web1', 100))).to.deep.equal([true, true, true]);
    expect(budget.take('acme', 'web1', 100)).to.equal(false);
    // Another node, and the same name in another org, have budgets of their own.
    expect(budget.take('acme', 'web2', 100)).to.equal(true);
    expect(budget.take('other', 'web1', 100)).to.equal(true);
    now += 100; // one message back, 100 bytes back (1,800 left of 2,000 - 300 + 100)
    expect(budget.take('acme', 'web1', 1900)).to.equal(false); // bytes short: the message is not taken
    expect(budget.take('acme', 'web1', 100)).to.equal(true);
    expect(budget.take('acme', 'web1', 100)).to.equal(false);
    expect(budget.stats).to.deep.equal({ passed: 6, shedBacklog: 0, shedBudget: 3 });
  });

  it('sheds everything before verification while the collector backlog is full', () => {
    let backlog = 0;
    const budget = new OutputBudget(() => backlog, { maxBacklog: 10 });
    expect(budget.saturated()).to.equal(false);
    backlog = 10;
    expect(budget.saturated()).to.equal(true);
    expect(budget.stats.shedBacklog).to.equal(1);
  });

  it('refuses limits that are not positive', () => {
    expect(() => new OutputBudget(() => 0, { bytesPerSecond: 0 })).to.throw(RangeError);
    expect(() => new PeerRateLimiter({ messagesPerSecond: 10, burst: 0 })).to.throw(RangeError);
    expect(() => new TokenBuckets([], 10)).to.throw(RangeError);
  });

  it('token buckets refill from the elapsed time up to their burst, and evict beyond their size', () => {
    let now = 0;
    const buckets = new TokenBuckets([{ perSecond: 1, burst: 2 }], 2, () => now);
    expect(buckets.take('a', [2])).to.equal(true);
    expect(buckets.take('a', [1])).to.equal(false);
    now += 10_000; // ten tokens' worth, capped at the burst of 2
    expect(buckets.take('a', [2])).to.equal(true);
    expect(buckets.take('a', [1])).to.equal(false);
    buckets.take('b', [1]);
    buckets.take('c', [1]);
    expect(buckets.size).to.be.at.most(2);
  });
});
