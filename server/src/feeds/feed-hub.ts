/**
 * In-memory event logs behind the SSE feeds (spec 7.2, 7.3): one log per job, kept while the
 * job runs and for `wait_complete_time` seconds after it finished, and one log per org holding
 * copies of `start` and `job_complete`, kept for `org_feed_expiration` seconds. Subscribing
 * takes a snapshot and registers the listener in one synchronous step, so no event falls
 * between them.
 *
 * Every event the hub records gets a timestamp from the hub's clock ({@link EventClock}), with
 * real microseconds and strictly later than any the hub issued before, so the events of a feed
 * never share a timestamp and their timestamps increase in the order of the feed.
 *
 * Live output (`output` events, one per chunk a node streams) goes to the job's listeners only:
 * it is not kept in the job's log, so it takes no replay memory however much the nodes print. An
 * `output` event carries the id of the last event kept (`job-N`, `job-0` before any), so a reader
 * that reconnects with it as `Last-Event-ID` gets the kept events after it and misses no control
 * event; the output it missed is in the store (`GET .../output/NODE/CHANNEL`, and the per-node
 * output stream, which replays it). A late reader of the job feed gets the kept events, no
 * output.
 *
 * @module
 */
import type {
  JobEventFields,
  JobEventName,
  JobFeedMessage,
  OrgFeedEventName,
  OrgFeedMessage,
} from '@push-jobs/protocol/internal';
import type { JobEventSink } from './types.js';
import { EventClock } from './event-clock.js';
import {
  eventData,
  formatEventTimestamp,
  formatEventTimestampMicros,
  type SseEvent,
} from './event-format.js';

/** Receives the live events of one job. */
export interface JobFeedListener {
  /** A new event of the job. */
  onEvent(event: SseEvent): void;
  /** The job finished: no more events will come. */
  onEnd(): void;
}

/** Receives the live events of an org feed. */
export type OrgFeedListener = (event: SseEvent) => void;

/** What {@link FeedHub.subscribeJob} returns when the hub has the job's log. */
export interface JobSubscription {
  /** Events after the `Last-Event-ID` (all of them when it is absent or unknown). */
  events: SseEvent[];
  /** Whether the job already finished; then the listener was not registered. */
  finished: boolean;
  /** Removes the listener (harmless when it was not registered or already removed). */
  unsubscribe(): void;
}

/** What {@link FeedHub.subscribeOrg} returns. */
export interface OrgSubscription {
  /** The initial events (see {@link FeedHub.subscribeOrg}). */
  events: SseEvent[];
  /** Removes the listener. */
  unsubscribe(): void;
}

/** Settings and test hooks of a {@link FeedHub}. */
export interface FeedHubOptions {
  /** Seconds the org feed keeps events (`org_feed_expiration`). */
  orgFeedExpiration: number;
  /** Seconds a finished job's log is kept (`wait_complete_time`). */
  waitCompleteTime: number;
  /** The clock. @default () => new Date() */
  now?: () => Date;
  /**
   * A monotonic nanosecond clock that gives event timestamps their microseconds (see
   * {@link EventClock}); `null` for none. @default process.hrtime.bigint when `now` is not given,
   * none when it is (timestamps then follow `now`, 1 µs apart within one of its milliseconds)
   */
  monotonicNs?: (() => bigint) | null;
  /** Events kept per job; later ones are still streamed live, except `job_complete`, which is always kept. @default 100000 */
  maxEventsPerJob?: number;
  /** Events kept per org feed; the oldest go first. @default 100000 */
  maxEventsPerOrg?: number;
  /** Finished job logs kept at once; the oldest go first. @default 10000 */
  maxFinishedJobs?: number;
}

/** The `id` of the synthetic first event of an org feed whose `Last-Event-ID` is not retained. */
export const START_OF_HISTORY_ID = 'start_id';

interface JobLog {
  events: SseEvent[];
  /** Number of events numbered so far (ids are `job-1` .. `job-seq`). */
  seq: number;
  listeners: Set<JobFeedListener>;
  /** Clock time (ms) the job finished, or undefined while it runs. */
  finishedAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

interface OrgEntry {
  at: number;
  event: SseEvent;
}

interface OrgLog {
  events: OrgEntry[];
  seq: number;
  listeners: Set<OrgFeedListener>;
}

/** The job events the org feed copies (spec 7.3). */
type OrgCopiedEvent = JobEventName & OrgFeedEventName;

function isOrgCopied(event: JobEventName): event is OrgCopiedEvent {
  return event === 'start' || event === 'job_complete';
}

function jobKey(org: string, jobId: string): string {
  return `${org}\u0000${jobId}`;
}

/** Calls `fn`, keeping one faulty listener from breaking the others. */
function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // A listener's failure is its own (its connection is closing); the feed goes on.
  }
}

/**
 * The job and org event logs. The engine feeds it through {@link JobEventSink}; the feed routes
 * read it.
 */
