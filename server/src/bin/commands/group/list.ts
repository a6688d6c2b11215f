/**
 * `push-jobs-server group list ORG`.
 *
 * @module
 */
import { Args } from '@oclif/core';
import { ServerCommand } from '../../base-command.js';
import { loadConfig, withStore } from '../../context.js';
import { storeFlags } from '../../flags.js';
import { requireOrg } from '../../group-members.js';

/** `group list`: the group names of an org. */
export default class GroupList extends ServerCommand<typeof GroupList> {
  static override summary = 'List the groups of an org.';
  static override description = 'Lists the group names of ORG.';
  static override examples = ['<%= config.bin %> <%= command.id %> acme'];
  static override enableJsonFlag = true;
  static override args = { ORG: Args.string({ description: 'The organization.', required: true }) };
  static override flags = storeFlags;

  async run(): Promise<string[]> {
    const org = this.args.ORG;
    const config = loadConfig(this.flags, this.words);
    const groups = await withStore(config, async (store) => {
      await requireOrg(store, org);
      return store.listGroups(org);
    });
    this.print(groups);
    return groups;
  }
}
