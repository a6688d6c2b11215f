/**
 * `push-jobs-cookbook apply`: the command line over {@link converge}.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isPlatformFamily } from '../attributes/defaults.js';
import { mergeAttributes, parseAttributesFile, precedenceLayers } from '../attributes/merge.js';
import {
  INIT_SYSTEMS,
  PLATFORM_FAMILIES,
  type AttributeLevels,
  type InitSystem,
  type PlatformFamily,
} from '../attributes/types.js';
import { validateAttributes } from '../attributes/validate.js';
import { converge, normalizeRecipes } from '../converge.js';
import { summaryLine } from '../converge/report.js';
import { CookbookError, errorMessage } from '../errors.js';
import { detectPlatformFamily } from '../platform.js';
import { fetchNodeAttributes } from '../server-attributes.js';

/** Where the command writes. */
export interface CliIo {
  /** Standard output. */
  stdout: { write(text: string): unknown };
  /** Standard error. */
  stderr: { write(text: string): unknown };
}

/** Usage text. */
export const USAGE = `Usage: push-jobs-cookbook apply [options]

Converges the push jobs agent on this node (or under --root): installs the agent package,
renders /etc/chef/push-jobs-client.rb and the key file, writes the service definition, and
enables and starts the service. Prints what changed and a summary; exits 1 on failure.

Options:
  -j, --attributes FILE      Attributes JSON, like chef-solo -j: {"push_jobs": {...}}, or
                             {"default"|"normal"|"override": {"push_jobs": {...}}}, or a node
                             object. Repeatable (later files win within a precedence level).
  -S, --server URL           Sets push_jobs.chef.chef_server_url (ends in /organizations/ORG)
  -N, --node NAME            Sets push_jobs.chef.node_name
  -k, --key PATH             Sets push_jobs.chef.client_key_path (the key's path on the node)
      --key-source FILE      Sets push_jobs.chef.client_key_source (a PEM file to install there)
      --from-server          Also read the node object NAME from the server (signed with the key)
      --root DIR             Lay everything under DIR (service actions are only recorded)
  -W, --why-run              Show what would change (with diffs) and change nothing
  -o, --recipe LIST          Recipes to run, comma-separated: install,config,service (default all)
      --platform-family F    ${PLATFORM_FAMILIES.join(', ')} (default: from /etc/os-release)
      --init-system S        ${INIT_SYSTEMS.join(', ')} (default: init_style, else detected)
      --json                 Print the converge report as JSON (progress goes to stderr)
  -h, --help                 Show this help
`;

const OPTIONS = {
  attributes: { type: 'string', short: 'j', multiple: true },
  server: { type: 'string', short: 'S' },
  node: { type: 'string', short: 'N' },
  key: { type: 'string', short: 'k' },
  'key-source': { type: 'string' },
  'from-server': { type: 'boolean' },
  root: { type: 'string' },
  'why-run': { type: 'boolean', short: 'W' },
  recipe: { type: 'string', short: 'o', multiple: true },
  'platform-family': { type: 'string' },
  'init-system': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

function flagLayer(values: {
  server?: string;
  node?: string;
  key?: string;
  'key-source'?: string;
}): AttributeLevels {
  const chef: Record<string, string> = {};
  if (values.server !== undefined) chef['chef_server_url'] = values.server;
  if (values.node !== undefined) chef['node_name'] = values.node;
  if (values.key !== undefined) chef['client_key_path'] = values.key;
  if (values['key-source'] !== undefined) chef['client_key_source'] = resolve(values['key-source']);
  return Object.keys(chef).length === 0 ? {} : { override: { chef } };
}

function readKey(path: string, shown: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CookbookError(
      `--from-server needs the node's key: cannot read ${shown}: ${errorMessage(err)}`,
      {
        attribute: 'push_jobs.chef.client_key_path',
        path: shown,
      },
    );
  }
}

