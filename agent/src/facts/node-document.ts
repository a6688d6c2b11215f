/**
 * The node object the agent writes: what it owns merged into what the server holds, so that
 * attributes, run-list entries and the environment others set survive.
 *
 * The agent owns:
 * - the top-level `automatic` keys it reports (collected facts, `roles`, `push_jobs`); other
 *   `automatic` keys (a chef-client run's full ohai data) are kept;
 * - the `normal` keys it is configured with (`tags`, `policy_name`, `policy_group` and each
 *   top-level key of `attributes`), each replaced whole;
 * - the `role[NAME]` run-list entries of its `roles` (appended when missing);
 * - `chef_environment` when configured.
 *
 * What it wrote last time is recorded in `automatic.push_jobs.agent_managed`, so a key or role
 * removed from its config is removed from the node too, and nothing else is.
 *
 * @module
 */
import { emptyNodeDocument, type NodeDocument } from '@push-jobs/protocol/lite';
import type { Json } from './collect.js';

/** A Chef node object, as the server stores it. */
export type NodeObject = NodeDocument;

/** What the agent reports: its parts of the node object. */
export interface OwnedParts {
  /** Top-level `automatic` keys. */
  automatic: Json;
  /** Top-level `normal` keys. */
  normal: Json;
  /** Run-list entries (`role[NAME]`). */
  runList: string[];
  /** The node's Chef environment, when configured. */
  chefEnvironment?: string;
}

/** The record of what the agent wrote (`automatic.push_jobs.agent_managed`). */
export interface ManagedRecord {
  automatic: string[];
  normal: string[];
  run_list: string[];
  chef_environment: boolean;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((e): e is string => typeof e === 'string') : [];

/** The record a node holds, or an empty one. */
export function managedRecord(node: NodeObject | undefined): ManagedRecord {
  const pj = node?.automatic.push_jobs;
  const rec = isObject(pj) ? pj.agent_managed : undefined;
  if (!isObject(rec)) return { automatic: [], normal: [], run_list: [], chef_environment: false };
  return {
    automatic: strings(rec.automatic),
    normal: strings(rec.normal),
    run_list: strings(rec.run_list),
    chef_environment: rec.chef_environment === true,
  };
}

/** A new, empty node object. */
export const emptyNode = (name: string): NodeObject => emptyNodeDocument(name);

/** Reads a node object the server returned; missing or bad parts are filled as empty. */
export function asNodeObject(name: string, value: unknown): NodeObject {
  const node = emptyNode(name);
  if (!isObject(value)) return node;
  if (typeof value.chef_environment === 'string') node.chef_environment = value.chef_environment;
  node.run_list = strings(value.run_list);
  for (const level of ['normal', 'default', 'override', 'automatic'] as const) {
    const v = value[level];
    if (isObject(v)) node[level] = v;
  }
  return node;
}

/** The node to write: `owned` merged into `existing` (see the module documentation). */
export function mergeNode(name: string, existing: NodeObject | undefined, owned: OwnedParts): NodeObject {
  const base = existing ?? emptyNode(name);
  const prev = managedRecord(existing);
  const automatic: Json = { ...base.automatic };
  for (const key of prev.automatic) if (!(key in owned.automatic)) delete automatic[key];
  const normal: Json = { ...base.normal };
  for (const key of prev.normal) if (!(key in owned.normal)) delete normal[key];
  Object.assign(normal, owned.normal);
  const dropped = new Set(prev.run_list.filter((e) => !owned.runList.includes(e)));
  const runList = base.run_list.filter((e) => !dropped.has(e));
  for (const entry of owned.runList) if (!runList.includes(entry)) runList.push(entry);
  const record: ManagedRecord = {
    automatic: Object.keys(owned.automatic).filter((k) => k !== 'push_jobs'),
    normal: Object.keys(owned.normal),
    run_list: owned.runList,
    chef_environment: owned.chefEnvironment !== undefined,
  };
  const pj = isObject(owned.automatic.push_jobs) ? owned.automatic.push_jobs : {};
  Object.assign(automatic, owned.automatic, { push_jobs: { ...pj, agent_managed: record } });
  let env = base.chef_environment;
  if (owned.chefEnvironment !== undefined) env = owned.chefEnvironment;
  else if (prev.chef_environment) env = '_default';
  return { ...base, name, chef_environment: env, run_list: runList, normal, automatic };
}

/** The size in bytes of a value as JSON. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}
