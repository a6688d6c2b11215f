/**
 * `push-jobs-server group add ORG GROUP (--user | --client | --group) NAME`.
 *
 * @module
 */
import { addToGroup } from '../../../identity/service.js';
import type { GroupRecord } from '../../../store/types.js';
import { ServerCommand } from '../../base-command.js';
import { loadConfig, withStore } from '../../context.js';
import { storeFlags } from '../../flags.js';
import { checkName } from '../../names.js';
import {
  memberFlags,
  memberOf,
  orgGroupArgs,
  requireGroup,
  requireMember,
  requireOrg,
} from '../../group-members.js';

/** The `--json` document of `group add`. */
export interface GroupAddResult {
  group: GroupRecord;
  added: boolean;
  createdGroup: boolean;
}

/** `group add`: adds one member, creating the group when needed. */
export default class GroupAdd extends ServerCommand<typeof GroupAdd> {
  static override summary = 'Add a user, client or group to a group.';
  static override description = `Adds one member to a group of ORG, creating the group when it does not exist yet (for example pushy_job_writers or pushy_job_readers, which restrict who may start or read jobs). Adding a member twice changes nothing.`;
  static override examples = ['<%= config.bin %> <%= command.id %> acme pushy_job_writers --user alice'];
  static override enableJsonFlag = true;
  static override args = orgGroupArgs;
  static override flags = { ...storeFlags, ...memberFlags };

  async run(): Promise<GroupAddResult> {
    const org = this.args.ORG;
    const group = checkName('group', this.args.GROUP, this.words);
    const member = memberOf(this, this.flags);
    if (member.type === 'group' && member.name === group) throw this.usage('a group cannot contain itself');
    const config = loadConfig(this.flags, this.words);
    const result = await withStore(config, async (store) => {
      await requireOrg(store, org);
      await requireMember(store, org, member);
      const createdGroup = (await store.getGroup(org, group)) === undefined;
      const added = await addToGroup(store, org, group, member.type, member.name);
      return { group: await requireGroup(store, org, group), added, createdGroup };
    });
    const what = `${member.type} ${member.name}`;
    this.print(
      result.added
        ? `added ${what} to group ${org}/${group}${result.createdGroup ? ' (group created)' : ''}`
        : `${what} is already in group ${org}/${group}`,
    );
    return result;
  }
}
