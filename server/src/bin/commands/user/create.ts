/**
 * `push-jobs-server user create NAME`.
 *
 * @module
 */
import { Args, Flags } from '@oclif/core';
import { associateUser, createUserWithKey } from '../../../identity/service.js';
import { StoreNotFoundError, type UserRecord } from '../../../store/types.js';
import { ServerCommand } from '../../base-command.js';
import { loadConfig, planKey, withStore, writeKeyFile } from '../../context.js';
import { keyFlags, storeFlags } from '../../flags.js';
import { checkName } from '../../names.js';

/** The `--json` document of `user create`. */
export interface UserCreateResult {
  user: UserRecord;
  org: string | null;
  admin: boolean;
  keyFile: string | null;
}

/** `user create`: a user with a key, optionally in an org. */
export default class UserCreate extends ServerCommand<typeof UserCreate> {
  static override summary = 'Create a user with a key, optionally in an org.';
  static override description = `Creates a user with a key named "default". Without --public-key a 2048-bit RSA key pair is generated and its private key written to FILE (default <data_dir>/keys/NAME.pem, mode 0600, never overwritten). With --org the user joins that org and its users group; --admin also puts it in admins.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> alice --org acme --admin --key-out ./alice.pem',
  ];
  static override enableJsonFlag = true;
  static override args = { NAME: Args.string({ description: 'Name of the user.', required: true }) };
  static override flags = {
    ...storeFlags,
    ...keyFlags,
    org: Flags.string({ description: 'Make the user a member of ORG.', helpValue: 'ORG' }),
    admin: Flags.boolean({ description: "Also add the user to ORG's admins group (needs --org)." }),
    'display-name': Flags.string({ description: 'Display name (default: NAME).', helpValue: 'TEXT' }),
    email: Flags.string({ description: 'Email address (default: empty).', helpValue: 'ADDRESS' }),
  };

  async run(): Promise<UserCreateResult> {
    const { org, admin, email } = this.flags;
    const displayName = this.flags['display-name'];
    const name = checkName('user', this.args.NAME, this.words);
    if (admin && org === undefined) throw this.usage('--admin needs --org');
    const config = loadConfig(this.flags, this.words);
    const key = await planKey(this.flags, config, name, this.words);

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
    this.print(lines);
    return { user, org: org ?? null, admin, keyFile: key.keyOut ?? null };
  }
}
