/**
 * Job events as the engine emits them and the SSE feeds serve them (spec 7).
 *
 * @module
 */
import type { JobEventFields, JobEventName } from '@push-jobs/protocol/internal';

/** Receives job events from the engine. Implemented by the feed hub. */
export interface JobEventSink {
  /**
   * Records an event of a job (`start`, `quorum_vote`, `quorum_succeeded`, `run_start`,
   * `run_complete`, `rehab`, `job_complete`). `fields` are the event's own fields, typed by the
   * event (`JobEventFields` in protocol); the sink adds `timestamp` first and assigns the id
   * `job-N`. `start` and `job_complete` also go to the org feed, with `job` added.
   */
  emit<K extends JobEventName>(org: string, jobId: string, event: K, fields: JobEventFields[K]): void;
  /** The job finished: live subscribers get the rest of the stream, then the response ends. */
  finish(org: string, jobId: string): void;
}
