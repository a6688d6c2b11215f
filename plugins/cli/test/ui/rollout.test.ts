// Rollouts in the CLI's own parts: the flag values, their counts, the window line, the tracker's
// rollout changes and the live view (the command tests cover the plain view end to end).
import { expect } from 'chai';
import { isTerminalNodeJobState } from '@push-jobs/protocol';
import { budgetText, parseRolloutSize, rolloutCount, windowText } from '../../src/jobs/rollout.js';
import { JobTracker } from '../../src/jobs/tracker.js';
import { durationText, exitText, jobSucceeded } from '../../src/ui/job-format.js';
import { liveLine, LiveProgress } from '../../src/ui/progress.js';
import { feedEvent as ev } from '../helpers/feed-events.js';

const ANSI = new RegExp(`${'\u001B'}\\[[0-9;]*m`, 'g');

describe('rollouts', () => {
  it('parses --concurrency and --max-errors as the server checks them', () => {
    expect(parseRolloutSize('concurrency', '10', 1)).to.equal(10);
    expect(parseRolloutSize('concurrency', ' 25% ', 1)).to.equal('25%');
    expect(parseRolloutSize('concurrency', '100%', 1)).to.equal('100%');
    expect(parseRolloutSize('max-errors', '0', 0)).to.equal(0);
    expect(parseRolloutSize('max-errors', '0%', 0)).to.equal('0%');
    expect(parseRolloutSize('max-errors', '007', 0)).to.equal(7);
    for (const [flag, text, min] of [
      ['concurrency', '0', 1],
      ['concurrency', '0%', 1],
      ['concurrency', '', 1],
      ['concurrency', '1e3', 1],
      ['max-errors', '101%', 0],
      ['max-errors', '-0', 0],
      ['max-errors', '2147483648', 0],
    ] as const) {
      expect(() => parseRolloutSize(flag, text, min), `${flag} ${text}`)
        .to.throw(`invalid --${flag}`)
        .with.property('exitCode', 2);
    }
  });

  it('resolves percentages as the server does: a window rounds up (at least 1), a budget down', () => {
    expect(rolloutCount('10%', 25, 'up')).to.equal(3);
    expect(rolloutCount('1%', 5, 'up')).to.equal(1);
    expect(rolloutCount('10%', 25, 'down')).to.equal(2);
    expect(rolloutCount('0%', 25, 'down')).to.equal(0);
    expect(rolloutCount(4, 25, 'up')).to.equal(4);
    expect(rolloutCount('x%', 25, 'up')).to.equal(undefined);
  });

  it('words the window and the budget', () => {
    const states = ['running', 'running', 'succeeded', 'failed', 'skipped', 'nacked', 'ready'];
    expect(windowText({ maxConcurrency: 2, maxErrors: 1 }, states, isTerminalNodeJobState)).to.equal(
      'running 2/2 (window 2), done 4/7, failed 1 (max errors 1)',
    );
    expect(windowText({ maxErrors: 0 }, states, isTerminalNodeJobState)).to.equal(
      'running 2, done 4/7, failed 1 (max errors 0)',
    );
    expect(budgetText(2, 1, 6)).to.equal('error budget spent: 2 failed > max errors 1; 6 nodes skipped');
    expect(budgetText(1, 0, 1)).to.equal('error budget spent: 1 failed > max errors 0; 1 node skipped');
  });

  it('the tracker reports the start, each start of a rollout node and the spent budget; not for other jobs', () => {
    const t = new JobTracker(['a', 'b']);
    expect(
      t.applyEvent(ev('start', { max_concurrency: 1, max_errors: 0, search: 'role:web' })),
    ).to.deep.equal([
      { kind: 'status', status: 'voting' },
      { kind: 'start', search: 'role:web', maxConcurrency: 1, maxErrors: 0 },
    ]);
    expect(t.rollout).to.deep.equal({ maxConcurrency: 1, maxErrors: 0 });
    expect(t.applyEvent(ev('run_start', { node: 'a' }))).to.deep.equal([{ kind: 'started', node: 'a' }]);
    expect(t.applyEvent(ev('max_errors_exceeded', { failed: 1, max_errors: 0, skipped: 1 }))).to.deep.equal([
      { kind: 'budget', failed: 1, maxErrors: 0, skipped: 1 },
    ]);
    // A malformed budget event changes nothing.
    expect(t.applyEvent(ev('max_errors_exceeded', { failed: 'x' }))).to.deep.equal([]);
    const plainJob = new JobTracker(['a']);
    expect(plainJob.applyEvent(ev('start'))).to.deep.equal([{ kind: 'status', status: 'voting' }]);
    expect(plainJob.applyEvent(ev('run_start', { node: 'a' }))).to.deep.equal([]);
    expect(plainJob.rollout).to.equal(undefined);
  });

  it('takes the rollout from the job when no start event said it (polling)', () => {
    const t = new JobTracker(['a', 'b', 'c', 'd']);
    t.applyJob({
      status: 'running',
      nodes: { running: ['a'] },
      max_concurrency: '50%',
      max_errors: '50%',
    } as never);
    expect(t.rollout).to.deep.equal({ maxConcurrency: 2, maxErrors: 2 });
  });

  it('the live line shows the window; the spent budget goes above it', () => {
    const t = new JobTracker(['a', 'b', 'c']);
    t.applyEvent(ev('start', { max_concurrency: 2, max_errors: 1 }));
    t.applyEvent(ev('quorum_succeeded'));
    t.applyEvent(ev('run_start', { node: 'a' }));
    expect(liveLine(t, 1500, 0, 200)).to.equal(
      '⠋ Running  1.5s  running 1/2 (window 2), done 0/3, failed 0 (max errors 1)',
    );
    const out: string[] = [];
    const view = new LiveProgress(
      (s) => out.push(s),
      () => 200,
      () => 0,
    );
    view.start(t);
    view.update(t.applyEvent(ev('max_errors_exceeded', { failed: 2, max_errors: 1, skipped: 1 })), t);
    view.stop();
    expect(out.join('').replace(ANSI, '')).to.include(
      'Error budget spent: 2 failed > max errors 1; 1 node skipped.\n',
    );
  });

  it('results: exit status or signal, durations, and the success rule', () => {
    expect(exitText({ exit_status: 0, signal: null })).to.equal('0');
    expect(exitText({ exit_status: null, signal: 'SIGTERM' })).to.equal('SIGTERM');
    expect(exitText(undefined)).to.equal('-');
    expect(durationText('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.250Z')).to.equal('1.250 s');
    expect(durationText('2026-01-01T00:00:00.000Z', '2026-01-01T01:02:00.000Z')).to.equal('1h02m');
    expect(durationText(null, '2026-01-01T00:00:01.250Z')).to.equal('-');
    expect(durationText('2026-01-01T00:00:02.000Z', '2026-01-01T00:00:01.000Z')).to.equal('-');
    expect(jobSucceeded({ status: 'complete', nodes: { succeeded: ['a'], nacked: ['b'] } })).to.equal(true);
    expect(jobSucceeded({ status: 'complete', nodes: { succeeded: ['a'], skipped: ['b'] } })).to.equal(false);
    expect(jobSucceeded({ status: 'max_errors_exceeded', nodes: { succeeded: ['a'] } })).to.equal(false);
  });
});
