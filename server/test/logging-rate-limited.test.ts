import { expect } from 'chai';
import { MAX_KEY_CHARS, RateLimitedLog } from '../src/logging/rate-limited-log.js';
import { captureLogs } from './helpers/log-capture.js';

describe('rate-limited logging', function () {
  function setup(options: { maxLinesPerInterval?: number; maxKeys?: number } = {}) {
    let now = 0;
    const { logger, lines } = captureLogs();
    const log = new RateLimitedLog(logger, { intervalMs: 1000, now: () => now, ...options });
    const drop = (node: string, reason = 'replayed'): void =>
      log.write('warn', `${reason}\u0000${node}`, { reason, node }, 'message dropped');
    return { log, lines, drop, tick: (ms: number) => (now += ms) };
  }

  it('logs one line per key per interval; the next says how many were suppressed', function () {
    const { lines, drop, tick } = setup();
    for (let i = 0; i < 500; i++) drop('web1');
    drop('web2');
    drop('web1', 'badSignature');
    expect(lines.map((l) => [l.node, l.reason, l.suppressed])).to.deep.equal([
      ['web1', 'replayed', undefined],
      ['web2', 'replayed', undefined],
      ['web1', 'badSignature', undefined],
    ]);
    tick(999);
    drop('web1');
    expect(lines).to.have.length(3);
    tick(1);
    drop('web1');
    expect(lines).to.have.length(4);
    expect(lines[3]).to.include({ node: 'web1', reason: 'replayed', suppressed: 500, level: 'warn' });
    tick(1000);
    drop('web1');
    expect(lines[4]).to.not.have.property('suppressed');
  });

  it('caps lines per interval over all keys, and opens the next interval with a summary', function () {
    const { lines, drop, tick } = setup({ maxLinesPerInterval: 3 });
    for (let i = 0; i < 50; i++) drop(`attacker-${i}`);
    expect(lines.map((l) => l.node)).to.deep.equal(['attacker-0', 'attacker-1', 'attacker-2']);
    tick(1000);
    drop('web1');
    expect(lines.slice(3).map((l) => [l.msg, l.suppressed ?? l.node])).to.deep.equal([
      ['log lines suppressed by the rate limit in the last interval', 47],
      ['message dropped', 'web1'],
    ]);
  });

  it('remembers at most maxKeys keys, and cuts long keys', function () {
    const { log, lines, drop, tick } = setup({ maxKeys: 10, maxLinesPerInterval: 1_000_000 });
    for (let i = 0; i < 1000; i++) drop(`node-${i}`);
    expect(log.size).to.equal(10);
    expect(lines).to.have.length(1000);
    // Keys differing only past the cut are one key.
    tick(1000);
    const long = 'x'.repeat(MAX_KEY_CHARS);
    drop(`${long}-a`);
    drop(`${long}-b`);
    expect(lines).to.have.length(1001);
  });
});
