/**
 * The one check for "a JSON object" (not null, not an array) that parsed documents are read with.
 *
 * @module
 */

/** True for an object that is not `null` and not an array (a parsed JSON object). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
