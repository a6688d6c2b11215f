/**
 * `push-jobs-server init`: creates the data directory, the database, a first organization with
 * its default groups, an admin user and a validator client, and writes their private keys.
 *
 * @module
 */
import { mkdir, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { redactDatabaseUrl, resolveDatabaseUrl } from '../config/load.js';
import type { OrgRecord } from '../store/types.js';
import {
  associateUser,
  createClientWithKey,
  createOrgWithDefaults,
  createUserWithKey,
} from '../identity/service.js';
import {
  CommandError,
  defaultKeyPath,
  exists,
  loadConfig,
  openConfiguredStore,
  output,
  parseCommand,
  PROGRAM,
  refuseExisting,
  STORE_OPTIONS,
  STORE_OPTIONS_HELP,
  str,
  UsageError,
  writeKeyFile,
  type CommandSpec,
} from './context.js';
import { checkName } from './names.js';

/** The organization `init` creates without `--org`. */
export const DEFAULT_INIT_ORG = 'push';
/** The admin user `init` creates without `--admin`. */
export const DEFAULT_INIT_ADMIN = 'admin';

const HELP = `Usage: ${PROGRAM} init [--config FILE] [--data-dir DIR] [--org NAME] [--admin NAME] [--validator NAME] [--json]

Sets up a new server: creates the data directory and the database (applying migrations), an
organization with its groups (admins, users, clients), an admin user (an org member, in
admins) and a validator client, and writes their private keys to <data_dir>/keys/<name>.pem
(mode 0600; the keys directory is 0700). Refuses to overwrite key files or to recreate an
existing org or user; then nothing is changed. Private keys are never printed.

Options:
  --org NAME              organization to create (default: ${DEFAULT_INIT_ORG})
  --full-name TEXT        the organization's full name (default: its name)
  --admin NAME            admin user to create (default: ${DEFAULT_INIT_ADMIN})
  --validator NAME        validator client to create (default: <org>-validator)
${STORE_OPTIONS_HELP}

Example:
  ${PROGRAM} init --data-dir /var/lib/push-jobs --org acme --admin alice`;

const SPEC: CommandSpec = {
  command: 'init',
  options: {
    ...STORE_OPTIONS,
    org: { type: 'string' },
    'full-name': { type: 'string' },
    admin: { type: 'string' },
    validator: { type: 'string' },
  },
  help: HELP,
};

/** Runs `init`; resolves to the exit status. */
export async function runInit(args: readonly string[]): Promise<number> {
  const parsed = parseCommand(args, SPEC);
  if (parsed === undefined) return 0;
  const { values } = parsed;
  const config = loadConfig(values, SPEC.command);
  const org = checkName('org', str(values, 'org') ?? DEFAULT_INIT_ORG, SPEC.command);
  const admin = checkName('user', str(values, 'admin') ?? DEFAULT_INIT_ADMIN, SPEC.command);
  const validator = checkName('client', str(values, 'validator') ?? `${org}-validator`, SPEC.command);
  const adminKey = defaultKeyPath(config, admin);
  const validatorKey = defaultKeyPath(config, validator);
  if (adminKey === validatorKey) {
    throw new UsageError(`the admin and the validator would share the key file ${adminKey}`, SPEC.command);
  }

  // Checks that need no change on disk come first.
  await refuseExisting(adminKey);
  await refuseExisting(validatorKey);

  const dataDir = resolve(config.data_dir);
  if (!(await exists(dataDir))) await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const database = resolveDatabaseUrl(config);
  const store = await openConfiguredStore(config, { create: true });
  try {
    if ((await store.getOrg(org)) !== undefined) {
      throw new CommandError(
        `org "${org}" already exists in ${redactDatabaseUrl(database)}; nothing changed`,
      );
    }
    if ((await store.getUser(admin)) !== undefined) {
      throw new CommandError(
        `user "${admin}" already exists in ${redactDatabaseUrl(database)}; nothing changed`,
      );
    }

    const written: string[] = [];
    let orgRecord: OrgRecord;
    try {
      orgRecord = await createOrgWithDefaults(store, {
        name: org,
        ...optionalFullName(str(values, 'full-name')),
      });
      const user = await createUserWithKey(store, { name: admin });
      await associateUser(store, org, admin, { admin: true });
      const client = await createClientWithKey(store, { org, name: validator, validator: true });
      if (user.privateKey === undefined || client.privateKey === undefined) {
        throw new CommandError('internal error: no key pair was generated');
      }
      await writeKeyFile(adminKey, user.privateKey);
      written.push(adminKey);
      await writeKeyFile(validatorKey, client.privateKey);
      written.push(validatorKey);
    } catch (err) {
      // Undo what this run made, so a retry starts clean.
      for (const file of written) await rm(file, { force: true }).catch(() => undefined);
      await store.deleteOrg(org).catch(() => false);
      await store.deleteUser(admin).catch(() => false);
      throw err;
    }

    output(
      values,
      {
        dataDir,
        database: redactDatabaseUrl(database),
        org: { name: orgRecord.name, guid: orgRecord.guid, fullName: orgRecord.fullName },
        admin: { name: admin, keyFile: adminKey },
        validator: { name: validator, keyFile: validatorKey },
      },
      [
        `data dir:   ${dataDir}`,
        `database:   ${redactDatabaseUrl(database)} (${store.kind})`,
        `org:        ${orgRecord.name} (guid ${orgRecord.guid})`,
        `admin user: ${admin} (org member, in admins); private key: ${adminKey}`,
        `validator:  ${validator}; private key: ${validatorKey}`,
      ],
    );
    return 0;
  } finally {
    await store.close();
  }
}

function optionalFullName(fullName: string | undefined): { fullName?: string } {
  return fullName === undefined ? {} : { fullName };
}
