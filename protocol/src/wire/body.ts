/**
 * The body frame: one UTF-8 JSON object.
 *
 * @module
 */

import { isUtf8 } from 'node:buffer';
import { asBuffer } from './bytes.js';
import { wireError, type WireError } from './wire-error.js';

/** A decoded message body. Fields are unvalidated: check their types before use. */
export type MessageBody = Record<string, unknown>;

/**
 * Parses a body frame. It must be valid UTF-8 (`bad_json` otherwise), valid JSON (`bad_json`) and
 * a JSON object (`not_object` for arrays, strings, numbers, `null`, ...). Never throws.
 */
export function parseBody(bodyBytes: Uint8Array): MessageBody | WireError {
  if (!(bodyBytes instanceof Uint8Array)) return wireError('bad_json', 'body frame is not bytes');
  const buf = asBuffer(bodyBytes);
  if (!isUtf8(buf)) return wireError('bad_json', 'body is not valid UTF-8');
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    return wireError(
      'bad_json',
      `body is not JSON: ${err instanceof Error ? err.message.slice(0, 120) : 'parse error'}`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return wireError(
      'not_object',
      `body is JSON ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}, not an object`,
    );
  }
  return value as MessageBody;
}
