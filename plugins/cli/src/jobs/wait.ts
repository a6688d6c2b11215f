/**
 * Waiting for a job to finish: follow its event feed, and poll the job when the feed is not
 * available or breaks off (or when asked to poll only). The job's final state always comes
 * from a GET of the job. With a {@link Reconnector}, the GETs ride out a server restart: a
 * connection error is retried until the reconnect timeout, then the job is read again (a job
 * the restarted server marked `crashed` ends the wait as crashed).
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isFinalJobState, type Job, type ParsedFeedEvent, type PushApiClient } from '@push-jobs/protocol';
import type { Reconnector } from './reconnect.js';
import { JobTracker, type ProgressChange } from './tracker.js';

/** Idle limit of the feed: the server sends a keepalive every 15 s. */
export const FEED_IDLE_TIMEOUT_MS = 45_000;

/** Options of {@link waitForJob}. */
export interface WaitOptions {
  client: PushApiClient;
  jobId: string;
  /** The job's nodes, as requested. */
  nodes: readonly string[];
  /** Milliseconds between polls. */
  pollIntervalMs: number;
  /** Follow the event feed (else poll only). */
  useFeed: boolean;
  /** Stops waiting; {@link waitForJob} then resolves `undefined`. */
  signal: AbortSignal;
  /** Called once, before waiting starts, with the tracker the changes will update. */
  onStart?: (tracker: JobTracker) => void;
  /** Called with each batch of changes. */
  onChange: (changes: ProgressChange[], tracker: JobTracker) => void;
  /** Called with every feed event before it is applied (live output). */
  onEvent?: (event: ParsedFeedEvent) => void;
  /** Called once when the feed is left before the job ended (waiting then polls), with why. */
  onFeedLost?: (reason: string) => void;
  /** Debug messages (why the feed was left). */
  debug?: (message: string) => void;
  /** Retries the GETs of the job on connection errors; without it they throw at once. */
  retry?: Reconnector;
}

function isAbort(err: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (err instanceof Error && err.name === 'AbortError');
}

/**
 * Waits until the job is in a final state and returns it, or `undefined` when `signal`
 * aborted the wait. API errors of the polls (401, 404, unreachable, ...) are thrown.
 */
export async function waitForJob(opts: WaitOptions): Promise<Job | undefined> {
  const { client, jobId, signal } = opts;
  const tracker = new JobTracker(opts.nodes);
  opts.onStart?.(tracker);
  const report = (changes: ProgressChange[]): void => {
    if (changes.length > 0) opts.onChange(changes, tracker);
  };
  if (opts.useFeed && !signal.aborted) {
    try {
      const feed = await client.jobEvents(jobId, { signal, idleTimeoutMs: FEED_IDLE_TIMEOUT_MS });
      let ended = false;
      for await (const event of feed) {
        opts.debug?.(`event ${event.event} ${event.id ?? ''} ${event.rawData}`);
        opts.onEvent?.(event);
        report(tracker.applyEvent(event));
        if (event.event === 'job_complete' || event.event === 'summary') {
          ended = true;
          feed.close();
          break;
        }
      }
      if (!ended && !signal.aborted) {
        opts.debug?.(`the event feed ended before the job did; polling every ${opts.pollIntervalMs} ms`);
        opts.onFeedLost?.('the event feed ended before the job did');
      }
    } catch (err) {
      if (isAbort(err, signal)) return undefined;
      opts.debug?.(
        `the event feed failed (${(err as Error).message}); polling every ${opts.pollIntervalMs} ms`,
      );
      opts.onFeedLost?.(`the event feed failed: ${(err as Error).message}`);
    }
  }
  const getJob = (): Promise<Job> => client.getJob(jobId, { signal });
  for (;;) {
    if (signal.aborted) return undefined;
    let job: Job;
    try {
      job = await (opts.retry === undefined ? getJob() : opts.retry.call(getJob));
    } catch (err) {
      if (isAbort(err, signal)) return undefined;
      throw err;
    }
    report(tracker.applyJob(job));
    if (isFinalJobState(job.status)) return job;
    try {
      await sleep(opts.pollIntervalMs, undefined, { signal });
    } catch {
      return undefined;
    }
  }
}
