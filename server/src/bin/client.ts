/**
 * `push-jobs-server client create|list|delete`.
 *
 * @module
 */
import { StoreNotFoundError } from '../store/types.js';
import { createClientWithKey } from '../identity/service.js';
import {
  deleteVerb,
  flag,
  KEY_OPTIONS,
  loadConfig,
  output,
  parseCommand,
  planKey,
  PROGRAM,
  runVerbs,
  STORE_OPTIONS,
  STORE_OPTIONS_HELP,
  str,
  UsageError,
  verbList,
  withStore,
  writeKeyFile,
  type CommandSpec,
  type OptionValues,
  type Verb,
} from './context.js';
import { checkName } from './names.js';

const CREATE: CommandSpec = {
  command: 'client create',
  options: { ...STORE_OPTIONS, ...KEY_OPTIONS, org: { type: 'string' }, validator: { type: 'boolean' } },
  positionals: ['NAME'],
  help: `Usage: ${PROGRAM} client create NAME --org ORG [--validator] [--key-out FILE | --public-key FILE] [store options]

Creates an API client of ORG with a key named "default" and adds it to ORG's clients group.
Without --public-key a 2048-bit RSA key pair is generated and its private key written to
FILE (default <data_dir>/keys/NAME.pem, mode 0600, never overwritten).

  --org ORG               the client's organization (required)
  --validator             a validator client (may create clients)
  --key-out FILE          where to write the generated private key
  --public-key FILE       use this PEM public key instead of generating a pair
${STORE_OPTIONS_HELP}

Example:
  ${PROGRAM} client create web01 --org acme --key-out ./web01.pem`,
};

const LIST: CommandSpec = {
  command: 'client list',
  options: { ...STORE_OPTIONS, org: { type: 'string' } },
  help: `Usage: ${PROGRAM} client list --org ORG [store options]

Lists the clients of ORG (one name per line, or a JSON array).

  --org ORG               the organization (required)
${STORE_OPTIONS_HELP}

Example:
  ${PROGRAM} client list --org acme --json`,
};

const DELETE: CommandSpec = {
  command: 'client delete',
  options: { ...STORE_OPTIONS, org: { type: 'string' }, yes: { type: 'boolean' } },
  positionals: ['NAME'],
  help: `Usage: ${PROGRAM} client delete NAME --org ORG --yes [store options]

Deletes a client of ORG with its keys and group entries. --yes is required.

  --org ORG               the organization (required)
${STORE_OPTIONS_HELP}

Example:
  ${PROGRAM} client delete web01 --org acme --yes`,
};

function requireOrg(values: OptionValues, command: string): string {
  const org = str(values, 'org');
  if (org === undefined) throw new UsageError('--org ORG is required', command);
  return org;
}

const VERBS: Record<string, Verb> = {
  create: {
    summary: 'create a client of an org with a key',
    async run(args) {
      const parsed = parseCommand(args, CREATE);
      if (parsed === undefined) return 0;
      const { values, positionals } = parsed;
      const name = checkName('client', positionals[0] ?? '', CREATE.command);
      const org = requireOrg(values, CREATE.command);
      const validator = flag(values, 'validator');
      const config = loadConfig(values, CREATE.command);
      const key = await planKey(values, config, name, CREATE.command);

      const client = await withStore(config, async (store) => {
        const created = await createClientWithKey(store, {
          org,
          name,
          validator,
          ...(key.publicKey === undefined ? {} : { publicKey: key.publicKey }),
        });
        if (key.keyOut !== undefined && created.privateKey !== undefined) {
          try {
            await writeKeyFile(key.keyOut, created.privateKey);
          } catch (err) {
            await store.deleteClient(org, name).catch(() => false);
            throw err;
          }
        }
        return created.client;
      });

      const lines = [`created ${validator ? 'validator ' : ''}client ${name} in org ${org}`];
      if (key.keyOut !== undefined) lines.push(`private key: ${key.keyOut}`);
      output(values, { client, keyFile: key.keyOut ?? null }, lines);
      return 0;
    },
  },
  list: {
    summary: 'list the clients of an org',
    async run(args) {
      const parsed = parseCommand(args, LIST);
      if (parsed === undefined) return 0;
      const { values } = parsed;
      const org = requireOrg(values, LIST.command);
      const config = loadConfig(values, LIST.command);
      const clients = await withStore(config, async (store) => {
        if ((await store.getOrg(org)) === undefined) throw new StoreNotFoundError('org', org);
        return store.listClients(org);
      });
      output(
        values,
        clients,
        clients.map((c) => (c.validator ? `${c.name} (validator)` : c.name)),
      );
      return 0;
    },
  },
  delete: deleteVerb({
    entity: 'client',
    summary: 'delete a client of an org',
    spec: DELETE,
    orgOf: requireOrg,
    remove: (store, name, org) => store.deleteClient(org!, name),
  }),
};

/** Help of the `client` command group. */
export const CLIENT_HELP = `Usage: ${PROGRAM} client <create|list|delete> ... --org ORG [--json]

Manages the API clients of an organization (node clients and validators).

${verbList('client', VERBS)}

Run '${PROGRAM} client <command> --help' for a command's options.

Example:
  ${PROGRAM} client create web01 --org acme`;

/** Runs `client ...`; resolves to the exit status. */
export function runClient(args: readonly string[]): Promise<number> {
  return runVerbs('client', args, VERBS, CLIENT_HELP);
}
