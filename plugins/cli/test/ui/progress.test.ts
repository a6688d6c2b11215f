import { expect } from 'chai';
import { JobTracker } from '../../src/jobs/tracker.js';
import { formatElapsed, liveLine, LiveProgress, PlainProgress } from '../../src/ui/progress.js';
import { confirm } from '../../src/ui/prompt.js';
import { PassThrough } from 'node:stream';
import { feedEvent } from '../helpers/feed-events.js';

const ev = feedEvent;

describe('JobTracker', () => {
  it('follows the feed events of a job to the end', () => {
    const t = new JobTracker(['a', 'b', 'c']);
    const all = [
      ev('start', { command: 'x' }),
      ev('quorum_vote', { node: 'a', status: 'success' }),
      ev('quorum_vote', { node: 'b', status: 'success' }),
      ev('quorum_vote', { node: 'c', status: 'failure' }),
      ev('quorum_succeeded'),
      ev('run_start', { node: 'a' }),
      ev('run_complete', { node: 'a', status: 'success' }),
      ev('run_complete', { node: 'b', status: 'run_nacked' }),
      ev('job_complete', { status: 'complete' }),
    ].flatMap((e) => t.applyEvent(e));
    expect(all).to.deep.equal([
      { kind: 'status', status: 'voting' },
      { kind: 'node', node: 'c', state: 'nacked' },
      { kind: 'status', status: 'running' },
      { kind: 'node', node: 'a', state: 'succeeded' },
      { kind: 'node', node: 'b', state: 'failed' },
      { kind: 'status', status: 'complete' },
    ]);
    expect(t.counts()).to.deep.equal([
      ['succeeded', 1],
      ['failed', 1],
      ['nacked', 1],
    ]);
    expect(t.finishedNodes()).to.equal(3);
  });

  it('takes bulk changes from the job and reports each node once', () => {
    const t = new JobTracker(['a', 'b']);
    t.applyEvent(ev('run_complete', { node: 'a', status: 'success' }));
    const changes = t.applyJob({ status: 'aborted', nodes: { succeeded: ['a'], aborted: ['b'] } });
    expect(changes).to.deep.equal([
      { kind: 'node', node: 'b', state: 'aborted' },
      { kind: 'status', status: 'aborted' },
    ]);
    expect(t.applyJob({ status: 'aborted', nodes: { succeeded: ['a'], aborted: ['b'] } })).to.deep.equal([]);
  });

  it('a summary event carries the whole job', () => {
    const t = new JobTracker(['a']);
    expect(t.applyEvent(ev('summary', { status: 'complete', nodes: { succeeded: ['a'] } }))).to.deep.equal([
      { kind: 'node', node: 'a', state: 'succeeded' },
      { kind: 'status', status: 'complete' },
    ]);
  });
});

describe('progress views', () => {
  it('plain: one line per change, in knife words', () => {
    const out: string[] = [];
    const view = new PlainProgress((s) => out.push(s));
    view.update([
      { kind: 'status', status: 'voting' },
      { kind: 'node', node: 'web1', state: 'unavailable' },
      { kind: 'status', status: 'quorum_failed' },
    ]);
    expect(out.join('')).to.equal('Voting.\nweb1: unavailable\nQuorum_failed.\n');
  });

  it('live: redraws a line with elapsed time and counts; finished nodes go above it', () => {
    let now = 1000;
    const out: string[] = [];
    const t = new JobTracker(['web1', 'web2']);
    const view = new LiveProgress(
      (s) => out.push(s),
      () => 80,
      () => now,
    );
    view.start(t);
    now = 3500;
    t.applyEvent(ev('start'));
    const changes = t.applyEvent(ev('run_complete', { node: 'web1', status: 'success' }));
    view.update(changes, t);
    view.stop();
    // Colours (on a terminal) aside.
    const text = out.join('').replace(new RegExp(`${'\u001B'}\\[[0-9;]*m`, 'g'), '');
    expect(text).to.include('\r\u001B[2K');
    expect(text).to.include('✔ web1 succeeded\n');
    expect(text).to.include('Voting  2.5s  1/2 done  new 1 · succeeded 1');
    expect(text.endsWith('\r\u001B[2K')).to.equal(true);
  });

  it('a notice on stderr (a reconnect) clears the live line first and redraws it after', () => {
    const order: string[] = [];
    const t = new JobTracker(['web1']);
    const view = new LiveProgress(
      (s) => order.push(`out:${s.replace(new RegExp(`${'\u001B'}\\[[0-9;]*m`, 'g'), '')}`),
      () => 80,
      () => 0,
    );
    view.start(t);
    order.length = 0;
    view.aside(() => order.push('err:server unreachable'));
    view.stop();
    expect(order[0]).to.equal('out:\r\u001B[2K');
    expect(order[1]).to.equal('err:server unreachable');
    expect(order[2]).to.match(/^out:⠋ Initialized {2}0\.0s {2}0\/1 done {2}new 1$/);
    const plain: string[] = [];
    new PlainProgress((s) => plain.push(s)).aside(() => plain.push('notice'));
    expect(plain).to.deep.equal(['notice']);
  });

  it('live line fits the width; elapsed times read well', () => {
    const t = new JobTracker(['a']);
    expect(liveLine(t, 0, 0, 20)).to.have.length(19);
    expect(formatElapsed(1234)).to.equal('1.2s');
    expect(formatElapsed(125_000)).to.equal('2m05s');
    expect(formatElapsed(3_720_000)).to.equal('1h02m');
  });
});

describe('confirm', () => {
  for (const [answer, expected] of [
    ['y\n', true],
    ['Yes\n', true],
    ['n\n', false],
    ['\n', false],
  ] as const) {
    it(`answers ${expected} to ${JSON.stringify(answer)}`, async () => {
      const input = new PassThrough();
      const output = new PassThrough();
      const asked = confirm('Abort? [y/N] ', { input, output });
      input.write(answer);
      expect(await asked).to.equal(expected);
      expect(output.read()?.toString()).to.equal('Abort? [y/N] ');
    });
  }

  it('answers false at the end of input', async () => {
    const input = new PassThrough();
    const asked = confirm('Abort? ', { input, output: new PassThrough() });
    input.end();
    expect(await asked).to.equal(false);
  });
});

describe('job tracker: feed events narrowed to their types', () => {
  it('an unknown event, or one whose data is not what its name promises, changes nothing', () => {
    const t = new JobTracker(['a']);
    expect(t.applyEvent(ev('quorum_vote', { node: 'a', status: 'perhaps' }))).to.deep.equal([]);
    expect(t.applyEvent(ev('run_complete', { node: 42, status: 'success' }))).to.deep.equal([]);
    expect(t.applyEvent(ev('job_complete', { status: 'exploded' }))).to.deep.equal([]);
    expect(t.applyEvent(ev('launch', { node: 'a' }))).to.deep.equal([]);
    expect(t.status).to.equal('new');
    expect(t.nodes.get('a')).to.equal('new');
    // The same events, well formed, are applied.
    expect(t.applyEvent(ev('quorum_vote', { node: 'a', status: 'failure' }))).to.deep.equal([
      { kind: 'node', node: 'a', state: 'nacked' },
    ]);
    expect(t.applyEvent(ev('job_complete', { status: 'quorum_failed' }))).to.deep.equal([
      { kind: 'status', status: 'quorum_failed' },
    ]);
  });
});
