/**
 * Error classes shared by the server, the agent and the CLI.
 *
 * Every error carries a stable string `code` (compare by code, not by `instanceof`, so two
 * installed copies of this package still agree), an optional HTTP `statusCode`, and `cause`.
 */

/** Stable error codes. Never rename one: users and tools match on them. */
export const ERROR_CODES = {
  INVALID_ARGUMENT: 'PJ_ERR_INVALID_ARGUMENT',
  INVALID_QUORUM: 'PJ_ERR_INVALID_QUORUM',
  VALIDATION: 'PJ_ERR_VALIDATION',
  AUTHENTICATION: 'PJ_ERR_AUTHENTICATION',
  FORBIDDEN: 'PJ_ERR_FORBIDDEN',
  NOT_FOUND: 'PJ_ERR_NOT_FOUND',
  CONFLICT: 'PJ_ERR_CONFLICT',
  PAYLOAD_TOO_LARGE: 'PJ_ERR_PAYLOAD_TOO_LARGE',
  FRAME: 'PJ_ERR_FRAME',
  SIGNATURE: 'PJ_ERR_SIGNATURE',
  TIMESTAMP: 'PJ_ERR_TIMESTAMP',
  REPLAY: 'PJ_ERR_REPLAY',
  CRYPTO: 'PJ_ERR_CRYPTO',
  CONFIG: 'PJ_ERR_CONFIG',
  INTERNAL: 'PJ_ERR_INTERNAL',
  /** A command line a binary cannot run: unknown command or flag, missing argument. */
  USAGE: 'PJ_ERR_USAGE',
  /** A service the operation needs (the database, the server) is unreachable or busy for now. */
  UNAVAILABLE: 'PJ_ERR_UNAVAILABLE',
  /** The operation ran but did not fully succeed (a job that failed on some nodes). */
  JOB_FAILED: 'PJ_ERR_JOB_FAILED',
  /** A private key that cannot be read or is not an RSA key. */
  KEY: 'PJ_ERR_KEY',
  /** The user interrupted the operation (Ctrl-C). */
  INTERRUPTED: 'PJ_ERR_INTERRUPTED',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

const MARKER = Symbol.for('@push-jobs/protocol/PushJobsError');

/**
 * Base class of every error this project throws on purpose. `C` is the code family: the
 * {@link ERROR_CODES} by default, the REST client's codes for its errors.
 */
export class PushJobsError<C extends string = ErrorCode> extends Error {
  readonly code: C;
  /** The HTTP status a server should answer with, when the error reaches a response. */
  readonly statusCode?: number;

  constructor(code: C, message: string, options?: { cause?: unknown; statusCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options?.statusCode !== undefined) this.statusCode = options.statusCode;
    Object.defineProperty(this, MARKER, { value: true });
  }
}

/** The message of a caught value: an Error's `message`, anything else as a string. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** True for any {@link PushJobsError}, from this copy of the package or another. */
export function isPushJobsError(err: unknown): err is PushJobsError<string> {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[MARKER] === true;
}

/** Thrown when an argument (a quorum, an id, a setting) is out of range or malformed. */
export class InvalidArgumentError extends PushJobsError {
  constructor(message: string, options?: { cause?: unknown; code?: ErrorCode }) {
    super(options?.code ?? ERROR_CODES.INVALID_ARGUMENT, message, { cause: options?.cause, statusCode: 400 });
  }
}

/**
 * A command line a binary cannot run: an unknown command or flag, a missing or extra argument, a
 * flag value out of range, flags that exclude each other. The one usage error of every binary
 * (exit code 2, see `exit-codes.ts`); `command` names the command words (`org create`) for a
 * "see --help" hint.
 */
export class UsageError extends PushJobsError {
  /** The command words the error is about (`org create`), or `''` for the binary itself. */
  readonly command: string;
  constructor(message: string, options?: { cause?: unknown; command?: string }) {
    super(ERROR_CODES.USAGE, message, { cause: options?.cause, statusCode: 400 });
    this.command = options?.command ?? '';
  }
}

/** The message of a caught value on one line: inner line breaks become spaces. */
export function errorLine(err: unknown): string {
  const message = errorMessage(err)
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  return message === '' && err instanceof Error ? err.name : message;
}

/** Thrown when a document fails its JSON Schema; `errors` lists what failed, path first. */
export class ValidationError extends PushJobsError {
  readonly errors: readonly string[];
  constructor(message: string, errors: readonly string[] = []) {
    super(ERROR_CODES.VALIDATION, message, { statusCode: 400 });
    this.errors = errors;
  }
}