export class FeedHub implements JobEventSink {
  readonly #jobs = new Map<string, JobLog>();
  /** Per org; kept for the process's life so `org-N` ids are never reused. */
  readonly #orgs = new Map<string, OrgLog>();
  /** Keys of finished job logs, oldest first. */
  readonly #finished = new Set<string>();
  readonly #queue: (() => void)[] = [];
  #delivering = false;
  readonly #now: () => Date;
  readonly #clock: EventClock;
  readonly #expirationMs: number;
  readonly #waitCompleteMs: number;
  readonly #maxEventsPerJob: number;
  readonly #maxEventsPerOrg: number;
  readonly #maxFinishedJobs: number;

  /** Creates an empty hub. */
  constructor(opts: FeedHubOptions) {
    this.#now = opts.now ?? (() => new Date());
    const now = this.#now;
    this.#clock = new EventClock({
      wallMs: () => now().getTime(),
      monotonicNs:
        opts.monotonicNs !== undefined ? opts.monotonicNs : opts.now === undefined ? undefined : null,
    });
    this.#expirationMs = opts.orgFeedExpiration * 1000;
    this.#waitCompleteMs = opts.waitCompleteTime * 1000;
    this.#maxEventsPerJob = opts.maxEventsPerJob ?? 100_000;
    this.#maxEventsPerOrg = opts.maxEventsPerOrg ?? 100_000;
    this.#maxFinishedJobs = opts.maxFinishedJobs ?? 10_000;
  }

  /** Records an event of a job (ids `job-N`), and copies `start` and `job_complete` to the org feed. */
  emit<K extends JobEventName>(org: string, jobId: string, event: K, fields: JobEventFields[K]): void {
    const key = jobKey(org, jobId);
    let log = this.#liveJob(key);
    if (log?.finishedAt !== undefined) return; // nothing follows job_complete
    if (log === undefined) {
      log = { events: [], seq: 0, listeners: new Set(), finishedAt: undefined, timer: undefined };
      this.#jobs.set(key, log);
    }
    const now = this.#now();
    const timestamp = this.nextTimestamp();
    if (event === 'output') {
      // Live output is streamed, never kept for replay (see the module documentation).
      const data = eventData(timestamp, fields as JobEventFields['output']);
      const sse: JobFeedMessage = { event, id: `job-${log.seq}`, data };
      const listeners = [...log.listeners];
      this.#deliver(() => listeners.forEach((l) => safely(() => l.onEvent(sse))));
      return;
    }
    log.seq += 1;
    // The signature ties `fields` to `event`; the union member is the one `event` names.
    const sse = { event, id: `job-${log.seq}`, data: eventData(timestamp, fields) } as JobFeedMessage;
    if (log.events.length < this.#maxEventsPerJob || event === 'job_complete') log.events.push(sse);
    const listeners = [...log.listeners];
    this.#deliver(() => listeners.forEach((l) => safely(() => l.onEvent(sse))));

    if (isOrgCopied(event))
      this.#emitOrg(org, now, timestamp, jobId, event, fields as JobEventFields[OrgCopiedEvent]);
  }

  /**
   * The job finished: its listeners are told, and its log stays for `wait_complete_time`
   * seconds for late readers, then goes.
   */
  finish(org: string, jobId: string): void {
    const key = jobKey(org, jobId);
    let log = this.#liveJob(key);
    if (log?.finishedAt !== undefined) return;
    if (log === undefined) {
      log = { events: [], seq: 0, listeners: new Set(), finishedAt: undefined, timer: undefined };
      this.#jobs.set(key, log);
    }
    log.finishedAt = this.#now().getTime();
    const listeners = [...log.listeners];
    log.listeners.clear();
    this.#deliver(() => listeners.forEach((l) => safely(() => l.onEnd())));

    this.#finished.add(key);
    while (this.#finished.size > this.#maxFinishedJobs) {
      const oldest = this.#finished.values().next().value;
      if (oldest === undefined) break;
      this.#drop(oldest);
    }
    const timer = setTimeout(() => this.#drop(key), this.#waitCompleteMs);
    timer.unref();
    log.timer = timer;
  }

  /**
   * A timestamp from the hub's clock, later than every one it issued before: for an event the
   * routes make themselves (`summary`).
   */
  nextTimestamp(): string {
    return formatEventTimestampMicros(this.#clock.next());
  }

  /** Whether the hub holds the job's log (it runs, or finished less than `wait_complete_time` ago). */
  hasJob(org: string, jobId: string): boolean {
    return this.#liveJob(jobKey(org, jobId)) !== undefined;
  }

  /**
   * Takes the job's events after `lastEventId` (all when it is absent or not in the log) and,
   * unless the job already finished, registers `listener` in the same step. Returns
   * `undefined` when the hub has no log for the job.
   */
  subscribeJob(
    org: string,
    jobId: string,
    lastEventId: string | undefined,
    listener: JobFeedListener,
  ): JobSubscription | undefined {
    const log = this.#liveJob(jobKey(org, jobId));
    if (log === undefined) return undefined;
    const events = log.events.slice(afterIndex(log.events, lastEventId));
    const finished = log.finishedAt !== undefined;
    if (!finished) log.listeners.add(listener);
    return { events, finished, unsubscribe: () => void log.listeners.delete(listener) };
  }

  /**
   * Subscribes to the org feed (spec 7.3). Without `lastEventId`: no history. With a retained
   * id: the events after it. With an id that is not retained (or an empty log): a synthetic
   * `start_of_history` event (id `start_id`, timestamp now minus the expiration), then every
   * retained event.
   */
  subscribeOrg(org: string, lastEventId: string | undefined, listener: OrgFeedListener): OrgSubscription {
    const log = this.#org(org);
    const now = this.#now().getTime();
    this.#prune(log, now);
    let events: SseEvent[] = [];
    if (lastEventId !== undefined) {
      const index = log.events.findIndex((e) => e.event.id === lastEventId);
      if (index >= 0) {
        events = log.events.slice(index + 1).map((e) => e.event);
      } else {
        const start: SseEvent = {
          event: 'start_of_history',
          id: START_OF_HISTORY_ID,
          data: { timestamp: formatEventTimestamp(new Date(now - this.#expirationMs)) },
        };
        events = [start, ...log.events.map((e) => e.event)];
      }
    }
    log.listeners.add(listener);
    return {
      events,
      unsubscribe: () => void log.listeners.delete(listener),
    };
  }

  /** Number of events kept for replay in a job's log (for tests and diagnostics). */
  jobEventCount(org: string, jobId: string): number {
    return this.#jobs.get(jobKey(org, jobId))?.events.length ?? 0;
  }

  /** Number of live listeners on a job feed (for tests and diagnostics). */
  jobListenerCount(org: string, jobId: string): number {
    return this.#jobs.get(jobKey(org, jobId))?.listeners.size ?? 0;
  }

  /** Number of live listeners on an org feed (for tests and diagnostics). */
  orgListenerCount(org: string): number {
    return this.#orgs.get(org)?.listeners.size ?? 0;
  }

  /** Drops every log and timer; listeners of unfinished jobs are told the stream ended. */
  close(): void {
    for (const log of this.#jobs.values()) {
      if (log.timer !== undefined) clearTimeout(log.timer);
      for (const listener of log.listeners) safely(() => listener.onEnd());
    }
    this.#jobs.clear();
    this.#finished.clear();
    this.#orgs.clear();
  }

  /**
   * Runs a delivery now, or after the current one when a listener emits while being called, so
   * every listener sees events in the order they were emitted. The listeners of a delivery are
   * the ones registered when the event was recorded, which keeps snapshots and live events
   * from overlapping.
   */
  #deliver(fn: () => void): void {
    this.#queue.push(fn);
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) next();
    } finally {
      this.#delivering = false;
    }
  }

  /** The job's log, dropping it first when its retention is over by the hub's clock. */
  #liveJob(key: string): JobLog | undefined {
    const log = this.#jobs.get(key);
    if (log?.finishedAt !== undefined && this.#now().getTime() - log.finishedAt >= this.#waitCompleteMs) {
      this.#drop(key);
      return undefined;
    }
    return log;
  }

  #drop(key: string): void {
    const log = this.#jobs.get(key);
    if (log?.timer !== undefined) clearTimeout(log.timer);
    this.#jobs.delete(key);
    this.#finished.delete(key);
  }

  #org(org: string): OrgLog {
    let log = this.#orgs.get(org);
    if (log === undefined) {
      log = { events: [], seq: 0, listeners: new Set() };
      this.#orgs.set(org, log);
    }
    return log;
  }

  #emitOrg(
    org: string,
    now: Date,
    timestamp: string,
    jobId: string,
    event: OrgCopiedEvent,
    fields: JobEventFields[OrgCopiedEvent],
  ): void {
    const log = this.#org(org);
    const at = now.getTime();
    this.#prune(log, at);
    log.seq += 1;
    const rest = Object.entries(fields).filter(([k]) => k !== 'job');
    const data = eventData(timestamp, { job: jobId, ...Object.fromEntries(rest) });
    const sse = { event, id: `org-${log.seq}`, data } as OrgFeedMessage;
    log.events.push({ at, event: sse });
    if (log.events.length > this.#maxEventsPerOrg)
      log.events.splice(0, log.events.length - this.#maxEventsPerOrg);
    const listeners = [...log.listeners];
    this.#deliver(() => listeners.forEach((l) => safely(() => l(sse))));
  }

  /** Discards the org events older than the expiration. */
  #prune(log: OrgLog, now: number): void {
    const cutoff = now - this.#expirationMs;
    let n = 0;
    while (n < log.events.length && log.events[n]!.at <= cutoff) n += 1;
    if (n > 0) log.events.splice(0, n);
  }
}

/** Index of the first event after `lastEventId` in `events` (0 when absent or unknown). */
function afterIndex(events: readonly SseEvent[], lastEventId: string | undefined): number {
  if (lastEventId === undefined) return 0;
  const m = /^job-(\d+)$/.exec(lastEventId);
  if (m !== null) {
    const n = Number(m[1]);
    if (events[n - 1]?.id === lastEventId) return n;
  }
  const index = events.findIndex((e) => e.id === lastEventId);
  return index + 1;
}
