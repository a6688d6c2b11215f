/**
 * The `commit` message of a job, built in one place: the job machine sends it, and job creation
 * measures it against what an agent accepts.
 *
 * @module
 */
import type { JobOptions } from '../store/types.js';

/** What a `commit` carries from its job. */
export interface CommitSource {
  id: string;
  command: string;
  options: JobOptions;
  /** Seconds. */
  runTimeout: number;
}

/**
 * The `commit` body (before the broker adds its envelope), its fields in the original's order.
 * `run_timeout` and `voting_timeout` are ours (the original client ignores them): our agent
 * bounds the run and the wait for `run` by them, even when this server is gone.
 */
export function commitMessage(
  job: CommitSource,
  serverName: string,
  votingTimeoutSeconds: number,
): Record<string, unknown> {
  const o = job.options;
  const commit: Record<string, unknown> = {
    type: 'commit',
    job_id: job.id,
    server: serverName,
    command: job.command,
  };
  if (o.user !== undefined) commit.user = o.user;
  if (o.dir !== undefined) commit.dir = o.dir;
  if (o.env !== undefined) commit.env = o.env;
  if (o.file !== undefined) commit.file = o.file;
  commit.capture = o.capture === true;
  commit.run_timeout = job.runTimeout;
  commit.voting_timeout = votingTimeoutSeconds;
  return commit;
}
