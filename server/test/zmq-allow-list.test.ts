import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { z85Encode } from '@push-jobs/protocol/internal';
import { curveKeyFromZ85, generateCurveKeyPair, MemoryCurveAllowList } from '../src/zmq/index.js';
import { Fifo } from '../src/zmq/fifo.js';
import { PeerRateLimiter } from '../src/zmq/rate-limiter.js';

describe('zmq: CURVE allow-list (spec 4)', function () {
  let now: number;
  let list: MemoryCurveAllowList;
  beforeEach(() => {
    now = 1_000_000;
    list = new MemoryCurveAllowList({ now: () => now });
  });
  afterEach(() => list.stop());

  it('binds a key to its org and node for 60 s by default', () => {
    const key = randomBytes(32);
    list.allow(key, 'acme', 'n1');
    expect(list.lookup(key)).to.deep.equal({ org: 'acme', node: 'n1' });
    expect(list.lookup(Buffer.from(key))).to.deep.equal({ org: 'acme', node: 'n1' });
    expect(list.lookup(randomBytes(32))).to.equal(undefined);
    now += 59_999;
    expect(list.lookup(key)).to.deep.equal({ org: 'acme', node: 'n1' });
    now += 1;
    expect(list.lookup(key)).to.equal(undefined);
    expect(list.size()).to.equal(0);
  });

  it('honours a TTL per call and one from the constructor', () => {
    const short = randomBytes(32);
    list.allow(short, 'acme', 'n1', 100);
    now += 100;
    expect(list.lookup(short)).to.equal(undefined);
    const custom = new MemoryCurveAllowList({ ttlMs: 10, now: () => now });
    custom.allow(short, 'acme', 'n1');
    now += 9;
    expect(custom.lookup(short)).to.not.equal(undefined);
    now += 1;
    expect(custom.lookup(short)).to.equal(undefined);
  });

  it('keeps one key per node: a new allow replaces the previous key', () => {
    const first = randomBytes(32);
    const second = randomBytes(32);
    list.allow(first, 'acme', 'n1');
    list.allow(second, 'acme', 'n1');
    expect(list.lookup(first)).to.equal(undefined);
    expect(list.lookup(second)).to.deep.equal({ org: 'acme', node: 'n1' });
    expect(list.size()).to.equal(1);
    // The same node name in another org is another node.
    list.allow(first, 'other', 'n1');
    expect(list.size()).to.equal(2);
    // Re-allowing a key refreshes its TTL.
    now += 50_000;
    list.allow(second, 'acme', 'n1');
    now += 50_000;
    expect(list.lookup(second)).to.deep.equal({ org: 'acme', node: 'n1' });
    expect(list.lookup(first)).to.equal(undefined);
  });

  it('moves a key allowed for another node to that node', () => {
    const key = randomBytes(32);
    const other = randomBytes(32);
    list.allow(key, 'acme', 'n1');
    list.allow(key, 'acme', 'n2');
    expect(list.lookup(key)).to.deep.equal({ org: 'acme', node: 'n2' });
    // n1 no longer owns the key: a new key for n1 must not evict n2's.
    list.allow(other, 'acme', 'n1');
    expect(list.lookup(key)).to.deep.equal({ org: 'acme', node: 'n2' });
    expect(list.size()).to.equal(2);
  });

  it('sweeps expired entries and reports how many went', () => {
    list.allow(randomBytes(32), 'acme', 'n1', 1_000);
    list.allow(randomBytes(32), 'acme', 'n2', 5_000);
    const kept = randomBytes(32);
    list.allow(kept, 'acme', 'n3');
    expect(list.sweep(now + 999)).to.equal(0);
    expect(list.sweep(now + 1_000)).to.equal(1);
    now += 5_000;
    expect(list.sweep()).to.equal(1);
    expect(list.size()).to.equal(1);
    expect(list.lookup(kept)).to.deep.equal({ org: 'acme', node: 'n3' });
  });

  it('sweeps periodically once started and stops', async () => {
    const real = new MemoryCurveAllowList({ ttlMs: 5 });
    real.allow(randomBytes(32), 'acme', 'n1');
    real.startSweeping(10);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(real.sweep()).to.equal(0);
    real.stop();
    real.stop();
  });

  it('rejects keys that are not 32 bytes and bad TTLs', () => {
    expect(() => list.allow(randomBytes(31), 'acme', 'n1')).to.throw(RangeError);
    expect(() => list.allow(randomBytes(32), 'acme', 'n1', 0)).to.throw(RangeError);
  });
});

