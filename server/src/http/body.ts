/**
 * Reading the JSON body that the content-type parser kept as a string.
 *
 * @module
 */
import type { FastifyRequest } from 'fastify';
import { HttpError, type ErrorShape } from './errors.js';

/** The 400 message of a JSON body holding a NUL character. */
export const NUL_IN_BODY = 'request body contains a NUL character (\\u0000), which is not accepted';

/**
 * Parses (once) and returns the request's JSON body; a 400 of the given shape when it is not
 * JSON, or when a string or name in it holds a NUL character (PostgreSQL text cannot hold one,
 * and no name or value of ours needs it), unless `allowNul` (the caller checks each field with a
 * message of its own).
 */
export function jsonBody(
  request: FastifyRequest,
  shape: ErrorShape = 'list',
  opts: { allowNul?: boolean } = {},
): unknown {
  if (request.parsedBody !== undefined) return request.parsedBody;
  const raw = request.rawBody ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw) as unknown;
  } catch {
    throw new HttpError(400, 'request body is not valid JSON', shape);
  }
  // In JSON text a NUL can only be written as the escape \u0000: no escape, no NUL.
  if (opts.allowNul !== true && raw.includes('\\u0000') && containsNul(parsed)) {
    throw new HttpError(400, NUL_IN_BODY, shape);
  }
  request.parsedBody = parsed;
  return parsed;
}

/** True when a string or object key anywhere in `value` holds a NUL (iterative: any depth). */
export function containsNul(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return true;
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (typeof v === 'object' && v !== null) {
      for (const [key, item] of Object.entries(v)) {
        if (key.includes('\u0000')) return true;
        stack.push(item);
      }
    }
  }
  return false;
}

/** The JSON body as an object; a 400 otherwise. */
export function jsonObjectBody(request: FastifyRequest): Record<string, unknown> {
  const body = jsonBody(request);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}
