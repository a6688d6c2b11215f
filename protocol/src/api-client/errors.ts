/**
 * Errors of the signed REST client: one class per way a request can fail, each with a stable
 * `code`, the HTTP `status` (when there was a response) and the server's own message.
 *
 * Compare by `code` (or use {@link isPushApiError}), not only with `instanceof`: two installed
 * copies of this package still agree on codes.
 *
 * @module
 */
import { PushJobsError } from '../errors.js';

/** Stable codes of {@link PushApiError}s. Never rename one: users and tools match on them. */
export const API_ERROR_CODES = {
  UNREACHABLE: 'PJ_ERR_UNREACHABLE',
  TLS: 'PJ_ERR_TLS',
  TIMEOUT: 'PJ_ERR_TIMEOUT',
  UNAUTHORIZED: 'PJ_ERR_AUTHENTICATION',
  FORBIDDEN: 'PJ_ERR_FORBIDDEN',
  NOT_FOUND: 'PJ_ERR_NOT_FOUND',
  VALIDATION: 'PJ_ERR_VALIDATION',
  CONFLICT: 'PJ_ERR_CONFLICT',
  SERVER: 'PJ_ERR_SERVER',
  HTTP: 'PJ_ERR_HTTP',
  BAD_RESPONSE: 'PJ_ERR_BAD_RESPONSE',
} as const;

/** A {@link PushApiError} code. */
export type ApiErrorCode = (typeof API_ERROR_CODES)[keyof typeof API_ERROR_CODES];
const MARKER = Symbol.for('@push-jobs/protocol/PushApiError');

/** Where a failed request was going. */
export interface ApiErrorContext {
  /** HTTP method, upper case. */
  method: string;
  /** The full request URL. */
  url: string;
  /** The HTTP status, when a response arrived. */
  status?: number;
  /** The server's message from the error body (`{"error": ...}`), when there was one. */
  serverMessage?: string;
  cause?: unknown;
}

/** Base class of every error of {@link PushApiClient}. */
export class PushApiError extends PushJobsError<ApiErrorCode> {
  /** HTTP method of the request, upper case. */
  readonly method: string;
  /** The full request URL. */
  readonly url: string;
  /** The HTTP status, when a response arrived. */
  readonly status?: number;
  /** The server's message from the error body, when it sent one. */
  readonly serverMessage?: string;

  constructor(code: ApiErrorCode, message: string, context: ApiErrorContext) {
    super(code, message, { cause: context.cause });
    this.method = context.method;
    this.url = context.url;
    if (context.status !== undefined) this.status = context.status;
    if (context.serverMessage !== undefined) this.serverMessage = context.serverMessage;
    Object.defineProperty(this, MARKER, { value: true });
  }
}

/** True for any {@link PushApiError}, from this copy of the package or another. */
export function isPushApiError(err: unknown): err is PushApiError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[MARKER] === true;
}

/** The server could not be reached: refused, unknown host, reset, closed early. */
export class ApiUnreachableError extends PushApiError {
  constructor(message: string, context: ApiErrorContext, code: ApiErrorCode = API_ERROR_CODES.UNREACHABLE) {
    super(code, message, context);
  }
}

/** The TLS handshake failed (untrusted or expired certificate, wrong host name). */
export class ApiTlsError extends ApiUnreachableError {
  constructor(message: string, context: ApiErrorContext) {
    super(message, context, API_ERROR_CODES.TLS);
  }
}

/** No complete answer within the request timeout (or, on an event feed, the idle timeout). */
export class ApiTimeoutError extends PushApiError {
  /** The timeout that expired, in milliseconds. */
  readonly timeoutMs: number;
  constructor(message: string, context: ApiErrorContext & { timeoutMs: number }) {
    super(API_ERROR_CODES.TIMEOUT, message, context);
    this.timeoutMs = context.timeoutMs;
  }
}

/** 401: unknown user or client, bad signature, clock skew. */
export class ApiUnauthorizedError extends PushApiError {
  constructor(message: string, context: ApiErrorContext) {
    super(API_ERROR_CODES.UNAUTHORIZED, message, context);
  }
}

/** 403: authenticated, but not allowed (not in the org, not in the group). */
export class ApiForbiddenError extends PushApiError {
  constructor(message: string, context: ApiErrorContext) {
    super(API_ERROR_CODES.FORBIDDEN, message, context);
  }
}

/** 404: unknown organization, job, node or output. */
export class ApiNotFoundError extends PushApiError {
  constructor(message: string, context: ApiErrorContext) {
    super(API_ERROR_CODES.NOT_FOUND, message, context);
  }
}

/** 400: the server rejected the request body or parameters. */
export class ApiValidationError extends PushApiError {
  constructor(message: string, context: ApiErrorContext) {
    super(API_ERROR_CODES.VALIDATION, message, context);
  }
}

/** 409: the request conflicts with the current state (e.g. aborting a finished job). */
export class ApiConflictError extends PushApiError {
  constructor(message: string, context: ApiErrorContext) {
    super(API_ERROR_CODES.CONFLICT, message, context);
  }
}

/** 5xx: the server failed. */
export class ApiServerError extends PushApiError {
  constructor(message: string, context: ApiErrorContext) {
    super(API_ERROR_CODES.SERVER, message, context);
  }
}

/** Any other unexpected status (405, 406, 413, 415, a 3xx, ...). */
export class ApiHttpError extends PushApiError {
  constructor(message: string, context: ApiErrorContext) {
    super(API_ERROR_CODES.HTTP, message, context);
  }
}

/** A success status with a body that is not what was asked for (not JSON, not an event stream). */
export class ApiResponseError extends PushApiError {
  constructor(message: string, context: ApiErrorContext) {
    super(API_ERROR_CODES.BAD_RESPONSE, message, context);
  }
}

/**
 * The server's message in an error body: the `error` member, which is a string (validation
 * errors, 413) or a list of strings (authentication, authorization, not found), joined with
 * `; `. `undefined` when the body is empty or has no such member.
 */
export function serverErrorMessage(body: Buffer | string): string | undefined {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const line = text.trim().split(/\r?\n/)[0] ?? '';
    return line.length > 200 ? `${line.slice(0, 200)}...` : line;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const error = (parsed as { error?: unknown; message?: unknown }).error;
  if (typeof error === 'string') return error;
  if (Array.isArray(error)) {
    const parts = error.filter((e): e is string => typeof e === 'string');
    if (parts.length > 0) return parts.join('; ');
  }
  const message = (parsed as { message?: unknown }).message;
  return typeof message === 'string' ? message : undefined;
}

/**
 * The error for a response with a non-success `status`, carrying the server's message. The
 * error's own message names the request and the status, then the server's message.
 */
export function errorForStatus(
  status: number,
  body: Buffer | string,
  request: { method: string; url: string },
): PushApiError {
  const serverMessage = serverErrorMessage(body);
  const context: ApiErrorContext = {
    ...request,
    status,
    ...(serverMessage === undefined ? {} : { serverMessage }),
  };
  const message = `${request.method} ${request.url} failed with ${status}${serverMessage === undefined ? '' : `: ${serverMessage}`}`;
  if (status === 400) return new ApiValidationError(message, context);
  if (status === 401) return new ApiUnauthorizedError(message, context);
  if (status === 403) return new ApiForbiddenError(message, context);
  if (status === 404) return new ApiNotFoundError(message, context);
  if (status === 409) return new ApiConflictError(message, context);
  if (status >= 500) return new ApiServerError(message, context);
  return new ApiHttpError(message, context);
}
