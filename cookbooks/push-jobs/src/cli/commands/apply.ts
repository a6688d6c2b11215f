/**
 * `push-jobs-cookbook apply`: the command line over {@link converge}.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Flags } from '@oclif/core';
import { isPlatformFamily } from '../../attributes/defaults.js';
import { mergeAttributes, parseAttributesFile, precedenceLayers } from '../../attributes/merge.js';
import {
  INIT_SYSTEMS,
  PLATFORM_FAMILIES,
  type AttributeLevels,
  type InitSystem,
  type PlatformFamily,
} from '../../attributes/types.js';
import { validateAttributes } from '../../attributes/validate.js';
import { converge, normalizeRecipes } from '../../converge.js';
import { summaryLine } from '../../converge/report.js';
import { CookbookError, errorMessage } from '../../errors.js';
import { detectPlatformFamily } from '../../platform.js';
import { fetchNodeAttributes } from '../../server-attributes.js';
import { type CliIo, PROCESS_IO, reportFailure, toUsageError } from '../io.js';

function flagLayer(values: {
  server?: string | undefined;
  node?: string | undefined;
  key?: string | undefined;
  'key-source'?: string | undefined;
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

/** `apply`: see the module notes. */
export default class Apply extends Command {
  static override summary = 'Converge the push jobs agent on this node.';
  static override description =
    'Converges the push jobs agent on this node (or under --root): installs the agent package, ' +
    'renders /etc/chef/push-jobs-client.rb and the key file, writes the service definition, and ' +
    'enables and starts the service. Prints what changed and a summary. Exit codes: 0 converged, ' +
    '1 failed (the message names the attribute or path), 2 usage error.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> -j node.json --server https://chef.example/organizations/acme --node web1',
    '<%= config.bin %> <%= command.id %> -j node.json --why-run',
    '<%= config.bin %> <%= command.id %> --from-server --server https://chef.example/organizations/acme --node web1 --key /etc/chef/client.pem',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    attributes: Flags.string({
      char: 'j',
      multiple: true,
      helpValue: 'FILE',
      description:
        'Attributes JSON, like chef-solo -j: {"push_jobs": {...}}, or {"default"|"normal"|"override": ' +
        '{"push_jobs": {...}}}, or a node object. Repeatable (later files win within a precedence level).',
    }),
    server: Flags.string({
      char: 'S',
      helpValue: 'URL',
      description: 'Sets push_jobs.chef.chef_server_url (ends in /organizations/ORG).',
    }),
    node: Flags.string({ char: 'N', helpValue: 'NAME', description: 'Sets push_jobs.chef.node_name.' }),
    key: Flags.string({
      char: 'k',
      helpValue: 'PATH',
      description: "Sets push_jobs.chef.client_key_path (the key's path on the node).",
    }),
    'key-source': Flags.string({
      helpValue: 'FILE',
      description: 'Sets push_jobs.chef.client_key_source (a PEM file to install there).',
    }),
    'from-server': Flags.boolean({
      description: 'Also read the node object NAME from the server (signed with the key).',
    }),
    root: Flags.string({
      helpValue: 'DIR',
      description: 'Lay everything under DIR (service actions are only recorded).',
    }),
    'why-run': Flags.boolean({
      char: 'W',
      description: 'Show what would change (with diffs) and change nothing.',
    }),
    recipe: Flags.string({
      char: 'o',
      multiple: true,
      helpValue: 'LIST',
      description: 'Recipes to run, comma-separated: install,config,service (default all).',
    }),
    'platform-family': Flags.string({
      helpValue: 'F',
      description: `${PLATFORM_FAMILIES.join(', ')} (default: from /etc/os-release).`,
    }),
    'init-system': Flags.string({
      helpValue: 'S',
      description: `${INIT_SYSTEMS.join(', ')} (default: init_style, else detected).`,
    }),
  };

  /** Where the command writes (the process's streams unless {@link execute} is given others). */
  private io: CliIo = PROCESS_IO;

  /** Runs the command, writing to `io`; resolves to the exit code (errors are printed). */
  async execute(io: CliIo): Promise<number> {
    this.io = io;
    try {
      await this._run();
      return 0;
    } catch (err) {
      return reportFailure(err, io, this.argv.includes('--json'));
    }
  }

  async run(): Promise<void> {
    let values;
    try {
      ({ flags: values } = await this.parse(Apply));
    } catch (err) {
      throw toUsageError(err);
    }
    const family = values['platform-family'];
    if (family !== undefined && !isPlatformFamily(family)) {
      throw toUsageError(
        `--platform-family ${family} is not supported (use ${PLATFORM_FAMILIES.join(', ')})`,
      );
    }
    const init = values['init-system'];
    if (init !== undefined && !(INIT_SYSTEMS as readonly string[]).includes(init)) {
      throw toUsageError(`--init-system ${init} is not supported (use ${INIT_SYSTEMS.join(', ')})`);
    }

    const json = values.json === true;
    const progress = json ? this.io.stderr : this.io.stdout;
    const log = (line: string): void => void progress.write(`${line}\n`);
    let report;
    try {
      const recipes = normalizeRecipes(
        values.recipe
          ?.flatMap((r) => r.split(','))
          .map((r) => r.trim())
          .filter((r) => r !== ''),
      );
      const root = values.root === undefined ? undefined : resolve(values.root);
      const platformFamily: PlatformFamily =
        (family as PlatformFamily | undefined) ?? detectPlatformFamily(root);
      const files = (values.attributes ?? []).map((file) => parseAttributesFile(readText(file), file));
      const flags = flagLayer(values);
      let layers = precedenceLayers(...files, flags);
      if (values['from-server']) {
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
      report = await converge(mergeAttributes(...layers), {
        ...(root === undefined ? {} : { root }),
        whyRun: values['why-run'],
        recipes,
        platformFamily,
        ...(init === undefined ? {} : { initSystem: init as InitSystem }),
        log,
      });
    } catch (err) {
      const partial = err instanceof CookbookError ? err.report : undefined;
      if (partial !== undefined) {
        log('');
        log(summaryLine(partial));
      }
      throw err;
    }
    log('');
    log(summaryLine(report));
    if (json) this.io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  }

  /** Errors go to {@link execute}, which prints them and picks the exit code. */
  protected override async catch(err: Error): Promise<never> {
    throw err;
  }
}
