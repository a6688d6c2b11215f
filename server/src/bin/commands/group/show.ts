/**
 * `push-jobs-server group show ORG GROUP`.
 *
 * @module
 */
import type { GroupRecord } from '../../../store/types.js';
import { ServerCommand } from '../../base-command.js';
import { loadConfig, withStore } from '../../context.js';
import { storeFlags } from '../../flags.js';
import { orgGroupArgs, requireGroup } from '../../group-members.js';

function describeGroup(group: GroupRecord): string[] {
  const list = (names: string[]): string => (names.length === 0 ? '(none)' : names.join(', '));
  return [
    `group ${group.orgName}/${group.name}`,
    `users:   ${list(group.users)}`,
    `clients: ${list(group.clients)}`,
    `groups:  ${list(group.groups)}`,
  ];
}

/** `group show`: the members of a group. */
export default class GroupShow extends ServerCommand<typeof GroupShow> {
  static override summary = 'Show the members of a group.';
  static override description = 'Shows the members of a group: users, clients and nested groups.';
  static override examples = ['<%= config.bin %> <%= command.id %> acme admins --json'];
  static override enableJsonFlag = true;
  static override args = orgGroupArgs;
  static override flags = storeFlags;

  async run(): Promise<GroupRecord> {
    const config = loadConfig(this.flags, this.words);
    const record = await withStore(config, (store) => requireGroup(store, this.args.ORG, this.args.GROUP));
    this.print(describeGroup(record));
    return record;
  }
}
