/**
 * The `commit` message of a job, built in one place: the job machine sends it, and job creation
 * measures it against what an agent accepts.
 *
 * @module
 */
import { commitMessage, type CommitBody } from '@push-jobs/protocol/internal';
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
 * The `commit` body of a job (before the broker adds its envelope), in the original's field
 * order. `run_timeout` and `voting_timeout` are ours (the original client ignores them): our
 * agent bounds the run and the wait for `run` by them, even when this server is gone.
 */
export function jobCommit(job: CommitSource, serverName: string, votingTimeoutSeconds: number): CommitBody {
  const o = job.options;
  return commitMessage({
    job_id: job.id,
    server: serverName,
    command: job.command,
    user: o.user,
    dir: o.dir,
    env: o.env,
    file: o.file,
    capture: o.capture === true,
    run_timeout: job.runTimeout,
    voting_timeout: votingTimeoutSeconds,
  });
}
