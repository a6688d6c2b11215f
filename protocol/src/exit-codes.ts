/**
 * The exit codes of the four binaries (`push-jobs`, `push-jobs-server`, `push-jobs-client`,
 * `push-jobs-cookbook`): one table from error code to exit code, and {@link exitCodeFor}, which
 * every binary runs a failure through (in the manner of sf-plugins-core's `computeErrorCode`).
 * The table is documented in this package's README ("Errors and exit codes").
 *
 * A binary may promise fewer exit codes than the table has (the server's admin verbs and the
 * cookbook promise 0, 1 and 2): it names the codes it keeps in {@link ExitCodePolicy.distinct},
 * and every other failure exits with {@link EXIT_CODES.FAILED}.
 *
 * @module
 */
import { API_ERROR_CODES } from './api-client/errors.js';
import type { FinalJobState } from './constants.js';
import { ERROR_CODES, isPushJobsError } from './errors.js';

/** Exit codes, one per class of failure. Never renumber one: scripts rely on them. */
export const EXIT_CODES = {
  /** Success. */
  OK: 0,
  /** The operation failed, or ran but did not fully succeed (a job that failed on a node). */
  FAILED: 1,
  /** Bad usage or input: command, flags, arguments, a value out of range, a 400 from the server. */
  USAGE: 2,
  /** Settings or key: missing or malformed settings, an unreadable or invalid key, a bad CA file. */
  CONFIG: 3,
  /** Not found: an unknown job, node, org, user, output. */
  NOT_FOUND: 4,
  /** Authentication (401) or permission (403) refused. */
  AUTH: 5,
  /** A service is unreachable, failed (5xx), timed out, or answered nonsense; TLS failures too. */
  SERVER: 6,
  /** Conflict: the thing already exists, or is already finished. */
  CONFLICT: 7,
  /** A bug: an error no code path expected. */
  INTERNAL: 70,
  /** Interrupted (Ctrl-C while waiting). */
  INTERRUPTED: 130,
} as const;

/** One of {@link EXIT_CODES}. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The exit code of each error code; a code not listed exits with {@link EXIT_CODES.FAILED}. */
export const EXIT_CODE_OF_ERROR: Readonly<Record<string, ExitCode>> = {
  [ERROR_CODES.JOB_FAILED]: EXIT_CODES.FAILED,
  [ERROR_CODES.USAGE]: EXIT_CODES.USAGE,
  [ERROR_CODES.INVALID_ARGUMENT]: EXIT_CODES.USAGE,
  [ERROR_CODES.INVALID_QUORUM]: EXIT_CODES.USAGE,
  [ERROR_CODES.VALIDATION]: EXIT_CODES.USAGE,
  [ERROR_CODES.PAYLOAD_TOO_LARGE]: EXIT_CODES.USAGE,
  [ERROR_CODES.CONFIG]: EXIT_CODES.CONFIG,
  [ERROR_CODES.KEY]: EXIT_CODES.CONFIG,
  [ERROR_CODES.NOT_FOUND]: EXIT_CODES.NOT_FOUND,
  [ERROR_CODES.AUTHENTICATION]: EXIT_CODES.AUTH,
  [ERROR_CODES.FORBIDDEN]: EXIT_CODES.AUTH,
  [ERROR_CODES.UNAVAILABLE]: EXIT_CODES.SERVER,
  [API_ERROR_CODES.UNREACHABLE]: EXIT_CODES.SERVER,
  [API_ERROR_CODES.TLS]: EXIT_CODES.SERVER,
  [API_ERROR_CODES.TIMEOUT]: EXIT_CODES.SERVER,
  [API_ERROR_CODES.SERVER]: EXIT_CODES.SERVER,
  [API_ERROR_CODES.HTTP]: EXIT_CODES.SERVER,
  [API_ERROR_CODES.BAD_RESPONSE]: EXIT_CODES.SERVER,
  [ERROR_CODES.CONFLICT]: EXIT_CODES.CONFLICT,
  [ERROR_CODES.INTERNAL]: EXIT_CODES.INTERNAL,
  // Message framing and signing fail inside a peer, never because of what a user typed.
  [ERROR_CODES.FRAME]: EXIT_CODES.INTERNAL,
  [ERROR_CODES.SIGNATURE]: EXIT_CODES.INTERNAL,
  [ERROR_CODES.TIMESTAMP]: EXIT_CODES.INTERNAL,
  [ERROR_CODES.REPLAY]: EXIT_CODES.INTERNAL,
  [ERROR_CODES.CRYPTO]: EXIT_CODES.INTERNAL,
  [ERROR_CODES.INTERRUPTED]: EXIT_CODES.INTERRUPTED,
};

/**
 * The exit code of a command that waited for a job, by the job's final status: only a
 * `complete` job can exit {@link EXIT_CODES.OK} (and only when each node succeeded, nacked or was
 * unavailable, knife-push's rule); every other final status, among them a rollout stopped by its
 * error budget (`max_errors_exceeded`, its unstarted nodes `skipped`), is
 * {@link EXIT_CODES.FAILED}. Typed by every final status, so a new one must be placed here.
 */
export const EXIT_CODE_OF_JOB_STATUS: Readonly<Record<FinalJobState, ExitCode>> = {
  complete: EXIT_CODES.OK,
  quorum_failed: EXIT_CODES.FAILED,
  aborted: EXIT_CODES.FAILED,
  timed_out: EXIT_CODES.FAILED,
  crashed: EXIT_CODES.FAILED,
  max_errors_exceeded: EXIT_CODES.FAILED,
};

/** How a binary reports failures, for {@link exitCodeFor}. */
export interface ExitCodePolicy {
  /**
   * The exit codes this binary promises besides 0 and 1; any other code the table gives
   * becomes {@link EXIT_CODES.FAILED}. @default every code of {@link EXIT_CODES}
   */
  distinct?: readonly number[];
}

function ownExitCode(err: unknown): number | undefined {
  const value = (err as { exitCode?: unknown } | null)?.exitCode;
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 256 ? value : undefined;
}

/**
 * The exit code of a failure: the error's own positive `exitCode` when it carries one (an
 * error that knows its exit code, e.g. the agent's start errors); else the table's entry for its
 * `code` when it is one of this project's errors ({@link EXIT_CODES.FAILED} for a code not
 * listed); else {@link EXIT_CODES.INTERNAL}. A code the binary does not promise (`policy`)
 * becomes {@link EXIT_CODES.FAILED}.
 */
export function exitCodeFor(err: unknown, policy: ExitCodePolicy = {}): number {
  const own = ownExitCode(err);
  if (own !== undefined) return own;
  const code = isPushJobsError(err)
    ? (EXIT_CODE_OF_ERROR[err.code] ?? EXIT_CODES.FAILED)
    : EXIT_CODES.INTERNAL;
  if (policy.distinct === undefined || code === EXIT_CODES.FAILED) return code;
  return policy.distinct.includes(code) ? code : EXIT_CODES.FAILED;
}
