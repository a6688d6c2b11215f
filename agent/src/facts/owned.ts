/**
 * The agent's parts of its node object, from the collected facts, the configured keys and the
 * allow-list, bounded in size.
 *
 * @module
 */
import type { Json } from './collect.js';
import { jsonBytes, type OwnedParts } from './node-document.js';

/** The configured node keys (the agent options of the same names). */
export interface ConfiguredFacts {
  tags?: string[];
  roles?: string[];
  policy_name?: string;
  policy_group?: string;
  chef_environment?: string;
  attributes?: Json;
}

/** Largest JSON size of what the agent reports (its parts of the node object), in bytes. */
export const MAX_REPORTED_BYTES = 64 * 1024;

/** {@link buildOwnedParts}'s result: the parts and what had to be left out. */
export interface BuiltParts {
  parts: OwnedParts;
  /** One line per thing left out to stay within the bound (empty when none). */
  trimmed: string[];
}

/** The configured keys picked from agent options. */
export function configuredFacts(options: ConfiguredFacts): ConfiguredFacts {
  const out: ConfiguredFacts = {};
  if (options.tags !== undefined) out.tags = [...new Set(options.tags)];
  if (options.roles !== undefined) out.roles = [...new Set(options.roles)];
  if (options.policy_name !== undefined) out.policy_name = options.policy_name;
  if (options.policy_group !== undefined) out.policy_group = options.policy_group;
  if (options.chef_environment !== undefined) out.chef_environment = options.chef_environment;
  if (options.attributes !== undefined) out.attributes = options.attributes;
  return out;
}

function compose(
  facts: Json,
  configured: ConfiguredFacts,
  allowed: string[] | undefined,
  agentVersion: string,
  withAttributes: boolean,
): OwnedParts {
  const normal: Json = {};
  if (withAttributes) Object.assign(normal, configured.attributes ?? {});
  if (configured.tags !== undefined) normal.tags = configured.tags;
  if (configured.policy_name !== undefined) normal.policy_name = configured.policy_name;
  if (configured.policy_group !== undefined) normal.policy_group = configured.policy_group;
  const automatic: Json = { ...facts };
  if (configured.roles !== undefined) automatic.roles = configured.roles;
  automatic.push_jobs = {
    client_version: agentVersion,
    ...(allowed === undefined ? {} : { allowed_commands: allowed }),
  };
  return {
    automatic,
    normal,
    runList: (configured.roles ?? []).map((r) => `role[${r}]`),
    ...(configured.chef_environment === undefined ? {} : { chefEnvironment: configured.chef_environment }),
  };
}

/**
 * The parts to report. Over `maxBytes`, the configured `attributes` are left out first, then the
 * allowed command names are cut to what fits (with `allowed_commands_truncated: true`), and
 * finally only the collected facts are reported; each step adds a line to `trimmed`.
 */
export function buildOwnedParts(
  facts: Json,
  configured: ConfiguredFacts,
  allowedCommands: readonly string[],
  agentVersion: string,
  maxBytes = MAX_REPORTED_BYTES,
): BuiltParts {
  const trimmed: string[] = [];
  const allowed = [...allowedCommands];
  let parts = compose(facts, configured, allowed, agentVersion, true);
  let size = jsonBytes(parts);
  if (size <= maxBytes) return { parts, trimmed };
  if (configured.attributes !== undefined) {
    trimmed.push(
      `node attributes left out: what the agent reports is ${size} bytes, over the ${maxBytes}-byte bound`,
    );
    parts = compose(facts, configured, allowed, agentVersion, false);
    size = jsonBytes(parts);
    if (size <= maxBytes) return { parts, trimmed };
  }
  if (allowed.length > 0) {
    const over = size - maxBytes;
    let cut = 0;
    let freed = 0;
    while (cut < allowed.length && freed < over + 64)
      freed += jsonBytes(allowed[allowed.length - 1 - cut++]) + 1;
    const kept = allowed.slice(0, allowed.length - cut);
    parts = compose(facts, configured, kept, agentVersion, false);
    (parts.automatic.push_jobs as Json).allowed_commands_truncated = true;
    trimmed.push(
      `allowed command names cut to ${kept.length} of ${allowed.length} to stay within ${maxBytes} bytes`,
    );
    size = jsonBytes(parts);
    if (size <= maxBytes) return { parts, trimmed };
  }
  trimmed.push(`configured node keys left out: still ${size} bytes, over the ${maxBytes}-byte bound`);
  return { parts: compose(facts, {}, undefined, agentVersion, false), trimmed };
}
