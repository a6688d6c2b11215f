/**
 * Reading the JSON body that the content-type parser kept as a string.
 *
 * @module
 */
import type { FastifyRequest } from 'fastify';
import { HttpError, type ErrorShape } from './errors.js';

/** Parses (once) and returns the request's JSON body; a 400 of the given shape when it is not JSON. */
export function jsonBody(request: FastifyRequest, shape: ErrorShape = 'list'): unknown {
  if (request.parsedBody !== undefined) return request.parsedBody;
  const raw = request.rawBody ?? '';
  try {
    request.parsedBody = JSON.parse(raw) as unknown;
  } catch {
    throw new HttpError(400, 'request body is not valid JSON', shape);
  }
  return request.parsedBody;
}

/** The JSON body as an object; a 400 otherwise. */
export function jsonObjectBody(request: FastifyRequest): Record<string, unknown> {
  const body = jsonBody(request);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}
