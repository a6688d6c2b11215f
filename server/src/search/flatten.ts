/**
 * How Chef's search index sees a node: the merged attributes plus a few top-level fields,
 * flattened into `field -> values`.
 *
 * - Attribute levels are deep-merged, `automatic` > `override` > `normal` > `default`: objects
 *   merge key by key; anything else (arrays included) is replaced by the higher level.
 * - Nested keys are joined with `_` (`kernel_machine`), and each value is also indexed under its
 *   leaf key alone (`machine`). As in Chef, a leaf key can collide with a top-level field: an
 *   attribute `{ cloud: { name: 'x' } }` adds `x` to `name`.
 * - Array elements are all indexed under the array's key; objects inside arrays are flattened
 *   under that key (`{ disks: [{ size: 1 }] }` gives `disks_size` and `size`).
 * - Numbers and booleans are indexed as their string form; `null` and empty containers add
 *   nothing.
 * - Top-level fields: `name`, `chef_environment`, `chef_type` (`node`), `run_list` (normalised
 *   entries `recipe[x]` / `role[y]`), `recipe` and `role` (the names from the run list, versions
 *   dropped). They replace top-level attributes of the same name, as in Chef.
 * - Field names are lowercased; values keep their case (matching ignores it).
 *
 * @module
 */
import type { NodeDocument } from '../store/types.js';

/** A flattened node: lowercased field name to its distinct values, in first-seen order. */
export type FlatNode = Map<string, string[]>;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Deep-merge attribute levels, lowest precedence first. Objects merge; any other value at a
 * higher level replaces the lower one. Inputs are not modified.
 */
export function mergeAttributes(...levels: Json[]): Json {
  let merged: Json = {};
  for (const level of levels) merged = mergeInto(merged, level);
  return merged;
}

function mergeInto(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const cur = out[k];
    out[k] = isObject(cur) && isObject(v) ? mergeInto(cur, v) : v;
  }
  return out;
}

/** One run-list entry, normalised as Chef stores it (`apache2` becomes `recipe[apache2]`). */
interface RunListItem {
  type: 'recipe' | 'role';
  name: string;
  entry: string;
}

const RUN_LIST_ITEM = /^(recipe|role)\[([^\]]+)\]$/;

/** Parse a run-list entry; unknown shapes are kept as written, as recipes. */
export function parseRunListItem(entry: string): RunListItem {
  const m = RUN_LIST_ITEM.exec(entry.trim());
  if (m !== null) {
    const type = m[1] === 'role' ? 'role' : 'recipe';
    const full = m[2] ?? '';
    // recipe[name@1.2.3]: the name without its version, as Chef's recipe_names.
    const name = type === 'recipe' ? full.replace(/@.*$/, '') : full;
    return { type, name, entry: `${type}[${full}]` };
  }
  const bare = entry.trim();
  return { type: 'recipe', name: bare.replace(/@.*$/, ''), entry: `recipe[${bare}]` };
}

/** The document Chef indexes for a node, before flattening. */
export function indexDocument(node: NodeDocument): Json {
  const attrs = mergeAttributes(
    node.default ?? {},
    node.normal ?? {},
    node.override ?? {},
    node.automatic ?? {},
  );
  const items = (node.run_list ?? []).map(parseRunListItem);
  return {
    ...attrs,
    name: node.name,
    chef_environment: node.chef_environment,
    chef_type: 'node',
    run_list: items.map((i) => i.entry),
    recipe: items.filter((i) => i.type === 'recipe').map((i) => i.name),
    role: items.filter((i) => i.type === 'role').map((i) => i.name),
  };
}

/** Flatten a node the way Chef's search index does (see the module documentation). */
export function flattenNode(node: NodeDocument): FlatNode {
  const fields = new Map<string, Set<string>>();
  const add = (key: string, value: string): void => {
    let set = fields.get(key);
    if (set === undefined) fields.set(key, (set = new Set()));
    set.add(value);
  };
  const walk = (path: string, leaf: string, value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) walk(path, leaf, v);
    } else if (isObject(value)) {
      for (const [k, v] of Object.entries(value)) {
        const key = k.toLowerCase();
        walk(path === '' ? key : `${path}_${key}`, key, v);
      }
    } else if (
      typeof value === 'string' ||
      typeof value === 'number' ||
      typeof value === 'boolean' ||
      typeof value === 'bigint'
    ) {
      const s = String(value);
      add(path, s);
      if (leaf !== path) add(leaf, s);
    }
  };
  walk('', '', indexDocument(node));
  const flat: FlatNode = new Map();
  for (const [k, set] of fields) flat.set(k, [...set]);
  return flat;
}
