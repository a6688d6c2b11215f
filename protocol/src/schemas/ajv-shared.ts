/**
 * What the runtime-compiled validators ({@link ./validate.ts}) and the build-time generated ones
 * (`src/generated/validators.ts`, used by the lightweight entry point) share: the Ajv options
 * and the error formatting. No runtime import of Ajv or TypeBox, so the lightweight entry point
 * can use it.
 *
 * @module
 */
import type { ErrorObject } from 'ajv';

/**
 * Ajv options: `strict`, `allErrors`, and no mutation of the input (`removeAdditional: false`,
 * `coerceTypes: false`, `useDefaults: false`): a bad document is reported, never silently
 * fixed. `discriminator: true` enables the `type` discriminator of the message unions.
 */
export const AJV_OPTIONS = Object.freeze({
  strict: true,
  allErrors: true,
  removeAdditional: false,
  coerceTypes: false,
  useDefaults: false,
  discriminator: true,
} as const);

/** A compiled Ajv validation function, as much of it as callers use. */
export interface AjvValidateFunction {
  (value: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/** Formats one Ajv error as `"<instancePath> <message>"`, naming the offending key or values. */
export function formatAjvError(error: ErrorObject): string {
  const path = error.instancePath === '' ? '/' : error.instancePath;
  const params = error.params as Record<string, unknown>;
  let detail = '';
  if (typeof params.additionalProperty === 'string') detail = ` '${params.additionalProperty}'`;
  else if (Array.isArray(params.allowedValues)) detail = `: ${params.allowedValues.map(String).join(', ')}`;
  return `${path} ${error.message ?? 'is invalid'}${detail}`;
}

/** Every failure of `fn` on `value` as `"<instancePath> <message>"`; empty when valid. */
export function ajvErrors(fn: AjvValidateFunction, value: unknown): string[] {
  return fn(value) ? [] : (fn.errors ?? []).map(formatAjvError);
}
