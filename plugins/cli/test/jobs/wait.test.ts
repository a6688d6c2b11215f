// waitForJob with a stand-in API client: the feed that fails falls back to polling (the
// command tests only cover --no-feed), and the progress view is started before any change.
import { expect } from 'chai';
import type { Job, ParsedFeedEvent, PushApiClient } from '@push-jobs/protocol';
import type { JobTracker, ProgressChange } from '../../src/jobs/tracker.js';
import { waitForJob } from '../../src/jobs/wait.js';

function job(status: string, nodes: Record<string, string[]>): Job {
  return { id: 'j1', command: 'echo', status, nodes } as unknown as Job;
}

/** A client whose feed is `feed` (or fails) and whose GET of the job answers `polls` in turn. */
function fakeClient(polls: Job[], feed?: ParsedFeedEvent[]): { client: PushApiClient; gets: () => number } {
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
    getJob: async () => polls[Math.min(gets++, polls.length - 1)]!,
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

function ev(event: string, data: Record<string, unknown> = {}): ParsedFeedEvent {
  return { event, id: undefined, data: { timestamp: 't', ...data }, rawData: '' };
}

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

  it('resolves undefined when the signal aborts the wait', async () => {
    const { client } = fakeClient([job('running', { running: ['web1'] })]);
    const controller = new AbortController();
    const waiting = waitFor(client, { pollIntervalMs: 1000, useFeed: false, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    expect(await waiting).to.equal(undefined);
  });
});
