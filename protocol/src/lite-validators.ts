/**
 * Validators for the agent's documents from code generated at build time
 * (`scripts/generate-validators.ts`): the same schemas and messages as {@link validators}, without
 * loading TypeBox or Ajv.
 *
 * @module
 */
import { ValidationError } from './errors.js';
import {
  agentConfig,
  agentConfigKeys,
  configDocument,
  serverMessage,
  whitelist,
} from './generated/validators.js';
import { ajvErrors, type AjvValidateFunction } from './schemas/ajv-shared.js';
import type { AgentConfig, ConfigDocument, ServerMessage, Whitelist } from './schemas/index.js';

/** A precompiled validator: a type guard, an asserting variant and an error lister. */
export interface LiteValidator<T> {
  /** True when `value` matches the schema. */
  check(value: unknown): value is T;
  /** Returns `value`, typed, when it matches; throws ValidationError listing every failure. */
  assert(value: unknown): T;
  /** Every failure as `"<instancePath> <message>"` (`/` is the document root); empty when valid. */
  errors(value: unknown): string[];
}

/** @internal A {@link LiteValidator} of a generated validation function. */
export function liteValidator<T>(fn: AjvValidateFunction, name: string): LiteValidator<T> {
  const errors = (value: unknown): string[] => ajvErrors(fn, value);
  return {
    check: (value: unknown): value is T => fn(value),
    assert(value: unknown): T {
      const found = errors(value);
      if (found.length > 0) throw new ValidationError(`invalid ${name}: ${found.join('; ')}`, found);
      return value as T;
    },
    errors,
  };
}

/** The agent's validators (same names and messages as in {@link validators}). */
export const liteValidators = {
  /** Config document (spec 6). */
  configDocument: liteValidator<ConfigDocument>(configDocument as AjvValidateFunction, 'config document'),
  /** Agent configuration. */
  agentConfig: liteValidator<AgentConfig>(agentConfig as AjvValidateFunction, 'agent configuration'),
  /** Agent whitelist. */
  whitelist: liteValidator<Whitelist>(whitelist as AjvValidateFunction, 'whitelist'),
  /**
   * Any server-to-client message (spec 5.2): what the agent narrows every verified message to
   * before acting on it. Lenient: extra properties are allowed.
   */
  serverMessage: liteValidator<ServerMessage>(serverMessage as AjvValidateFunction, 'server message'),
} as const;

/** The keys an agent configuration may have (the properties of `AgentConfigSchema`). */
export const AGENT_CONFIG_KEYS: readonly string[] = Object.freeze([...(agentConfigKeys as string[])]);
