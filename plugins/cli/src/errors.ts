/**
 * What a failed command reports: a stable code, one line of text, and an exit code per class of
 * failure (README "Exit codes"). Every error a command meets becomes a {@link CliError}
 * through {@link toCliError}; codes and exit codes are the protocol package's one table
 * (`exitCodeFor`), shared by every binary of the project.
 *
 * @module
 */
import { Errors } from '@oclif/core';
import {
  API_ERROR_CODES,
  ERROR_CODES,
  EXIT_CODES as SHARED_EXIT_CODES,
  exitCodeFor,
  isPushApiError,
  isPushJobsError,
  PushJobsError,
  type PushApiError,
} from '@push-jobs/protocol';

/**
 * The exit codes of the shared table the CLI uses, with `JOB_FAILED` naming its 1 (the job ran
 * but did not fully succeed, or a whitelist edit partly failed). Never renumber one: scripts
 * rely on them.
 */
export const EXIT_CODES = {
  JOB_FAILED: SHARED_EXIT_CODES.FAILED,
  USAGE: SHARED_EXIT_CODES.USAGE,
  CONFIG: SHARED_EXIT_CODES.CONFIG,
  NOT_FOUND: SHARED_EXIT_CODES.NOT_FOUND,
  AUTH: SHARED_EXIT_CODES.AUTH,
  SERVER: SHARED_EXIT_CODES.SERVER,
  CONFLICT: SHARED_EXIT_CODES.CONFLICT,
  INTERNAL: SHARED_EXIT_CODES.INTERNAL,
  INTERRUPTED: SHARED_EXIT_CODES.INTERRUPTED,
} as const;

/** The protocol's error codes the CLI reports besides the REST client's ({@link API_ERROR_CODES}). */
export const CLI_ERROR_CODES = {
  JOB_FAILED: ERROR_CODES.JOB_FAILED,
  USAGE: ERROR_CODES.USAGE,
  KEY: ERROR_CODES.KEY,
  INTERRUPTED: ERROR_CODES.INTERRUPTED,
  INTERNAL: ERROR_CODES.INTERNAL,
} as const;

/** A failure as the CLI reports it: `code`, one-line `message`, `exitCode`, and partial `data`. */
export class CliError extends PushJobsError<string> {
  readonly exitCode: number;
  /** A result to report along with the error (e.g. the job that did not fully succeed). */
  readonly data?: unknown;

  constructor(
    code: string,
    message: string,
    exitCode: number,
    options: { cause?: unknown; data?: unknown } = {},
  ) {
    super(code, message, { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
    if (options.data !== undefined) this.data = options.data;
  }
}

/** A usage error (exit 2). */
export function usageError(message: string, code: string = CLI_ERROR_CODES.USAGE): CliError {
  return new CliError(code, message, EXIT_CODES.USAGE);
}

/** A connection-settings or key error (exit 3). */
export function configError(message: string, code: string = ERROR_CODES.CONFIG, cause?: unknown): CliError {
  return new CliError(code, message, EXIT_CODES.CONFIG, { cause });
}

/** A not-found error (exit 4). */
export function notFoundError(message: string): CliError {
  return new CliError(ERROR_CODES.NOT_FOUND, message, EXIT_CODES.NOT_FOUND);
}

/** How a command names what it asked for, to word API errors: `job 'ID'`, `node 'web1'`. */
export interface ApiErrorContext {
  /** What was looked up, for 404s: `job 'abc'`. */
  subject?: string;
  /** What to do about a 404. */
  notFoundHint?: string;
  /** The user the request was signed as. */
  user?: string;
  /** The server's base URL. */
  server?: string;
}

function oneLine(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ')
    .replace(/\s+/g, ' ');
}

function withServerMessage(lead: string, err: PushApiError): string {
  return err.serverMessage === undefined ? lead : `${lead}: ${err.serverMessage}`;
}

function fromApiError(err: PushApiError, ctx: ApiErrorContext): CliError {
  const as = ctx.user === undefined ? '' : ` as '${ctx.user}'`;
  const exit = (code: number, message: string): CliError =>
    new CliError(err.code, message, code, { cause: err });
  switch (err.code) {
    case API_ERROR_CODES.TLS:
      return exit(
        EXIT_CODES.SERVER,
        `${err.message}; pass --ca-file with the server's CA certificate (or --insecure in a lab)`,
      );
    case API_ERROR_CODES.UNREACHABLE:
      return exit(
        EXIT_CODES.SERVER,
        `${err.message}; check --server-url and that the push jobs server is running`,
      );
    case API_ERROR_CODES.TIMEOUT:
      return exit(
        EXIT_CODES.SERVER,
        `${err.message}; check that the server is healthy, or raise --request-timeout`,
      );
    case API_ERROR_CODES.UNAUTHORIZED:
      return exit(
        EXIT_CODES.AUTH,
        `${withServerMessage(`authentication${as} failed (401)`, err)}; check --user and --key (the key must be that user's or client's private key) and the clock`,
      );
    case API_ERROR_CODES.FORBIDDEN:
      return exit(
        EXIT_CODES.AUTH,
        `${withServerMessage(`permission denied${as} (403)`, err)}; ask an organization admin for access (groups pushy_job_readers/pushy_job_writers or admins)`,
      );
    case API_ERROR_CODES.NOT_FOUND: {
      const lead = err.serverMessage ?? `${ctx.subject ?? 'the requested object'} was not found`;
      return exit(
        EXIT_CODES.NOT_FOUND,
        ctx.notFoundHint === undefined ? lead : `${lead}; ${ctx.notFoundHint}`,
      );
    }
    case API_ERROR_CODES.VALIDATION:
      return exit(EXIT_CODES.USAGE, withServerMessage('the server rejected the request (400)', err));
    case API_ERROR_CODES.CONFLICT:
      return exit(
        EXIT_CODES.CONFLICT,
        withServerMessage('the request conflicts with the current state (409)', err),
      );
    case API_ERROR_CODES.SERVER:
      return exit(
        EXIT_CODES.SERVER,
        `${withServerMessage(`the server failed (${err.status ?? '5xx'})`, err)}; try again, or check the server log`,
      );
    case API_ERROR_CODES.HTTP:
      return exit(
        err.status === 413 ? EXIT_CODES.USAGE : EXIT_CODES.SERVER,
        `${withServerMessage(`unexpected answer ${err.status ?? ''} from ${err.method} ${err.url}`, err)}; check --server-url`,
      );
    default:
      return exit(EXIT_CODES.SERVER, `${err.message}; check --server-url`);
  }
}

/**
 * Turns anything a command threw into a {@link CliError}: API errors by class, protocol
 * argument errors (quorum) as usage errors, oclif parse errors as usage errors, anything else
 * as an internal error.
 */
export function toCliError(err: unknown, ctx: ApiErrorContext = {}): CliError {
  if (err instanceof CliError) return err;
  if (isPushApiError(err)) return fromApiError(err, ctx);
  if (isPushJobsError(err)) return new CliError(err.code, err.message, exitCodeFor(err), { cause: err });
  if (err instanceof Errors.CLIError) {
    const exit = err.oclif?.exit;
    return new CliError(
      CLI_ERROR_CODES.USAGE,
      `${oneLine(err.message)}`,
      typeof exit === 'number' && exit !== 0 ? exit : EXIT_CODES.USAGE,
      { cause: err },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new CliError(
    CLI_ERROR_CODES.INTERNAL,
    `internal error: ${oneLine(message)} (run with --debug for details, and please report it)`,
    EXIT_CODES.INTERNAL,
    { cause: err },
  );
}
