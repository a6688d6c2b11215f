/**
 * The two error-body shapes of the original API: authentication and authorization errors carry
 * a list of strings under `error`; job validation errors and the 413 carry a single string.
 * Route code throws {@link HttpError}; the app's error handler turns it into the response.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { ERROR_CODES, isPushJobsError, PushJobsError, type ErrorCode } from '@push-jobs/protocol/internal';
import type { FastifyRequest } from 'fastify';
import { StoreConflictError, StoreNotFoundError } from '../store/types.js';
import { StoreUnavailableError } from '../store/unavailable.js';

/** How the `error` member of the body is shaped. */
export type ErrorShape = 'list' | 'string';

/** The error code of an HTTP status. */
function codeOfStatus(status: number): ErrorCode {
  if (status === 401) return ERROR_CODES.AUTHENTICATION;
  if (status === 403) return ERROR_CODES.FORBIDDEN;
  if (status === 404) return ERROR_CODES.NOT_FOUND;
  if (status === 409) return ERROR_CODES.CONFLICT;
  if (status === 413) return ERROR_CODES.PAYLOAD_TOO_LARGE;
  if (status === 503) return ERROR_CODES.UNAVAILABLE;
  return status < 500 ? ERROR_CODES.VALIDATION : ERROR_CODES.INTERNAL;
}

/** An error that becomes exactly one HTTP response. */
export class HttpError extends PushJobsError {
  declare readonly statusCode: number;
  readonly shape: ErrorShape;
  readonly headers: Record<string, string>;

  constructor(
    statusCode: number,
    message: string,
    shape: ErrorShape = 'list',
    headers: Record<string, string> = {},
  ) {
    super(codeOfStatus(statusCode), message, { statusCode });
    this.name = 'HttpError';
    this.shape = shape;
    this.headers = headers;
  }

  /** The response body. */
  body(): { error: string[] } | { error: string } {
    return this.shape === 'list' ? { error: [this.message] } : { error: this.message };
  }
}

/** Sent with every 401, as the original did (it accepts 1.2 and 1.3 too). */
export const WWW_AUTHENTICATE = 'X-Ops-Sign version="1.0" version="1.1"';

/** A 401 with the `WWW-Authenticate` header. */
export function unauthorized(message: string): HttpError {
  return new HttpError(401, message, 'list', { 'www-authenticate': WWW_AUTHENTICATE });
}

/** A 403 with a list-shaped body. */
export function forbidden(message: string): HttpError {
  return new HttpError(403, message);
}

/** A 404 with a list-shaped body. */
export function notFound(message: string): HttpError {
  return new HttpError(404, message);
}

/** A 400 with a list-shaped body (malformed requests, identity endpoints). */
export function badRequest(message: string): HttpError {
  return new HttpError(400, message);
}

/** A 400 with a string-shaped body (job validation). */
export function invalidJob(message: string): HttpError {
  return new HttpError(400, message, 'string');
}

/** A 409 with a list-shaped body. */
export function conflict(message: string): HttpError {
  return new HttpError(409, message);
}

/**
 * True for an error the app answers with its own status and message: an {@link HttpError} (a
 * deliberate answer, a 503 included), a store conflict, not-found or unavailable (a 503), a
 * client error of the protocol package or of Fastify. Anything else is unexpected.
 */
export function isExpectedError(error: unknown): boolean {
  if (error instanceof HttpError) return true;
  if (error instanceof StoreConflictError || error instanceof StoreNotFoundError) return true;
  // The app answers it with a 503 and Retry-After: the database is down or locked for now.
  if (error instanceof StoreUnavailableError) return true;
  if (isPushJobsError(error)) return error.statusCode !== undefined && error.statusCode < 500;
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status < 500;
}

/**
 * An unexpected error as the client sees it: a 500 with a generic message and an id, never the
 * error's own message or stack. The error, with its stack, goes to the server log under the same
 * id, so an operator can find it from what the client reports.
 */
export function internalError(request: FastifyRequest, error: unknown): HttpError {
  const id = randomBytes(8).toString('hex');
  request.log.error({ err: error, errorId: id }, `request failed (error id ${id})`);
  return new HttpError(500, `internal server error (error id ${id}); the server log has the details`);
}