/**
 * Runs `push-jobs-cookbook` with `argv` (without node and script paths) and returns the exit
 * code: 0 converged, 1 failed (bad attributes, a resource failed), 2 usage error.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    }));
    if (values.help === true) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length === 0)
      throw new UsageError('missing command (use: push-jobs-cookbook apply [options])');
    if (positionals[0] !== 'apply' || positionals.length > 1) {
      throw new UsageError(
        `unknown command '${positionals.join(' ')}' (use: push-jobs-cookbook apply [options])`,
      );
    }
    const family = values['platform-family'];
    if (family !== undefined && !isPlatformFamily(family)) {
      throw new UsageError(
        `--platform-family ${family} is not supported (use ${PLATFORM_FAMILIES.join(', ')})`,
      );
    }
    const init = values['init-system'];
    if (init !== undefined && !(INIT_SYSTEMS as readonly string[]).includes(init)) {
      throw new UsageError(`--init-system ${init} is not supported (use ${INIT_SYSTEMS.join(', ')})`);
    }
  } catch (err) {
    io.stderr.write(
      `push-jobs-cookbook: ${errorMessage(err).replace(/\. To specify a positional.*$/su, '')}\n`,
    );
    io.stderr.write('Run push-jobs-cookbook --help for usage.\n');
    return 2;
  }

  const json = values.json === true;
  const progress = json ? io.stderr : io.stdout;
  const log = (line: string): void => void progress.write(`${line}\n`);
  try {
    const recipes = normalizeRecipes(
      values.recipe
        ?.flatMap((r) => r.split(','))
        .map((r) => r.trim())
        .filter((r) => r !== ''),
    );
    const root = values.root === undefined ? undefined : resolve(values.root);
    const platformFamily: PlatformFamily =
      (values['platform-family'] as PlatformFamily | undefined) ?? detectPlatformFamily(root);
    const files = (values.attributes ?? []).map((file) => parseAttributesFile(readText(file), file));
    const flags = flagLayer(values);
    let layers = precedenceLayers(...files, flags);
    if (values['from-server'] === true) {
      const attrs = validateAttributes(mergeAttributes(...layers), platformFamily);
      if (attrs.chef.chef_server_url === null || attrs.chef.node_name === null) {
        throw new CookbookError(
          '--from-server needs the server URL and node name (--server, --node or the attributes)',
          {
            attribute:
              attrs.chef.chef_server_url === null
                ? 'push_jobs.chef.chef_server_url'
                : 'push_jobs.chef.node_name',
          },
        );
      }
      const keyPath =
        attrs.chef.client_key_source ??
        (root === undefined ? attrs.chef.client_key_path : join(root, attrs.chef.client_key_path));
      log(`Reading node ${attrs.chef.node_name} from ${attrs.chef.chef_server_url}`);
      const server = await fetchNodeAttributes({
        chefServerUrl: attrs.chef.chef_server_url,
        nodeName: attrs.chef.node_name,
        privateKey: readKey(keyPath, keyPath),
        sslVerifyMode: attrs.chef.ssl_verify_mode,
        trustedCertsDir:
          root === undefined ? attrs.chef.trusted_certs_path : join(root, attrs.chef.trusted_certs_path),
      });
      // The server's node first: a -j file's attributes win over the saved node, as in chef-client.
      layers = precedenceLayers(server, ...files, flags);
    }
    const report = await converge(mergeAttributes(...layers), {
      ...(root === undefined ? {} : { root }),
      whyRun: values['why-run'] === true,
      recipes,
      platformFamily,
      ...(values['init-system'] === undefined ? {} : { initSystem: values['init-system'] as InitSystem }),
      log,
    });
    log('');
    log(summaryLine(report));
    if (json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } catch (err) {
    const message = errorMessage(err);
    const report = err instanceof CookbookError ? err.report : undefined;
    if (report !== undefined) {
      log('');
      log(summaryLine(report));
    }
    io.stderr.write(`push-jobs-cookbook: ERROR: ${message}\n`);
    if (json)
      io.stdout.write(
        `${JSON.stringify({ error: { message, code: (err as { code?: string }).code }, report }, null, 2)}\n`,
      );
    return 1;
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CookbookError(`cannot read attributes file ${file}: ${errorMessage(err)}`, {
      path: file,
      cause: err,
    });
  }
}
