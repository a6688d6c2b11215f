/**
 * Attribute precedence (Chef's: default < normal < override) and the accepted shapes of an
 * attributes document (a `chef-solo -j` file or a Chef node object).
 *
 * @module
 */
import { isPlainObject } from '@push-jobs/protocol';
import { CookbookError } from '../errors.js';
import type { AttributeLevels, PushJobsAttributesInput } from './types.js';

export { isPlainObject };

function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = clone(item);
    return out;
  }
  return value;
}

function mergeInto(target: Record<string, unknown>, layer: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const current = target[key];
    if (isPlainObject(value) && isPlainObject(current)) mergeInto(current, value);
    else target[key] = clone(value);
  }
}

/**
 * Deep-merges attribute layers given lowest precedence first (Chef's order: default < normal <
 * override), and returns a new tree; the inputs are not modified.
 *
 * - Hashes merge key by key (so a node's whitelist entries add to the cookbook's default one).
 * - Arrays and scalars of a later layer replace earlier ones.
 * - `null` in a later layer replaces the value (it is kept as `null`): in `whitelist` and
 *   `environment_variables` it removes that entry, elsewhere it unsets the attribute.
 * - `undefined` layers are skipped.
 *
 * @throws CookbookError when a layer is not a JSON object.
 */
export function mergeAttributes(
  ...layers: ReadonlyArray<object | null | undefined>
): PushJobsAttributesInput {
  const out: Record<string, unknown> = {};
  layers.forEach((layer, index) => {
    if (layer === undefined || layer === null) return;
    if (!isPlainObject(layer)) {
      throw new CookbookError(`attribute layer ${index + 1} must be a JSON object (the push_jobs tree)`, {
        attribute: 'push_jobs',
      });
    }
    mergeInto(out, layer);
  });
  return out as PushJobsAttributesInput;
}

/**
 * Orders the levels of several attribute sources by Chef precedence and returns the layers for
 * {@link mergeAttributes}: every source's `default`, then every `normal`, then every
 * `override`. Within a level, later sources win (pass the server's node object before a `-j`
 * file, as chef-client merges json attribs over the saved node).
 */
export function precedenceLayers(
  ...sources: ReadonlyArray<AttributeLevels | undefined>
): PushJobsAttributesInput[] {
  const layers: PushJobsAttributesInput[] = [];
  for (const level of ['default', 'normal', 'override'] as const) {
    for (const source of sources) {
      const layer = source?.[level];
      if (layer !== undefined) layers.push(layer);
    }
  }
  return layers;
}

function pushJobsOf(value: unknown, where: string): PushJobsAttributesInput | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) {
    throw new CookbookError(`${where} must be a JSON object (got ${describe(value)})`, { attribute: where });
  }
  const tree = value['push_jobs'];
  if (tree === undefined || tree === null) return undefined;
  if (!isPlainObject(tree)) {
    throw new CookbookError(`${where}.push_jobs must be a JSON object (got ${describe(tree)})`, {
      attribute: 'push_jobs',
    });
  }
  return tree as PushJobsAttributesInput;
}

/** `"an array"`, `"a string"`, ... for messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value === 'string' ? 'a string' : typeof value} ${JSON.stringify(value)}`;
}

/**
 * Reads an attributes document into its levels. Accepted shapes:
 *
 * 1. A `chef-solo -j` file: `{ "push_jobs": { ... } }` (normal level); other top-level keys
 *    (other cookbooks' attributes, `run_list`) are ignored.
 * 2. Levels: `{ "default": { "push_jobs": ... }, "normal": { ... }, "override": { ... } }`, any
 *    subset; a top-level `push_jobs` alongside them is merged over `normal`.
 * 3. A Chef node object (`knife node show -l -F json`, `GET /organizations/ORG/nodes/NAME`):
 *    shape 2 plus `name`, `chef_environment`, `run_list`, `automatic`, ... (ignored).
 *
 * @param doc - the parsed JSON.
 * @param source - names the document in errors (a file name, "the server's node object").
 * @throws CookbookError when the document or one of its levels is not an object.
 */
export function attributeLevelsFromDocument(
  doc: unknown,
  source = 'the attributes document',
): AttributeLevels {
  if (!isPlainObject(doc)) {
    throw new CookbookError(
      `${source} must be a JSON object like {"push_jobs": {...}} (got ${describe(doc)})`,
    );
  }
  const levels: AttributeLevels = {};
  const dflt = pushJobsOf(doc['default'], 'default');
  if (dflt !== undefined) levels.default = dflt;
  const override = pushJobsOf(doc['override'], 'override');
  if (override !== undefined) levels.override = override;
  const normal = pushJobsOf(doc['normal'], 'normal');
  const top = pushJobsOf(doc, source);
  if (normal !== undefined || top !== undefined) levels.normal = mergeAttributes(normal, top);
  return levels;
}

/**
 * Parses the text of an attributes file ({@link attributeLevelsFromDocument} shapes).
 *
 * @throws CookbookError naming the file for invalid JSON or a bad shape.
 */
export function parseAttributesFile(text: string, file: string): AttributeLevels {
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/u, ''));
  } catch (err) {
    throw new CookbookError(
      `${file} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
      { path: file, cause: err },
    );
  }
  return attributeLevelsFromDocument(doc, file);
}
