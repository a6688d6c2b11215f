import { expect } from 'chai';
import { ReplayGuard } from '../src/replay-guard.js';

describe('ReplayGuard', () => {
  it('reports the second sighting of a signature within twice the skew as a replay', () => {
    const guard = new ReplayGuard(300);
    expect(guard.isReplay('sig-a', 0)).to.equal(false);
    expect(guard.isReplay('sig-b', 1000)).to.equal(false);
    expect(guard.isReplay('sig-a', 599_999)).to.equal(true);
    expect(guard.isReplay('sig-b', 2000)).to.equal(true);
  });

  it('forgets signatures once the skew check would reject them anyway', () => {
    const guard = new ReplayGuard(300);
    guard.isReplay('sig-a', 0);
    expect(guard.isReplay('sig-a', 600_000)).to.equal(false);
    expect(guard.isReplay('sig-c', 1_300_000)).to.equal(false);
    expect(guard.size).to.equal(1);
  });

  it('stays within its capacity, forgetting the oldest first', () => {
    const guard = new ReplayGuard(300, 3);
    for (const sig of ['a', 'b', 'c', 'd']) guard.isReplay(sig, 0);
    expect(guard.size).to.equal(3);
    expect(guard.isReplay('d', 1)).to.equal(true);
    expect(guard.isReplay('a', 1)).to.equal(false);
  });
});
