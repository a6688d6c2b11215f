/**
 * `push-jobs-server init`: creates the data directory, the database, a first organization with
 * its default groups, an admin user and a validator client, and writes their private keys.
 *
 * @module
 */
import { mkdir, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { ERROR_CODES, PushJobsError } from '@push-jobs/protocol/internal';
import { redactDatabaseUrl, resolveDatabaseUrl } from '../../config/load.js';
import type { OrgRecord } from '../../store/types.js';
import {
  associateUser,
  createClientWithKey,
  createOrgWithDefaults,
  createUserWithKey,
} from '../../identity/service.js';
import { ServerCommand } from '../base-command.js';
import {
  defaultKeyPath,
  exists,
  loadConfig,
  openConfiguredStore,
  refuseExisting,
  writeKeyFile,
} from '../context.js';
import { storeFlags } from '../flags.js';
import { checkName } from '../names.js';

/** The organization `init` creates without `--org`. */
export const DEFAULT_INIT_ORG = 'push';
/** The admin user `init` creates without `--admin`. */
export const DEFAULT_INIT_ADMIN = 'admin';

/** What `init` made (its `--json` document). */
export interface InitResult {
  dataDir: string;
  database: string;
  org: { name: string; guid: string; fullName: string };
  admin: { name: string; keyFile: string };
  validator: { name: string; keyFile: string };
}

/** `init`: see the module notes. */
export default class Init extends ServerCommand<typeof Init> {
  static override summary = 'Create the data dir, database, first org, admin user and validator.';
  static override description = `Sets up a new server: creates the data directory and the database (applying migrations), an organization with its groups (admins, users, clients), an admin user (an org member, in admins) and a validator client, and writes their private keys to <data_dir>/keys/<name>.pem (mode 0600; the keys directory is 0700). Refuses to overwrite key files or to recreate an existing org or user; then nothing is changed. Private keys are never printed.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --data-dir /var/lib/push-jobs --org acme --admin alice',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    ...storeFlags,
    org: Flags.string({
      description: `Organization to create (default: ${DEFAULT_INIT_ORG}).`,
      helpValue: 'NAME',
    }),
    'full-name': Flags.string({
      description: "The organization's full name (default: its name).",
      helpValue: 'TEXT',
    }),
    admin: Flags.string({
      description: `Admin user to create (default: ${DEFAULT_INIT_ADMIN}).`,
      helpValue: 'NAME',
    }),
    validator: Flags.string({
      description: 'Validator client to create (default: <org>-validator).',
      helpValue: 'NAME',
    }),
  };

  async run(): Promise<InitResult> {
    const values = this.flags;
    const command = this.words;
    const config = loadConfig(values, command);
    const org = checkName('org', values.org ?? DEFAULT_INIT_ORG, command);
    const admin = checkName('user', values.admin ?? DEFAULT_INIT_ADMIN, command);
    const validator = checkName('client', values.validator ?? `${org}-validator`, command);
    const adminKey = defaultKeyPath(config, admin);
    const validatorKey = defaultKeyPath(config, validator);
    if (adminKey === validatorKey) {
      throw this.usage(`the admin and the validator would share the key file ${adminKey}`);
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
        throw new PushJobsError(
          ERROR_CODES.CONFLICT,
          `org "${org}" already exists in ${redactDatabaseUrl(database)}; nothing changed`,
        );
      }
      if ((await store.getUser(admin)) !== undefined) {
        throw new PushJobsError(
          ERROR_CODES.CONFLICT,
          `user "${admin}" already exists in ${redactDatabaseUrl(database)}; nothing changed`,
        );
      }

      const written: string[] = [];
      let orgRecord: OrgRecord;
      try {
        orgRecord = await createOrgWithDefaults(store, {
          name: org,
          ...optionalFullName(values['full-name']),
        });
        const user = await createUserWithKey(store, { name: admin });
        await associateUser(store, org, admin, { admin: true });
        const client = await createClientWithKey(store, { org, name: validator, validator: true });
        if (user.privateKey === undefined || client.privateKey === undefined) {
          throw new PushJobsError(ERROR_CODES.INTERNAL, 'internal error: no key pair was generated');
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

      this.print([
        `data dir:   ${dataDir}`,
        `database:   ${redactDatabaseUrl(database)} (${store.kind})`,
        `org:        ${orgRecord.name} (guid ${orgRecord.guid})`,
        `admin user: ${admin} (org member, in admins); private key: ${adminKey}`,
        `validator:  ${validator}; private key: ${validatorKey}`,
      ]);
      return {
        dataDir,
        database: redactDatabaseUrl(database),
        org: { name: orgRecord.name, guid: orgRecord.guid, fullName: orgRecord.fullName },
        admin: { name: admin, keyFile: adminKey },
        validator: { name: validator, keyFile: validatorKey },
      };
    } finally {
      await store.close();
    }
  }
}

function optionalFullName(fullName: string | undefined): { fullName?: string } {
  return fullName === undefined ? {} : { fullName };
}
