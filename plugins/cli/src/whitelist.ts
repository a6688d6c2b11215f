/**
 * The `push_jobs.whitelist` node attribute (what the push-jobs cookbook renders into the agent's
 * config): reading it with Chef's precedence, and editing the `normal` level, which is what
 * `knife exec -E 'nodes.transform(...) { |n| n.normal["push_jobs"]["whitelist"][...] = ... }'`
 * did.
 *
 * @module
 */
import type { ChefNode, PushApiClient } from '@push-jobs/protocol';
import { notFoundError } from './errors.js';
import { mapLimit, NODE_CONCURRENCY } from './nodes.js';
import { isPushApiError } from '@push-jobs/protocol';

/** Attribute levels, lowest precedence first (Chef's order). */
export const LEVELS = ['default', 'normal', 'override', 'automatic'] as const;

/** One effective whitelist entry. */
export interface WhitelistEntry {
  name: string;
  /** A command line, or an object such as `{"command_line": "...", "lock": true}`. */
  command: unknown;
  /** The attribute level the effective value comes from. */
  level: (typeof LEVELS)[number];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function levelWhitelist(node: ChefNode, level: (typeof LEVELS)[number]): Record<string, unknown> {
  const attrs = node[level];
  const pj = isObject(attrs) ? attrs['push_jobs'] : undefined;
  const wl = isObject(pj) ? pj['whitelist'] : undefined;
  return isObject(wl) ? wl : {};
}

/** The effective whitelist of a node: each entry from the highest level that sets it, sorted by name. */
export function effectiveWhitelist(node: ChefNode): WhitelistEntry[] {
  const merged = new Map<string, WhitelistEntry>();
  for (const level of LEVELS) {
    for (const [name, command] of Object.entries(levelWhitelist(node, level)))
      merged.set(name, { name, command, level });
  }
  return [...merged.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The command line an entry runs, for display. */
export function describeCommand(command: unknown): string {
  if (typeof command === 'string') return command;
  if (isObject(command) && typeof command['command_line'] === 'string') {
    return `${command['command_line']}${command['lock'] === undefined || command['lock'] === false ? '' : ' (lock)'}`;
  }
  return JSON.stringify(command);
}

/**
 * Sets (`command` given) or removes (`command` undefined) entry `name` at the `normal` level.
 * Returns the changed node, or `undefined` when nothing changes.
 */
export function editWhitelist(
  node: ChefNode,
  name: string,
  command: string | undefined,
): ChefNode | undefined {
  const copy = structuredClone(node);
  const normal = isObject(copy.normal) ? copy.normal : (copy.normal = {});
  const pj = isObject(normal['push_jobs']) ? normal['push_jobs'] : (normal['push_jobs'] = {});
  const wl = isObject(pj['whitelist']) ? pj['whitelist'] : (pj['whitelist'] = {});
  if (command === undefined) {
    if (!(name in wl)) return undefined;
    delete wl[name];
  } else {
    if (wl[name] === command) return undefined;
    wl[name] = command;
  }
  return copy;
}

/**
 * Fetches every node; an unknown one fails the whole call (exit 4) before anything changes.
 */
export async function fetchNodes(client: PushApiClient, names: readonly string[]): Promise<ChefNode[]> {
  const missing: string[] = [];
  const nodes = await mapLimit(names, NODE_CONCURRENCY, async (name) => {
    try {
      return await client.getNode(name);
    } catch (err) {
      if (isPushApiError(err) && err.status === 404) {
        missing.push(name);
        return undefined;
      }
      throw err;
    }
  });
  if (missing.length > 0) {
    missing.sort();
    throw notFoundError(
      `unknown node${missing.length === 1 ? '' : 's'} ${missing.map((n) => `'${n}'`).join(', ')}: no node object on the server; check the name${missing.length === 1 ? '' : 's'} (nothing was changed)`,
    );
  }
  return nodes as ChefNode[];
}

/** What a node's agent reports it allows (`automatic.push_jobs`, written by our agent). */
export interface ReportedAllowList {
  /** The allow-list keys of the agent's config, as written there (`/PATTERN/FLAGS` for a regex). */
  allowed_commands: string[];
  /** The agent cut the list to stay within its size bound. */
  truncated: boolean;
  /** The agent's version, when reported. */
  client_version: string | null;
}

/**
 * The allow-list a node's agent reported, or `null` when it reported none (an original Ruby
 * client, an agent with `report_facts false`, or a node object written by hand).
 */
export function reportedAllowList(node: ChefNode): ReportedAllowList | null {
  const pj = isObject(node.automatic) ? node.automatic['push_jobs'] : undefined;
  if (!isObject(pj) || !Array.isArray(pj['allowed_commands'])) return null;
  return {
    allowed_commands: pj['allowed_commands'].filter((c): c is string => typeof c === 'string'),
    truncated: pj['allowed_commands_truncated'] === true,
    client_version: typeof pj['client_version'] === 'string' ? pj['client_version'] : null,
  };
}
