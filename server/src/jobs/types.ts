/**
 * What the HTTP routes need from the job engine: {@link PushJobEngine} (the job state machines)
 * implements it; without a broker, {@link IdleEngine} stands in (jobs stay `new`).
 *
 * @module
 */
import type { JobRecord } from '../store/types.js';

/** Runs jobs. */
export interface JobEngine {
  /** Called once the job and its nodes are stored; starts voting. */
  startJob(job: JobRecord, requestor: string): Promise<void>;
  /**
   * Aborts a job that has not finished: tells its nodes to stop and ends it `aborted`.
   * Resolves to the job as it is afterwards, or `undefined` when there is no such job.
   */
  abortJob(org: string, id: string, requestor: string): Promise<JobRecord | undefined>;
  /** Ids of the jobs that currently have a live state machine. */
  liveJobIds(): string[];
  /** False while the server takes no new jobs (a draining cluster instance). @default true */
  acceptsJobs?(): boolean;
  /** The id of the server running the jobs, recorded as their owner (none: jobs stay unowned). */
  readonly serverId?: string;
}