describe('zmq: CURVE keys', function () {
  it('generates Z85 key pairs that decode to 32 bytes', () => {
    const pair = generateCurveKeyPair();
    expect(pair.publicKey).to.have.length(40);
    expect(pair.secretKey).to.have.length(40);
    const raw = curveKeyFromZ85(pair.publicKey);
    expect(raw).to.be.instanceOf(Buffer);
    expect(raw).to.have.length(32);
    expect(z85Encode(raw ?? Buffer.alloc(0))).to.equal(pair.publicKey);
  });

  it('rejects invalid Z85 keys', () => {
    expect(curveKeyFromZ85('')).to.equal(undefined);
    expect(curveKeyFromZ85('abcde')).to.equal(undefined);
    expect(curveKeyFromZ85('~'.repeat(40))).to.equal(undefined);
    expect(curveKeyFromZ85(z85Encode(randomBytes(36)))).to.equal(undefined);
  });
});

describe('zmq: per-peer rate limiter', function () {
  it('allows a burst, then the refill rate, per peer', () => {
    let now = 0;
    const limiter = new PeerRateLimiter({ messagesPerSecond: 10, burst: 3 }, 100, () => now);
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).to.deep.equal([true, true, true, false]);
    expect(limiter.take('b')).to.equal(true);
    now += 100;
    expect(limiter.take('a')).to.equal(true);
    expect(limiter.take('a')).to.equal(false);
    now += 10_000;
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).to.deep.equal([true, true, true, false]);
  });

  it('bounds the number of tracked peers by evicting the least recently seen', () => {
    const now = 0;
    const limiter = new PeerRateLimiter({ messagesPerSecond: 1, burst: 1 }, 2, () => now);
    expect(limiter.take('a')).to.equal(true);
    expect(limiter.take('b')).to.equal(true);
    expect(limiter.take('c')).to.equal(true);
    expect(limiter.size).to.equal(2);
    expect(limiter.take('b')).to.equal(false);
    // 'a' was evicted and starts again with a full bucket.
    expect(limiter.take('a')).to.equal(true);
  });

  it('gives a peer seen again since the last eviction a second chance', () => {
    const now = 0;
    const limiter = new PeerRateLimiter({ messagesPerSecond: 1, burst: 1 }, 2, () => now);
    expect(limiter.take('a')).to.equal(true);
    expect(limiter.take('b')).to.equal(true);
    expect(limiter.take('a')).to.equal(false); // seen again: its empty bucket must survive
    expect(limiter.take('c')).to.equal(true); // evicts 'b', the oldest not seen again
    expect(limiter.size).to.equal(2);
    expect(limiter.take('a')).to.equal(false);
    expect(limiter.take('b')).to.equal(true); // fresh bucket; evicts 'c' ('a' was passed over)
    expect(limiter.take('a')).to.equal(false);
  });

  it('evicts even when every peer was seen again', () => {
    const now = 0;
    const limiter = new PeerRateLimiter({ messagesPerSecond: 1, burst: 1 }, 3, () => now);
    for (const p of ['a', 'b', 'c', 'a', 'b', 'c']) limiter.take(p);
    expect(limiter.take('d')).to.equal(true);
    expect(limiter.size).to.equal(3);
    expect(limiter.take('a')).to.equal(true); // 'a' was the oldest once all marks were cleared
  });
});

describe('zmq: FIFO', function () {
  it('keeps order across compactions and drains', () => {
    const fifo = new Fifo<{ n: number }>();
    for (let n = 0; n < 5000; n++) fifo.push({ n });
    for (let n = 0; n < 3000; n++) expect(fifo.shift()?.n).to.equal(n);
    fifo.push({ n: 5000 });
    expect(fifo.length).to.equal(2001);
    expect(fifo.drain().map((item) => item.n)).to.deep.equal(
      Array.from({ length: 2001 }, (_, i) => 3000 + i),
    );
    expect(fifo.shift()).to.equal(undefined);
    expect(fifo.length).to.equal(0);
  });
});
