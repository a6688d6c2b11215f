// waitForJob with a stand-in API client: the feed that fails falls back to polling (the
// command tests only cover --no-feed), and the progress view is started before any change.
import { expect } from 'chai';
import { ApiUnreachableError, type Job, type ParsedFeedEvent, type PushApiClient } from '@push-jobs/protocol';
import { CliError } from '../../src/errors.js';
import { Reconnector } from '../../src/jobs/reconnect.js';
import type { JobTracker, ProgressChange } from '../../src/jobs/tracker.js';
import { waitForJob } from '../../src/jobs/wait.js';
import { feedEvent } from '../helpers/feed-events.js';

function job(status: string, nodes: Record<string, string[]>): Job {
  return { id: 'j1', command: 'echo', status, nodes } as unknown as Job;
}

/** A client whose feed is `feed` (or fails) and whose GET of the job answers `polls` in turn (an Error is thrown). */
function fakeClient(
  polls: (Job | Error)[],
  feed?: ParsedFeedEvent[],
): { client: PushApiClient; gets: () => number } {
  let gets = 0;
  const client = {
    jobEvents: async () => {
      if (feed === undefined) throw new Error('GET pushy/job_status_feed/j1 failed with 404');
      return {
        close: () => undefined,
        async *[Symbol.asyncIterator]() {
          yield* feed;
        },
      };
    },
    getJob: async () => {
      const answer = polls[Math.min(gets++, polls.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as PushApiClient;
  return { client, gets: () => gets };
}

/** waitForJob on job j1 with node web1, polling every 5 ms; `extra` overrides any of it. */
function waitFor(
  client: PushApiClient,
  extra: Partial<Parameters<typeof waitForJob>[0]>,
): ReturnType<typeof waitForJob> {
  return waitForJob({
    client,
    jobId: 'j1',
    nodes: ['web1'],
    pollIntervalMs: 5,
    useFeed: true,
    signal: new AbortController().signal,
    onChange: () => undefined,
    ...extra,
  });
}

const ev = feedEvent;

describe('waitForJob', () => {
  it('falls back to polling when the event feed fails, with the same changes', async () => {
    const { client, gets } = fakeClient([
      job('voting', {}),
      job('running', { running: ['web1'] }),
      job('complete', { succeeded: ['web1'] }),
    ]);
    const debug: string[] = [];
    const changes: ProgressChange[] = [];
    const final = await waitFor(client, {
      onChange: (c) => changes.push(...c),
      debug: (m) => debug.push(m),
    });
    expect(final?.status).to.equal('complete');
    expect(gets()).to.equal(3);
    expect(changes).to.deep.equal([
      { kind: 'status', status: 'voting' },
      { kind: 'status', status: 'running' },
      { kind: 'node', node: 'web1', state: 'succeeded' },
      { kind: 'status', status: 'complete' },
    ]);
    expect(debug).to.deep.equal([
      'the event feed failed (GET pushy/job_status_feed/j1 failed with 404); polling every 5 ms',
    ]);
  });

  it('follows the feed to job_complete, then takes the final state from one GET', async () => {
    const { client, gets } = fakeClient(
      [job('complete', { succeeded: ['web1'] })],
      [
        ev('start'),
        ev('run_complete', { node: 'web1', status: 'success' }),
        ev('job_complete', { status: 'complete' }),
      ],
    );
    const final = await waitFor(client, {});
    expect(final?.status).to.equal('complete');
    expect(gets()).to.equal(1);
  });

  it('starts the progress view with the tracker before the first change (the live line ticks)', async () => {
    const { client } = fakeClient([job('complete', { succeeded: ['web1'] })]);
    const calls: string[] = [];
    let started: JobTracker | undefined;
    await waitFor(client, {
      useFeed: false,
      onStart: (tracker) => {
        started = tracker;
        calls.push('start');
      },
      onChange: (_c, tracker) => {
        expect(tracker).to.equal(started);
        calls.push('change');
      },
    });
    expect(calls).to.deep.equal(['start', 'change']);
  });

  it('rides out a restart: the feed ends early, GETs are retried, the crashed job ends the wait', async () => {
    const refused = (): Error =>
      new ApiUnreachableError('cannot reach http://push: connect ECONNREFUSED', {
        method: 'GET',
        url: 'http://push/organizations/acme/pushy/jobs/j1',
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      });
    const { client, gets } = fakeClient(
      [refused(), refused(), job('crashed', { crashed: ['web1'] })],
      [ev('start'), ev('quorum_vote', { node: 'web1', status: 'success' }), ev('quorum_succeeded')],
    );
    let now = 0;
    const sleeps: number[] = [];
    const notices: string[] = [];
    const retry = new Reconnector({
      timeoutMs: 60_000,
      activity: 'waiting for job j1',
      notify: (line) => notices.push(line),
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
      random: () => 1,
    });
    const changes: ProgressChange[] = [];
    const final = await waitFor(client, { retry, onChange: (c) => changes.push(...c) });
    expect(final?.status).to.equal('crashed');
    expect(gets()).to.equal(3);
    expect(sleeps).to.deep.equal([250, 500]);
    expect(notices).to.deep.equal([
      'server unreachable (ECONNREFUSED); retrying for up to 60 s ...',
      'reconnected after 0.8 s',
    ]);
    expect(changes).to.deep.equal([
      { kind: 'status', status: 'voting' },
      { kind: 'status', status: 'running' },
      { kind: 'node', node: 'web1', state: 'crashed' },
      { kind: 'status', status: 'crashed' },
    ]);
  });

  it('without time to reconnect, the connection error ends the wait (exit 6)', async () => {
    const refused = new ApiUnreachableError('cannot reach http://push: socket hang up', {
      method: 'GET',
      url: 'u',
      cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    });
    const { client } = fakeClient([refused], []);
    const retry = new Reconnector({ timeoutMs: 0, activity: 'waiting for job j1', notify: () => undefined });
    let err: unknown;
    try {
      await waitFor(client, { retry });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(CliError);
    expect((err as CliError).exitCode).to.equal(6);
    expect((err as CliError).message).to.equal(
      'lost the connection to the server while waiting for job j1 (cannot reach http://push: socket hang up)',
    );
  });

  it('resolves undefined when the signal aborts the wait', async () => {
    const { client } = fakeClient([job('running', { running: ['web1'] })]);
    const controller = new AbortController();
    const waiting = waitFor(client, { pollIntervalMs: 1000, useFeed: false, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    expect(await waiting).to.equal(undefined);
  });
});
