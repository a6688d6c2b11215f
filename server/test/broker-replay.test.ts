import { expect } from 'chai';
import { InvalidArgumentError } from '@push-jobs/protocol/internal';
import { NodeReplayTracker, SIGNATURES_PER_SECOND, type TrackedMessage } from '../src/zmq/replay-tracker.js';

const T = Date.UTC(2026, 0, 1, 12, 0, 0);
let signatures = 0;
const msg = (m: Partial<TrackedMessage>): TrackedMessage => ({
  connection: 'c1',
  incarnation: 'i1',
  sequence: 1,
  timestampMs: T,
  signature: `sig-${++signatures}`,
  ...m,
});

describe('broker: per-node replay tracking', () => {
  it('needs the sequence to go forward on the current connection', () => {
    const t = new NodeReplayTracker();
    expect(t.check('n', msg({ sequence: 1 }))).to.equal('ok');
    expect(t.check('n', msg({ sequence: 2 }))).to.equal('ok');
    expect(t.check('n', msg({ sequence: 2, timestampMs: T + 5000 }))).to.equal('replay');
    expect(t.check('n', msg({ sequence: -1 }))).to.equal('bad_sequence');
    expect(t.check('n', msg({ sequence: 3, timestampMs: Number.NaN }))).to.equal('bad_sequence');
  });

  it('refuses a captured message replayed from a new connection', () => {
    const t = new NodeReplayTracker();
    const first = msg({ sequence: 1, timestampMs: T });
    expect(t.check('n', first)).to.equal('ok');
    expect(t.check('n', msg({ sequence: 2, timestampMs: T + 1000 }))).to.equal('ok');
    // The same bytes from elsewhere: older than the newest message seen.
    expect(t.check('n', { ...first, connection: 'attacker' })).to.equal('replay');
  });

  it('refuses the newest message replayed from a new connection in the same second', () => {
    const t = new NodeReplayTracker();
    const last = msg({ sequence: 1 });
    expect(t.check('n', last)).to.equal('ok');
    expect(t.check('n', { ...last, connection: 'attacker' })).to.equal('replay');
  });

  it('lets a reconnecting client (same incarnation, sequence from 1) in, even within the same second', () => {
    const t = new NodeReplayTracker();
    expect(t.check('n', msg({ sequence: 1 }))).to.equal('ok');
    expect(t.check('n', msg({ sequence: 7 }))).to.equal('ok');
    expect(t.check('n', msg({ connection: 'c2', sequence: 1 }))).to.equal('ok');
    expect(t.check('n', msg({ connection: 'c2', sequence: 2, timestampMs: T + 1000 }))).to.equal('ok');
    expect(t.check('n', msg({ connection: 'c3', sequence: 1, timestampMs: T + 2000 }))).to.equal('ok');
  });

  it('lets a restarted client (new incarnation) in and refuses every incarnation it left', () => {
    const t = new NodeReplayTracker();
    const a = msg({ incarnation: 'A', timestampMs: T });
    expect(t.check('n', a)).to.equal('ok');
    const b = msg({ incarnation: 'B', connection: 'c2', timestampMs: T + 1000 });
    expect(t.check('n', b)).to.equal('ok');
    expect(t.check('n', msg({ incarnation: 'C', connection: 'c3', timestampMs: T + 2000 }))).to.equal('ok');
    // A and B are older than what C sent: refused from any connection.
    expect(t.check('n', { ...a, connection: 'x' })).to.equal('replay');
    expect(t.check('n', { ...b, connection: 'y' })).to.equal('replay');
    // B is the incarnation just left: refused even with a new message in the newest second.
    expect(t.check('n', msg({ incarnation: 'B', connection: 'z', timestampMs: T + 2000 }))).to.equal(
      'replay',
    );
  });

  it('a restart within the same second is a new incarnation and is let in', () => {
    const t = new NodeReplayTracker();
    expect(t.check('n', msg({ incarnation: 'A' }))).to.equal('ok');
    expect(t.check('n', msg({ incarnation: 'B', connection: 'c2' }))).to.equal('ok');
  });

  it('when more messages than it remembers arrived in one second, other connections wait for the next', () => {
    const t = new NodeReplayTracker();
    for (let i = 1; i <= SIGNATURES_PER_SECOND + 1; i++)
      expect(t.check('n', msg({ sequence: i }))).to.equal('ok');
    expect(t.check('n', msg({ connection: 'c2', sequence: 1 }))).to.equal('replay');
    expect(t.check('n', msg({ connection: 'c2', sequence: 1, timestampMs: T + 1000 }))).to.equal('ok');
  });

  it('keeps nodes apart and its memory bounded', () => {
    const t = new NodeReplayTracker(3);
    for (let i = 0; i < 10; i++) expect(t.check(`n${i}`, msg({}))).to.equal('ok');
    expect(t.size).to.equal(3);
    expect(() => new NodeReplayTracker(0)).to.throw(InvalidArgumentError);
  });
});
