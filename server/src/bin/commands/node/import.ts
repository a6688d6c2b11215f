/**
 * `push-jobs-server node import PATH --org ORG`: Chef node objects from `knife node show -F json`
 * output or a `knife download nodes` directory, so nodes without an agent of ours (the original
 * client) become searchable (`platform:debian AND tags:web`).
 *
 * @module
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { ERROR_CODES, errorMessage, isPlainObject, PushJobsError } from '@push-jobs/protocol/internal';
import { toNodeDocument } from '../../../routes/identity/nodes.js';
import { StoreNotFoundError, type NodeDocument } from '../../../store/types.js';
import { ServerCommand } from '../../base-command.js';
import { loadConfig, withStore } from '../../context.js';
import { storeFlags } from '../../flags.js';
import { orgFlag, requireOrgFlag } from '../../org-flag.js';

/** Largest node object imported, in bytes of JSON (Chef server's default request bound). */
export const MAX_IMPORTED_NODE_BYTES = 1_000_000;
/** Largest input file read, in bytes. */
export const MAX_IMPORT_FILE_BYTES = 64 * 1024 * 1024;
/** Most nodes one import takes. */
export const MAX_IMPORTED_NODES = 100_000;
/** Problems listed before the rest are counted. */
const MAX_LISTED_PROBLEMS = 20;

/** A skipped node and why. */
export interface SkippedNode {
  name: string;
  reason: string;
}

/** The `--json` document of `node import`. */
export interface NodeImportResult {
  org: string;
  dryRun: boolean;
  /** Nodes created. */
  imported: string[];
  /** Existing nodes overwritten (`--replace`). */
  replaced: string[];
  skipped: SkippedNode[];
}

/** A node read from the input, with where it came from (for errors). */
interface SourcedNode {
  doc: NodeDocument;
  where: string;
}

const fail = (message: string): PushJobsError => new PushJobsError(ERROR_CODES.CONFIG, message);

/** The input files: PATH itself, or the `*.json` of PATH (or of PATH/nodes, knife's layout). */
async function inputFiles(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw fail(`cannot read ${path}: ${errorMessage(err)}`);
  }
  if (info.isFile()) return [path];
  if (!info.isDirectory()) throw fail(`${path} is neither a file nor a directory`);
  let dir = path;
  try {
    if ((await stat(join(path, 'nodes'))).isDirectory()) dir = join(path, 'nodes');
  } catch {
    // no nodes/ subdirectory: PATH is the nodes directory
  }
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  if (names.length === 0) throw fail(`no *.json node files in ${dir}`);
  return names.map((n) => join(dir, n));
}

/**
 * The node bodies of one parsed file: one node object, an array of them, or a `{NAME: node}`
 * map. Each comes with where it was found.
 */
function nodeBodies(value: unknown, file: string): { body: unknown; where: string; key?: string }[] {
  if (Array.isArray(value)) return value.map((body, i) => ({ body, where: `${file}[${i}]` }));
  if (!isPlainObject(value)) throw fail(`${file}: expected a node object, an array or a {name: node} map`);
  const looksLikeNode =
    'name' in value || 'json_class' in value || 'chef_type' in value || 'run_list' in value;
  if (looksLikeNode) return [{ body: value, where: file }];
  return Object.entries(value).map(([key, body]) => ({ body, where: `${file} (key '${key}')`, key }));
}

/** Checks one node body as the nodes API does, plus knife's fields and the size bound. */
function checkNode(body: unknown, where: string, key: string | undefined, file: string): NodeDocument {
  if (!isPlainObject(body)) throw fail(`${where}: not a node object`);
  const size = Buffer.byteLength(JSON.stringify(body), 'utf8');
  if (size > MAX_IMPORTED_NODE_BYTES) {
    throw fail(`${where}: node is ${size} bytes, over the ${MAX_IMPORTED_NODE_BYTES}-byte bound`);
  }
  if (body.json_class !== undefined && body.json_class !== 'Chef::Node') {
    throw fail(`${where}: json_class is '${String(body.json_class)}', not 'Chef::Node'`);
  }
  if (body.chef_type !== undefined && body.chef_type !== 'node') {
    throw fail(`${where}: chef_type is '${String(body.chef_type)}', not 'node'`);
  }
  // knife download writes nodes/NAME.json; a file of one node without a name is named by its file.
  const fallback = key ?? (where === file ? basename(file, '.json') : undefined);
  if (key !== undefined && body.name !== undefined && body.name !== key) {
    throw fail(`${where}: name '${String(body.name)}' differs from its key '${key}'`);
  }
  let doc: NodeDocument;
  try {
    doc = toNodeDocument(
      body.name === undefined && fallback !== undefined ? { ...body, name: fallback } : body,
    );
  } catch (err) {
    throw fail(`${where}: ${errorMessage(err)}`);
  }
  // Policyfile nodes: Chef keeps policy_name/policy_group at the top level; kept in `normal` here
  // (as the agent reports them) so `policy_group:prod` finds them.
  for (const field of ['policy_name', 'policy_group'] as const) {
    const v = body[field];
    if (typeof v === 'string' && v !== '' && doc.normal[field] === undefined) doc.normal[field] = v;
  }
  return doc;
}

