/**
 * The `commit` message of a job, built in one place: the job machine sends it, and job creation
 * measures it against what an agent accepts ({@link commitBodyBytes}).
 *
 * @module
 */
import {
  MAX_TIMER_SECONDS,
  commitMessage,
  sealServerMessage,
  type CommitBody,
  type JobCreation,
  type ServerEnvelope,
} from '@push-jobs/protocol/internal';
import type { ServerConfig } from '../config/types.js';
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
 * agent bounds the run and the wait for `run` by them, even when this server is gone. A
 * rollout's node may wait for its turn until the job's run timeout: its commit also carries
 * `run_wait_timeout` (voting plus run timeout), which our agent waits instead. A job with capture
 * on, when live output is on (`outputStreamMaxBytes` > 0, the `output_stream_max_bytes`
 * setting), carries `output_stream_max_bytes`: the agent's permission to stream `output`
 * messages and the cap on what one node streams for the job.
 */
export function jobCommit(
  job: CommitSource,
  serverName: string,
  votingTimeoutSeconds: number,
  outputStreamMaxBytes = 0,
): CommitBody {
  const o = job.options;
  const capture = o.capture === true;
  return commitMessage({
    job_id: job.id,
    server: serverName,
    command: job.command,
    user: o.user,
    dir: o.dir,
    env: o.env,
    file: o.file,
    capture,
    run_timeout: job.runTimeout,
    voting_timeout: votingTimeoutSeconds,
    run_wait_timeout:
      o.maxConcurrency === undefined
        ? undefined
        : Math.min(votingTimeoutSeconds + job.runTimeout, MAX_TIMER_SECONDS),
    output_stream_max_bytes: capture && outputStreamMaxBytes > 0 ? outputStreamMaxBytes : undefined,
  });
}

/**
 * Room kept in the commit size check for fields the server may add to `commit` later, so a
 * job accepted today still fits the agents' limit then.
 */
const COMMIT_RESERVE_BYTES = 256;

/** The longest value of each envelope field the broker adds to a message (sizes only). */
const ENVELOPE_MAX: ServerEnvelope = {
  sequence: Number.MAX_SAFE_INTEGER,
  timestamp: 'Wed, 31 Dec 9999 23:59:59 GMT',
};

/**
 * The size in bytes of the `commit` message body the server would send for `body`, at its
 * longest (the sequence number and timestamp the broker adds, a 32-digit job id, `capture:
 * false`, and `output_stream_max_bytes` when live output is on, as if the job captured). Linear in the
 * command, file and env; independent of the node count.
 */
export function commitBodyBytes(body: JobCreation, config: ServerConfig): number {
  const commit = jobCommit(
    {
      id: '0'.repeat(32),
      command: body.command,
      // `capture: false` is the longer spelling.
      options: { ...jobOptions(body), capture: false },
      runTimeout: body.run_timeout ?? config.default_running_timeout,
    },
    config.server_name,
    config.voting_timeout,
  );
  // The cap field comes only with `capture: true`; counted with `capture: false`, the longer spelling.
  const longest: CommitBody =
    config.output_stream_max_bytes > 0
      ? { ...commit, output_stream_max_bytes: config.output_stream_max_bytes }
      : commit;
  const sealed = sealServerMessage(ENVELOPE_MAX, longest);
  return Buffer.byteLength(JSON.stringify(sealed), 'utf8') + COMMIT_RESERVE_BYTES;
}

/** The options of a job request, as stored. */
export function jobOptions(body: JobCreation): JobOptions {
  const options: JobOptions = {};
  if (body.user !== undefined) options.user = body.user;
  if (body.dir !== undefined) options.dir = body.dir;
  if (body.env !== undefined) options.env = body.env;
  if (body.capture_output !== undefined) options.capture = body.capture_output;
  if (body.file !== undefined) options.file = body.file;
  return options;
}
