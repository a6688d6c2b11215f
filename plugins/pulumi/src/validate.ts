/**
 * Argument checks of the components, as pure functions: each throws an `Error` whose one-line
 * message names the component, the argument and what to do. Values that are still unknown
 * (`Output`s, promises) are checked once they resolve ({@link validatedInput}).
 *
 * @module
 */
import * as pulumi from '@pulumi/pulumi';
import { ERROR_CODES, PushJobsError } from '@push-jobs/protocol';
import { INIT_SYSTEMS, type InitSystem } from './host/layout.js';

/** Thrown for a bad component argument. */
export class ArgumentError extends PushJobsError {
  constructor(message: string) {
    super(ERROR_CODES.INVALID_ARGUMENT, message);
    this.name = 'ArgumentError';
  }
}

/** Names the component in messages: `PushJobsServer 'ci'`. */
export interface Who {
  readonly component: string;
  readonly name: string;
}

function fail(who: Who, message: string): never {
  throw new ArgumentError(`${who.component} '${who.name}': ${message}`);
}

/** True when `value` is known now (not an `Output` or a promise). */
export function isKnown<T>(value: pulumi.Input<T> | undefined): value is T | undefined {
  return !pulumi.Output.isInstance(value) && !(value instanceof Promise);
}

/**
 * `value` checked with `check`: at once when it is known, otherwise when it resolves (the
 * returned output then fails the deployment with the same message).
 */
export function validatedInput<T>(value: pulumi.Input<T>, check: (v: T) => void): pulumi.Input<T> {
  if (isKnown(value)) {
    check(value as T);
    return value;
  }
  return pulumi.output(value).apply((v) => {
    check(v as T);
    return v;
  }) as pulumi.Output<T>;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** @throws ArgumentError unless `value` is an integer port from 1 to 65535. */
export function checkPort(who: Who, arg: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    fail(who, `${arg} must be an integer from 1 to 65535, got ${describe(value)}`);
  }
  return value;
}

/** @throws ArgumentError unless `value` is a positive safe integer. */
export function checkPositiveInteger(who: Who, arg: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    fail(who, `${arg} must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

/** @throws ArgumentError unless `value` is a non-empty string without whitespace or `/`. */
export function checkName(who: Who, arg: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || /[\s/]/u.test(value)) {
    fail(who, `${arg} must be a non-empty name without spaces or '/', got ${describe(value)}`);
  }
  return value;
}

/** @throws ArgumentError unless `value` is a non-empty string. */
export function checkNonEmpty(who: Who, arg: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    fail(who, `${arg} must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

/** @throws ArgumentError unless `value` is an absolute path (the host root). */
export function checkRoot(who: Who, value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/')) {
    fail(who, `root must be an absolute path on the host ('/' on a real host), got ${describe(value)}`);
  }
  return value;
}

/** @throws ArgumentError unless `value` is one of {@link INIT_SYSTEMS}. */
export function checkInitSystem(who: Who, value: unknown): InitSystem {
  if (!INIT_SYSTEMS.includes(value as InitSystem)) {
    fail(who, `initSystem must be one of ${INIT_SYSTEMS.join(', ')}, got ${describe(value)}`);
  }
  return value as InitSystem;
}

/** @throws ArgumentError when two of the named ports are equal. */
export function checkDistinctPorts(who: Who, ports: Readonly<Record<string, number>>): void {
  const seen = new Map<number, string>();
  for (const [arg, port] of Object.entries(ports)) {
    const other = seen.get(port);
    if (other !== undefined) fail(who, `${other} and ${arg} are both ${port}; give each its own port`);
    seen.set(port, arg);
  }
}

/** @throws ArgumentError unless `value` is a plain object (a map). */
export function checkPlainObject(who: Who, arg: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(who, `${arg} must be an object (a map), got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Fails for `who` with `message` (for checks written elsewhere). */
export function argumentError(who: Who, message: string): ArgumentError {
  return new ArgumentError(`${who.component} '${who.name}': ${message}`);
}
