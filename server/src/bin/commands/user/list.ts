/**
 * `push-jobs-server user list`.
 *
 * @module
 */
import { Flags } from '@oclif/core';
import { StoreNotFoundError, type UserRecord } from '../../../store/types.js';
import { ServerCommand } from '../../base-command.js';
import { loadConfig, withStore } from '../../context.js';
import { storeFlags } from '../../flags.js';

/** `user list`: every user, or the members of an org. */
export default class UserList extends ServerCommand<typeof UserList> {
  static override summary = 'List users (or the members of an org).';
  static override description =
    "Lists users (one name per line, or a JSON array); with --org, only that org's members.";
  static override examples = ['<%= config.bin %> <%= command.id %> --org acme --json'];
  static override enableJsonFlag = true;
  static override flags = {
    ...storeFlags,
    org: Flags.string({ description: 'List only members of ORG.', helpValue: 'ORG' }),
  };

  async run(): Promise<UserRecord[]> {
    const { org } = this.flags;
    const config = loadConfig(this.flags, this.words);
    const users = await withStore(config, async (store) => {
      const all = await store.listUsers();
      if (org === undefined) return all;
      if ((await store.getOrg(org)) === undefined) throw new StoreNotFoundError('org', org);
      const members = new Set(await store.listOrgMembers(org));
      return all.filter((u) => members.has(u.name));
    });
    this.print(users.map((u) => u.name));
    return users;
  }
}
