/**
 * The contract between the agent's connection (which speaks the wire protocol) and its job
 * runner (which decides and runs). The connection calls the runner for `commit`, `run` and
 * `abort`; the runner answers through the `reply` callback it was given.
 *
 * @module
 */
import type { AgentJobState } from '@push-jobs/protocol/lite';

/** The optional parts of a `commit`. */
export interface CommitOptions {
  user?: string;
  dir?: string;
  env?: Record<string, string>;
  capture?: boolean;
  /** `raw:...` or `base64:...`. */
  file?: string;
}

/** A message the runner wants sent (the connection adds the envelope and signs it). */
export interface RunnerReply {
  type: 'ack_commit' | 'nack_commit' | 'ack_run' | 'nack_run' | 'succeeded' | 'failed' | 'aborted';
  jobId: string | null;
  /** `stdout`, `stderr` (and `stdout_truncated`/`stderr_truncated`) for succeeded/failed. */
  fields?: Record<string, unknown>;
}

/** What the connection needs from the job runner. */
export interface JobRunnerPort {
  /** A `commit`: answers `ack_commit` or `nack_commit` (after taking a lock, for lock entries). */
  commit(jobId: string, command: string, options: CommitOptions): void;
  /** A `run`: answers `ack_run` and later `succeeded`/`failed`, or `nack_run`. */
  run(jobId: string): void;
  /** An `abort`: stops whatever runs (the whole process group), answers `aborted`. */
  abort(): void;
  /** The state heartbeats report. */
  state(): { state: AgentJobState; jobId: string | null };
}
