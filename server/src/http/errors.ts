/**
 * The two error-body shapes of the original API: authentication and authorization errors carry
 * a list of strings under `error`; job validation errors and the 413 carry a single string.
 * Route code throws {@link HttpError}; the app's error handler turns it into the response.
 *
 * @module
 */

/** How the `error` member of the body is shaped. */
export type ErrorShape = 'list' | 'string';

/** An error that becomes exactly one HTTP response. */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly shape: ErrorShape;
  readonly headers: Record<string, string>;

  constructor(
    statusCode: number,
    message: string,
    shape: ErrorShape = 'list',
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
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
