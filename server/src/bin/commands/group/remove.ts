/**
 * `push-jobs-server group remove ORG GROUP (--user | --client | --group) NAME`.
 *
 * @module
 */
import { ERROR_CODES, PushJobsError } from '@push-jobs/protocol/internal';
import type { GroupRecord } from '../../../store/types.js';
import { ServerCommand } from '../../base-command.js';
import { loadConfig, withStore } from '../../context.js';
import { storeFlags } from '../../flags.js';
import { memberFlags, memberOf, orgGroupArgs, requireGroup } from '../../group-members.js';

/** The `--json` document of `group remove`. */
export interface GroupRemoveResult {
  group: GroupRecord;
  removed: true;
}

/** `group remove`: removes one member; fails when it is not a member. */
export default class GroupRemove extends ServerCommand<typeof GroupRemove> {
  static override summary = 'Remove a user, client or group from a group.';
  static override description = 'Removes one member from a group of ORG. Fails when it is not a member.';
  static override examples = ['<%= config.bin %> <%= command.id %> acme admins --user alice'];
  static override enableJsonFlag = true;
  static override args = orgGroupArgs;
  static override flags = { ...storeFlags, ...memberFlags };

  async run(): Promise<GroupRemoveResult> {
    const org = this.args.ORG;
    const group = this.args.GROUP;
    const member = memberOf(this, this.flags);
    const config = loadConfig(this.flags, this.words);
    const record = await withStore(config, async (store) => {
      await requireGroup(store, org, group);
      const removed = await store.removeGroupMember(org, group, member.type, member.name);
      if (!removed) {
        throw new PushJobsError(
          ERROR_CODES.NOT_FOUND,
          `${member.type} ${member.name} is not in group ${org}/${group}`,
        );
      }
      return requireGroup(store, org, group);
    });
    this.print(`removed ${member.type} ${member.name} from group ${org}/${group}`);
    return { group: record, removed: true };
  }
}
