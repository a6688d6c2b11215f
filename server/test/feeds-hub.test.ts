import { expect } from 'chai';
import { formatEventTimestampMicros, parseEventTimestamp, type SseEvent } from '../src/feeds/event-format.js';
import { MAX_CLOCK_DRIFT_US } from '../src/feeds/event-clock.js';
import { FeedHub, type FeedHubOptions, type JobFeedListener } from '../src/feeds/feed-hub.js';
import { START } from './helpers/feed-events.js';

const T0 = Date.UTC(2025, 10, 24, 10, 0, 0, 123);

class FakeClock {
  ms = T0;
  now = (): Date => new Date(this.ms);
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

function recorder(): JobFeedListener & { events: SseEvent[]; ended: number } {
  const r = {
    events: [] as SseEvent[],
    ended: 0,
    onEvent: (e: SseEvent) => void r.events.push(e),
    onEnd: () => void (r.ended += 1),
  };
  return r;
}

const ids = (events: readonly SseEvent[]): string[] => events.map((e) => e.id);
/** The `job` of an org feed event's data. */
const jobOf = (e: SseEvent): unknown => (e.data as { job?: unknown }).job;

describe('feeds: hub', () => {
  let clock: FakeClock;
  let hub: FeedHub;
  const make = (opts: Partial<FeedHubOptions> = {}): FeedHub =>
    new FeedHub({ orgFeedExpiration: 60, waitCompleteTime: 5, now: clock.now, ...opts });

  beforeEach(() => {
    clock = new FakeClock();
    hub = make();
  });
  afterEach(() => hub.close());

  describe('job logs', () => {
    it('numbers events job-1, job-2, ... per job, with timestamp first', () => {
      hub.emit('acme', 'j1', 'start', { ...START, command: 'uptime', quorum: 1 });
      hub.emit('acme', 'j1', 'quorum_vote', { node: 'n1', status: 'success' });
      hub.emit('acme', 'j2', 'start', { ...START, command: 'ls' });
      hub.emit('other', 'j1', 'start', { ...START, command: 'pwd' });
      const sub = hub.subscribeJob('acme', 'j1', undefined, recorder())!;
      expect(ids(sub.events)).to.deep.equal(['job-1', 'job-2']);
      expect(sub.events[0]).to.deep.equal({
        event: 'start',
        id: 'job-1',
        data: { timestamp: '2025-11-24 10:00:00.123000Z', ...START, command: 'uptime', quorum: 1 },
      });
      expect(Object.keys(sub.events[1]!.data)).to.deep.equal(['timestamp', 'node', 'status']);
      expect(ids(hub.subscribeJob('acme', 'j2', undefined, recorder())!.events)).to.deep.equal(['job-1']);
      expect(ids(hub.subscribeJob('other', 'j1', undefined, recorder())!.events)).to.deep.equal(['job-1']);
      expect(hub.hasJob('acme', 'j1')).to.equal(true);
      expect(hub.hasJob('acme', 'nope')).to.equal(false);
      expect(hub.subscribeJob('acme', 'nope', undefined, recorder())).to.equal(undefined);
    });

    it('resumes after Last-Event-ID, and sends everything for an unknown one', () => {
      for (const node of ['a', 'b', 'c']) hub.emit('acme', 'j', 'run_start', { node });
      const after = (id: string | undefined) => ids(hub.subscribeJob('acme', 'j', id, recorder())!.events);
      expect(after('job-1')).to.deep.equal(['job-2', 'job-3']);
      expect(after('job-3')).to.deep.equal([]);
      expect(after('job-9')).to.deep.equal(['job-1', 'job-2', 'job-3']);
      expect(after('org-1')).to.deep.equal(['job-1', 'job-2', 'job-3']);
      expect(after(undefined)).to.deep.equal(['job-1', 'job-2', 'job-3']);
    });

    it('streams later events to a subscriber, without repeating the snapshot', () => {
      hub.emit('acme', 'j', 'start', START);
      const r = recorder();
      const sub = hub.subscribeJob('acme', 'j', undefined, r)!;
      expect(sub.finished).to.equal(false);
      hub.emit('acme', 'j', 'quorum_succeeded', {});
      hub.emit('acme', 'j', 'run_start', { node: 'n' });
      expect(ids(r.events)).to.deep.equal(['job-2', 'job-3']);
      sub.unsubscribe();
      hub.emit('acme', 'j', 'run_complete', { node: 'n', status: 'success' });
      expect(r.events).to.have.length(2);
      expect(hub.jobListenerCount('acme', 'j')).to.equal(0);
    });

    it('subscribes atomically: an event emitted during a subscription is in the snapshot or live, once', () => {
      hub.emit('acme', 'j', 'start', START);
      const late = recorder();
      let lateSnapshot: SseEvent[] = [];
      hub.subscribeJob('acme', 'j', undefined, {
        onEvent: (e) => {
          // Another client subscribes while this event is being delivered.
          if (e.id === 'job-2') lateSnapshot = hub.subscribeJob('acme', 'j', undefined, late)!.events;
        },
        onEnd: () => undefined,
      });
      hub.emit('acme', 'j', 'quorum_vote', { node: 'n', status: 'success' });
      hub.emit('acme', 'j', 'quorum_succeeded', {});
      expect(ids(lateSnapshot)).to.deep.equal(['job-1', 'job-2']);
      expect(ids(late.events)).to.deep.equal(['job-3']);
    });

    it('delivers events in order even when a listener emits while being called', () => {
      const first = recorder();
      const second = recorder();
      hub.emit('acme', 'j', 'start', START);
      hub.subscribeJob('acme', 'j', 'job-1', {
        onEvent: (e) => {
          first.onEvent(e);
          if (e.id === 'job-2') hub.emit('acme', 'j', 'run_start', { node: 'x' });
        },
        onEnd: first.onEnd,
      });
      hub.subscribeJob('acme', 'j', 'job-1', second);
      hub.emit('acme', 'j', 'quorum_succeeded', {});
      expect(ids(first.events)).to.deep.equal(['job-2', 'job-3']);
      expect(ids(second.events)).to.deep.equal(['job-2', 'job-3']);
    });

    it('a faulty listener does not stop the others', () => {
      hub.emit('acme', 'j', 'start', START);
      const good = recorder();
      hub.subscribeJob('acme', 'j', undefined, {
        onEvent: () => {
          throw new Error('boom');
        },
        onEnd: () => undefined,
      });
      hub.subscribeJob('acme', 'j', undefined, good);
      hub.emit('acme', 'j', 'quorum_succeeded', {});
      expect(ids(good.events)).to.deep.equal(['job-2']);
    });

    it('finish tells the listeners, keeps the log for wait_complete_time, then drops it', () => {
      hub.emit('acme', 'j', 'start', START);
      const r = recorder();
      hub.subscribeJob('acme', 'j', undefined, r);
      hub.emit('acme', 'j', 'job_complete', { status: 'complete' });
      hub.finish('acme', 'j');
      expect(ids(r.events)).to.deep.equal(['job-2']);
      expect(r.ended).to.equal(1);
      expect(hub.jobListenerCount('acme', 'j')).to.equal(0);

      clock.advance(4.9);
      const late = recorder();
      const sub = hub.subscribeJob('acme', 'j', 'job-1', late)!;
      expect(sub.finished).to.equal(true);
      expect(ids(sub.events)).to.deep.equal(['job-2']);
      expect(hub.jobListenerCount('acme', 'j')).to.equal(0);

      hub.emit('acme', 'j', 'rehab', { node: 'n' }); // nothing follows job_complete
      expect(ids(hub.subscribeJob('acme', 'j', undefined, late)!.events)).to.deep.equal(['job-1', 'job-2']);
      hub.finish('acme', 'j'); // twice is harmless
      expect(r.ended).to.equal(1);

      clock.advance(0.1);
      expect(hub.hasJob('acme', 'j')).to.equal(false);
      expect(hub.subscribeJob('acme', 'j', undefined, late)).to.equal(undefined);
    });

    it('drops a finished log on its own timer', async () => {
      const real = new FeedHub({ orgFeedExpiration: 60, waitCompleteTime: 0.05 });
      real.emit('acme', 'j', 'start', START);
      real.finish('acme', 'j');
      expect(real.hasJob('acme', 'j')).to.equal(true);
      await new Promise((resolve) => setTimeout(resolve, 120));
      expect(real.hasJob('acme', 'j')).to.equal(false);
      real.close();
    });

    it('bounds memory: events per job (job_complete always kept) and finished logs', () => {
      hub.close();
      hub = make({ maxEventsPerJob: 3, maxFinishedJobs: 2 });
      const r = recorder();
      hub.emit('acme', 'j', 'start', START);
      hub.subscribeJob('acme', 'j', undefined, r);
      for (const node of ['a', 'b', 'c', 'd']) hub.emit('acme', 'j', 'run_start', { node });
      hub.emit('acme', 'j', 'job_complete', { status: 'complete' });
      expect(ids(r.events)).to.deep.equal(['job-2', 'job-3', 'job-4', 'job-5', 'job-6']);
      expect(ids(hub.subscribeJob('acme', 'j', undefined, recorder())!.events)).to.deep.equal([
        'job-1',
        'job-2',
        'job-3',
        'job-6',
      ]);
      for (const id of ['f1', 'f2', 'f3']) {
        hub.emit('acme', id, 'start', START);
        hub.finish('acme', id);
      }
      expect(['j', 'f1', 'f2', 'f3'].map((id) => hub.hasJob('acme', id))).to.deep.equal([
        true,
        false,
        true,
        true,
      ]);
    });

    it('close ends live subscribers and forgets everything', () => {
      const r = recorder();
      hub.emit('acme', 'j', 'start', START);
      hub.subscribeJob('acme', 'j', undefined, r);
      hub.close();
      expect(r.ended).to.equal(1);
      expect(hub.hasJob('acme', 'j')).to.equal(false);
    });
  });

  describe('org logs', () => {
    it('copies start and job_complete with ids org-N per org and job added', () => {
      const live: SseEvent[] = [];
      const sub = hub.subscribeOrg('acme', undefined, (e) => live.push(e));
      expect(sub.events).to.deep.equal([]);
      hub.emit('acme', 'j1', 'start', { ...START, command: 'uptime', user: 'alice' });
      hub.emit('acme', 'j1', 'quorum_vote', { node: 'n', status: 'success' });
      hub.emit('other', 'k1', 'start', { ...START, command: 'ls' });
      hub.emit('acme', 'j2', 'start', { ...START, command: 'ls' });
      hub.emit('acme', 'j1', 'job_complete', { status: 'complete' });
      expect(live.map((e) => [e.event, e.id, jobOf(e)])).to.deep.equal([
        ['start', 'org-1', 'j1'],
        ['start', 'org-2', 'j2'],
        ['job_complete', 'org-3', 'j1'],
      ]);
      expect(live[0]!.data).to.deep.equal({
        timestamp: '2025-11-24 10:00:00.123000Z',
        job: 'j1',
        ...START,
      });
      expect(Object.keys(live[0]!.data)).to.deep.equal([
        'timestamp',
        'job',
        'command',
        'run_timeout',
        'quorum',
        'node_count',
        'user',
        'capture',
      ]);
      expect(ids(hub.subscribeOrg('other', 'org-0', () => undefined).events)).to.deep.equal([
        'start_id',
        'org-1',
      ]);
      sub.unsubscribe();
      expect(hub.orgListenerCount('acme')).to.equal(0);
    });

    it('gives no history without Last-Event-ID, the events after a retained one', () => {
      hub.emit('acme', 'j1', 'start', START);
      hub.emit('acme', 'j1', 'job_complete', { status: 'complete' });
      hub.emit('acme', 'j2', 'start', START);
      expect(hub.subscribeOrg('acme', undefined, () => undefined).events).to.deep.equal([]);
      expect(ids(hub.subscribeOrg('acme', 'org-1', () => undefined).events)).to.deep.equal([
        'org-2',
        'org-3',
      ]);
      expect(ids(hub.subscribeOrg('acme', 'org-3', () => undefined).events)).to.deep.equal([]);
    });

    it('starts with start_of_history for an unknown id or an empty log', () => {
      const empty = hub.subscribeOrg('acme', 'whatever', () => undefined).events;
      expect(empty).to.deep.equal([
        { event: 'start_of_history', id: 'start_id', data: { timestamp: '2025-11-24 09:59:00.123000Z' } },
      ]);
      hub.emit('acme', 'j1', 'start', START);
      clock.advance(10);
      hub.emit('acme', 'j1', 'job_complete', { status: 'complete' });
      const events = hub.subscribeOrg('acme', 'org-77', () => undefined).events;
      expect(ids(events)).to.deep.equal(['start_id', 'org-1', 'org-2']);
      expect(events[0]!.data).to.deep.equal({ timestamp: '2025-11-24 09:59:10.123000Z' });
    });

    it('discards events older than org_feed_expiration on read and write', () => {
      hub.emit('acme', 'j1', 'start', START);
      clock.advance(30);
      hub.emit('acme', 'j2', 'start', START);
      clock.advance(30); // org-1 is now 60 s old
      expect(ids(hub.subscribeOrg('acme', 'org-1', () => undefined).events)).to.deep.equal([
        'start_id',
        'org-2',
      ]);
      clock.advance(31);
      hub.emit('acme', 'j2', 'job_complete', { status: 'complete' });
      expect(ids(hub.subscribeOrg('acme', 'x', () => undefined).events)).to.deep.equal(['start_id', 'org-3']);
      clock.advance(61);
      expect(ids(hub.subscribeOrg('acme', 'org-3', () => undefined).events)).to.deep.equal(['start_id']);
      hub.emit('acme', 'j3', 'start', START);
      expect(ids(hub.subscribeOrg('acme', 'x', () => undefined).events)).to.deep.equal(['start_id', 'org-4']);
    });

    it('bounds the org log', () => {
      hub.close();
      hub = make({ maxEventsPerOrg: 2 });
      for (const j of ['a', 'b', 'c']) hub.emit('acme', j, 'start', START);
      expect(ids(hub.subscribeOrg('acme', 'x', () => undefined).events)).to.deep.equal([
        'start_id',
        'org-2',
        'org-3',
      ]);
    });
  });

  describe('timestamps', () => {
    const stamp = (e: SseEvent): number => parseEventTimestamp(e.data.timestamp);
    const increasing = (events: readonly SseEvent[]): boolean =>
      events.every((e, i) => i === 0 || stamp(e) > stamp(events[i - 1]!));

    it('10,000 events emitted in one tick: timestamps strictly increase in every feed, ids are unique', () => {
      const before = Date.now();
      const real = new FeedHub({ orgFeedExpiration: 60, waitCompleteTime: 5 });
      const all: SseEvent[] = [];
      const org: SseEvent[] = [];
      real.subscribeOrg('acme', undefined, (e) => org.push(e));
      // 100 jobs of 100 events (start, 98 run_start, job_complete), interleaved, in one tick.
      const jobs = Array.from({ length: 100 }, (_, j) => `j${j}`);
      for (const job of jobs) {
        real.emit('acme', job, 'start', { ...START, command: 'uptime' });
        real.subscribeJob('acme', job, undefined, { onEvent: (e) => all.push(e), onEnd: () => undefined });
      }
      for (let n = 1; n <= 98; n++)
        for (const job of jobs) real.emit('acme', job, 'run_start', { node: `n${n}` });
      for (const job of jobs) real.emit('acme', job, 'job_complete', { status: 'complete' });
      const after = Date.now();

      const feeds = jobs.map((job) => real.subscribeJob('acme', job, undefined, recorder())!.events);
      expect(feeds.flat()).to.have.length(10_000);
      for (const events of feeds) {
        expect(increasing(events)).to.equal(true);
        expect(ids(events)).to.deep.equal(events.map((_, i) => `job-${i + 1}`));
      }
      // One clock for the whole hub: the events of every job, in the order they were emitted.
      expect(all).to.have.length(100 * 99);
      expect(increasing(all)).to.equal(true);
      expect(new Set(all.map(stamp)).size).to.equal(all.length);

      expect(org).to.have.length(200);
      expect(increasing(org)).to.equal(true);
      expect(new Set(ids(org)).size).to.equal(200);
      expect(ids(org)).to.deep.equal(org.map((_, i) => `org-${i + 1}`));

      // Every timestamp is in the wire format and parses back to itself, not before the hub.
      for (const e of [...feeds.flat(), ...org]) {
        const text = e.data.timestamp as string;
        expect(text).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}Z$/);
        expect(formatEventTimestampMicros(stamp(e))).to.equal(text);
      }
      expect(stamp(feeds[0]![0]!)).to.be.at.least(before * 1000);
      expect(new Set(feeds.flat().map((e) => stamp(e) % 1000)).size).to.be.greaterThan(1);
      // At most the clock's re-anchoring bound, its millisecond and one 1 µs step per event ahead.
      expect(stamp(feeds.at(-1)!.at(-1)!)).to.be.at.most(after * 1000 + MAX_CLOCK_DRIFT_US + 1000 + 10_000);
      real.close();
    });

    it('a clock going backwards still yields increasing timestamps', () => {
      const r = recorder();
      hub.emit('acme', 'j', 'start', START);
      hub.subscribeJob('acme', 'j', undefined, r);
      for (let i = 0; i < 10; i++) {
        clock.advance(-1); // one second back before every event
        hub.emit('acme', 'j', 'run_start', { node: `n${i}` });
      }
      const events = [...hub.subscribeJob('acme', 'j', undefined, recorder())!.events];
      expect(events.map((e) => e.data.timestamp)).to.deep.equal(
        Array.from({ length: 11 }, (_, i) => `2025-11-24 10:00:00.1230${String(i).padStart(2, '0')}Z`),
      );
      expect(increasing(events)).to.equal(true);
      clock.advance(20); // ahead again: the timestamps follow the clock
      hub.emit('acme', 'j', 'job_complete', { status: 'complete' });
      expect(r.events.at(-1)!.data.timestamp).to.equal('2025-11-24 10:00:10.123000Z');
    });

    it('a monotonic clock supplies the microseconds; a wall clock set back does not reorder them', () => {
      let ns = 0n;
      hub.close();
      hub = make({ monotonicNs: () => ns });
      hub.emit('acme', 'j', 'start', START);
      ns += 456_789n;
      hub.emit('acme', 'j', 'quorum_vote', { node: 'n', status: 'success' });
      clock.advance(-30);
      ns += 1_000n;
      hub.emit('acme', 'j', 'quorum_succeeded', {});
      const events = hub.subscribeJob('acme', 'j', undefined, recorder())!.events;
      expect(events.map((e) => e.data.timestamp)).to.deep.equal([
        '2025-11-24 10:00:00.123000Z',
        '2025-11-24 10:00:00.123456Z',
        '2025-11-24 10:00:00.123457Z',
      ]);
    });

    it('nextTimestamp (the summary event) comes from the same clock', () => {
      hub.emit('acme', 'j', 'start', START);
      expect(hub.nextTimestamp()).to.equal('2025-11-24 10:00:00.123001Z');
      hub.emit('acme', 'j', 'quorum_succeeded', {});
      const events = hub.subscribeJob('acme', 'j', undefined, recorder())!.events;
      expect(events.at(-1)!.data.timestamp).to.equal('2025-11-24 10:00:00.123002Z');
    });
  });
});
