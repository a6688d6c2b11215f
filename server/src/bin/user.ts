/**
 * `push-jobs-server user create|list|delete`.
 *
 * @module
 */
import { StoreNotFoundError } from '../store/types.js';
import { associateUser, createUserWithKey } from '../identity/service.js';
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
  type Verb,
} from './context.js';
import { checkName } from './names.js';

const CREATE: CommandSpec = {
  command: 'user create',
  options: {
    ...STORE_OPTIONS,
    ...KEY_OPTIONS,
    org: { type: 'string' },
    admin: { type: 'boolean' },
    'display-name': { type: 'string' },
    email: { type: 'string' },
  },
  positionals: ['NAME'],
  help: `Usage: ${PROGRAM} user create NAME [--org ORG [--admin]] [--key-out FILE | --public-key FILE] [store options]

Creates a user with a key named "default". Without --public-key a 2048-bit RSA key pair is
generated and its private key written to FILE (default <data_dir>/keys/NAME.pem, mode 0600,
never overwritten). With --org the user joins that org and its users group; --admin also
puts it in admins.

  --org ORG               make the user a member of ORG
  --admin                 also add the user to ORG's admins group (needs --org)
  --key-out FILE          where to write the generated private key
  --public-key FILE       use this PEM public key instead of generating a pair
  --display-name TEXT     display name (default: NAME)
  --email ADDRESS         email address (default: empty)
${STORE_OPTIONS_HELP}

Example:
  ${PROGRAM} user create alice --org acme --admin --key-out ./alice.pem`,
};

const LIST: CommandSpec = {
  command: 'user list',
  options: { ...STORE_OPTIONS, org: { type: 'string' } },
  help: `Usage: ${PROGRAM} user list [--org ORG] [store options]

Lists users (one name per line, or a JSON array); with --org, only that org's members.

  --org ORG               list only members of ORG
${STORE_OPTIONS_HELP}

Example:
  ${PROGRAM} user list --org acme --json`,
};

const DELETE: CommandSpec = {
  command: 'user delete',
  options: { ...STORE_OPTIONS, yes: { type: 'boolean' } },
  positionals: ['NAME'],
  help: `Usage: ${PROGRAM} user delete NAME --yes [store options]

Deletes a user with its keys, memberships and group entries. --yes is required. Key files
are left where they are.

${STORE_OPTIONS_HELP}

Example:
  ${PROGRAM} user delete alice --yes`,
};

const VERBS: Record<string, Verb> = {
  create: {
    summary: 'create a user with a key, optionally in an org',
    async run(args) {
      const parsed = parseCommand(args, CREATE);
      if (parsed === undefined) return 0;
      const { values, positionals } = parsed;
      const name = checkName('user', positionals[0] ?? '', CREATE.command);
      const org = str(values, 'org');
      const admin = flag(values, 'admin');
      if (admin && org === undefined) throw new UsageError('--admin needs --org', CREATE.command);
      const config = loadConfig(values, CREATE.command);
      const key = await planKey(values, config, name, CREATE.command);
      const displayName = str(values, 'display-name');
      const email = str(values, 'email');

      const user = await withStore(config, async (store) => {
        if (org !== undefined && (await store.getOrg(org)) === undefined)
          throw new StoreNotFoundError('org', org);
        const created = await createUserWithKey(store, {
          name,
          ...(displayName === undefined ? {} : { displayName }),
          ...(email === undefined ? {} : { email }),
          ...(key.publicKey === undefined ? {} : { publicKey: key.publicKey }),
        });
        try {
          if (org !== undefined) await associateUser(store, org, name, { admin });
          if (key.keyOut !== undefined && created.privateKey !== undefined) {
            await writeKeyFile(key.keyOut, created.privateKey);
          }
        } catch (err) {
          await store.deleteUser(name).catch(() => false);
          throw err;
        }
        return created.user;
      });

      const lines = [`created user ${name}`];
      if (org !== undefined) lines.push(`member of org ${org}${admin ? ' (in admins)' : ''}`);
      if (key.keyOut !== undefined) lines.push(`private key: ${key.keyOut}`);
      output(values, { user, org: org ?? null, admin, keyFile: key.keyOut ?? null }, lines);
      return 0;
    },
  },
  list: {
    summary: 'list users (or the members of an org)',
    async run(args) {
      const parsed = parseCommand(args, LIST);
      if (parsed === undefined) return 0;
      const { values } = parsed;
      const org = str(values, 'org');
      const config = loadConfig(values, LIST.command);
      const users = await withStore(config, async (store) => {
        const all = await store.listUsers();
        if (org === undefined) return all;
        if ((await store.getOrg(org)) === undefined) throw new StoreNotFoundError('org', org);
        const members = new Set(await store.listOrgMembers(org));
        return all.filter((u) => members.has(u.name));
      });
      output(
        values,
        users,
        users.map((u) => u.name),
      );
      return 0;
    },
  },
  delete: deleteVerb({
    entity: 'user',
    summary: 'delete a user',
    spec: DELETE,
    remove: (store, name) => store.deleteUser(name),
  }),
};

/** Help of the `user` command group. */
export const USER_HELP = `Usage: ${PROGRAM} user <create|list|delete> ... [--json]

Manages users (global, members of orgs).

${verbList('user', VERBS)}

Run '${PROGRAM} user <command> --help' for a command's options.

Example:
  ${PROGRAM} user create alice --org acme --admin`;

/** Runs `user ...`; resolves to the exit status. */
export function runUser(args: readonly string[]): Promise<number> {
  return runVerbs('user', args, VERBS, USER_HELP);
}
