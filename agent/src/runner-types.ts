/**
 * The contract between the agent's connection (which speaks the wire protocol) and its job
 * runner (which decides and runs). The connection calls the runner for `commit`, `run` and
 * `abort`; the runner answers through the `reply` callback it was given.
 *
 * @module
 */
import type { AgentJobState, ClientOutputFields, ClientResultFields } from '@push-jobs/protocol/lite';
import type { OutputChunk } from './output-stream.js';

/** The optional parts of a `commit`. */
export interface CommitOptions {
  user?: string;
  dir?: string;
  env?: Record<string, string>;
  capture?: boolean;
  /** `raw:...` or `base64:...`. */
  file?: string;
  /**
   * The job's run timeout in seconds, when the server sent it (beyond the original): the
   * runner stops the process at this bound plus a grace period, even if the server is gone.
   */
  runTimeout?: number;
  /**
   * The server's voting timeout in seconds, when sent (beyond the original): how long the runner
   * waits for `run` after acking before it releases the commit.
   */
  votingTimeout?: number;
  /**
   * How long a committed job may have to wait for `run`, in seconds, when the server sent it (a
   * rollout: the node's turn may come long after the vote). Replaces {@link votingTimeout} as the
   * runner's patience for `run`.
   */
  runWaitTimeout?: number;
  /**
   * `output_stream_max_bytes`, when the server sent it (ours; the original never does): the
   * server takes `output` messages for this job, up to this many bytes of output. With
   * {@link capture}, the runner streams the command's output while it runs; without it, the
   * agent sends no `output` message at all (the original message flow).
   */
  outputStreamMaxBytes?: number;
}

/**
 * What `succeeded`/`failed` carry: the output (when captured), then how the command ended (ours:
 * exit status or signal, start and end times), in the order the protocol lists them.
 */
export type RunnerResultFields = ClientOutputFields & ClientResultFields;

/**
 * A message the runner wants sent (the connection adds the envelope and signs it): a job-control
 * reply, or a chunk of live output ({@link RunnerOutput}).
 */
export type RunnerReply = RunnerControlReply | RunnerOutput;

/** A job-control reply: sent in order, never held back by output. */
export interface RunnerControlReply {
  type: 'ack_commit' | 'nack_commit' | 'ack_run' | 'nack_run' | 'succeeded' | 'failed' | 'aborted';
  jobId: string | null;
  /**
   * For succeeded/failed: `stdout`, `stderr` (and `stdout_truncated`/`stderr_truncated`) when
   * captured, then `exit_status`, `signal`, `started_at`, `ended_at`.
   */
  fields?: RunnerResultFields;
}

/**
 * A chunk of a running job's output (`output`, ours). The connection sends it after any waiting
 * control reply and sheds it first when the socket is backed up (the `seq` jump shows the gap);
 * the agent drops it while it swaps connections.
 */
export interface RunnerOutput {
  type: 'output';
  jobId: string;
  fields: OutputChunk;
}

/** What the connection needs from the job runner. */
export interface JobRunnerPort {
  /** A `commit`: answers `ack_commit` or `nack_commit` (after taking a lock, for lock entries). */
  commit(jobId: string, command: string, options: CommitOptions): void;
  /** A `run`: answers `ack_run` and later `succeeded`/`failed`, or `nack_run`. */
  run(jobId: string): void;
  /**
   * An `abort`: stops what runs (the whole process group), answers `aborted`. With a `jobId`
   * (ours names the job it belongs to), only that job is stopped: an abort of another job is
   * ignored (answered `aborted` with no job, so the server stops repeating it).
   */
  abort(jobId?: string): void;
  /**
   * Drops a job that is committed but not running (the server it belongs to is gone), answering
   * `aborted` with its id; true when there was one. A running job is not touched.
   */
  releaseCommitted(reason: string): boolean;
  /** The state heartbeats report. */
  state(): { state: AgentJobState; jobId: string | null };
}
