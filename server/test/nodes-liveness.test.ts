import { expect } from 'chai';
import { advance, countHeartbeat, initialLiveness, isAlive } from '../src/nodes/liveness.js';

const settings = { heartbeat_interval: 10_000, decay_window: 4, down_threshold: 0.6 };

describe('heartbeat liveness (spec 3.3)', function () {
  it('starts at twice the threshold (a grace period)', function () {
    const s = initialLiveness(settings, 0);
    expect(s.avg).to.equal(1.2);
    expect(s.heartbeats).to.equal(1);
  });

  it('settles near 1.0 with one heartbeat per interval', function () {
    const s = initialLiveness(settings, 0);
    for (let i = 1; i <= 40; i++) expect(countHeartbeat(s, settings, i * 10_000)).to.equal(true);
    expect(s.avg).to.be.closeTo(1.0, 0.01);
  });

  it('falls to about 0.75 after one empty interval and below 0.6 after two (declared dead)', function () {
    const s = { avg: 1, intervalStart: 0, heartbeats: 1 };
    advance(s, settings, 10_000); // the interval with its heartbeat closes: 0.75 + 0.25 = 1.0
    expect(s.avg).to.be.closeTo(1.0, 1e-9);
    expect(isAlive(s, settings, 20_000)).to.equal(true);
    expect(s.avg).to.be.closeTo(0.75, 1e-9);
    expect(isAlive(s, settings, 30_000)).to.equal(false);
    expect(s.avg).to.be.closeTo(0.5625, 1e-9);
  });

  it('folds several missed intervals at once', function () {
    const a = { avg: 1, intervalStart: 0, heartbeats: 0 };
    advance(a, settings, 35_000);
    expect(a.avg).to.be.closeTo(0.75 ** 3, 1e-9);
    expect(a.intervalStart).to.equal(30_000);
  });
});