/** Reads and checks every node of the input; all problems are reported together. */
async function readNodes(path: string): Promise<SourcedNode[]> {
  const nodes: SourcedNode[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const file of await inputFiles(path)) {
    let value: unknown;
    try {
      const info = await stat(file);
      if (info.size > MAX_IMPORT_FILE_BYTES) {
        throw fail(`${file}: ${info.size} bytes, over the ${MAX_IMPORT_FILE_BYTES}-byte bound`);
      }
      const text = await readFile(file, 'utf8');
      try {
        value = JSON.parse(text) as unknown;
      } catch (err) {
        throw fail(`${file}: not JSON (${errorMessage(err)})`);
      }
    } catch (err) {
      problems.push(err instanceof PushJobsError ? err.message : `${file}: ${errorMessage(err)}`);
      continue;
    }
    let bodies;
    try {
      bodies = nodeBodies(value, file);
    } catch (err) {
      problems.push(errorMessage(err));
      continue;
    }
    for (const { body, where, key } of bodies) {
      try {
        const doc = checkNode(body, where, key, file);
        const first = seen.get(doc.name);
        if (first !== undefined) throw fail(`${where}: node '${doc.name}' also given in ${first}`);
        seen.set(doc.name, where);
        nodes.push({ doc, where });
      } catch (err) {
        problems.push(errorMessage(err));
      }
      if (nodes.length > MAX_IMPORTED_NODES) {
        throw fail(`more than ${MAX_IMPORTED_NODES} nodes in ${path}: import them in parts`);
      }
    }
  }
  if (problems.length > 0) {
    const listed = problems.slice(0, MAX_LISTED_PROBLEMS);
    const more = problems.length - listed.length;
    throw fail(
      `nothing imported: ${problems.length} invalid node input${problems.length === 1 ? '' : 's'}: ${listed.join('; ')}` +
        (more > 0 ? `; and ${more} more` : ''),
    );
  }
  if (nodes.length === 0) throw fail(`no nodes in ${path}`);
  return nodes;
}

/** One summary line: `imported 12, replaced 3, skipped 1 (web3: already exists)`. */
export function importSummary(result: NodeImportResult): string {
  const verb = result.dryRun ? 'would import' : 'imported';
  const parts = [`${verb} ${result.imported.length}`, `replaced ${result.replaced.length}`];
  let skipped = `skipped ${result.skipped.length}`;
  if (result.skipped.length > 0) {
    const shown = result.skipped.slice(0, 5).map((s) => `${s.name}: ${s.reason}`);
    const more = result.skipped.length - shown.length;
    skipped += ` (${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''})`;
  }
  parts.push(skipped);
  return `${parts.join(', ')} in org ${result.org}`;
}

/** `node import`: Chef node objects from knife's JSON. */
export default class NodeImport extends ServerCommand<typeof NodeImport> {
  static override summary = 'Import Chef node objects (knife JSON) so search can target them.';
  static override description = `Reads node objects written by knife and stores them in ORG, so nodes running the original Ruby push client (which reports no facts of its own) are found by job searches such as 'platform:debian AND tags:web'.

PATH is a file or a directory:
  - a file of 'knife node show NAME -l -F json' output: one node object, a JSON array of node objects, or a {"NAME": node} map;
  - a directory of NAME.json node files, or a 'knife download nodes' repository (its nodes/ subdirectory is read).

Every node is checked first (name: 1-255 letters, digits, '_', '.', ':', '-'; normal/default/override/automatic objects; run_list of strings; at most ${MAX_IMPORTED_NODE_BYTES} bytes each): one bad input stops the import before anything is written, naming the file. An existing node is skipped unless --replace is given (nodes whose agents report facts keep them). A top-level policy_name/policy_group is kept under 'normal', where agents report it.`;
  static override examples = [
    'knife node show web1 -l -F json > web1.json && <%= config.bin %> <%= command.id %> web1.json --org acme',
    'knife download nodes --chef-repo-path ./repo && <%= config.bin %> <%= command.id %> ./repo --org acme --dry-run',
    '<%= config.bin %> <%= command.id %> ./repo/nodes --org acme --replace --json',
  ];
  static override enableJsonFlag = true;
  static override args = {
    PATH: Args.string({
      description: 'A knife JSON file, or a directory of node JSON files.',
      required: true,
    }),
  };
  static override flags = {
    ...storeFlags,
    ...orgFlag,
    replace: Flags.boolean({
      description: 'Overwrite nodes that already exist (default: skip them).',
      exclusive: ['skip-existing'],
    }),
    'skip-existing': Flags.boolean({ description: 'Skip nodes that already exist (the default).' }),
    'dry-run': Flags.boolean({ description: 'Check the input and report what would change; write nothing.' }),
  };

  async run(): Promise<NodeImportResult> {
    const org = requireOrgFlag(this, this.flags.org);
    const replace = this.flags.replace === true;
    const dryRun = this.flags['dry-run'] === true;
    const nodes = await readNodes(this.args.PATH);
    const config = loadConfig(this.flags, this.words);
    const result: NodeImportResult = { org, dryRun, imported: [], replaced: [], skipped: [] };
    await withStore(config, async (store) => {
      if ((await store.getOrg(org)) === undefined) throw new StoreNotFoundError('org', org);
      const existing = new Set(await store.listNodeNames(org));
      for (const { doc } of nodes) {
        if (existing.has(doc.name)) {
          if (!replace) {
            result.skipped.push({ name: doc.name, reason: 'already exists (use --replace)' });
            continue;
          }
          if (!dryRun) await store.putNode(org, doc);
          result.replaced.push(doc.name);
        } else {
          if (!dryRun) await store.createNode(org, doc);
          result.imported.push(doc.name);
        }
      }
    });
    this.print(importSummary(result));
    return result;
  }
}
