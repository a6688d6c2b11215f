import { Args } from '@oclif/core';
import { targetFlags, WhitelistEditCommand, type WhitelistEditResult } from '../../../whitelist-command.js';

export default class PushWhitelistRemove extends WhitelistEditCommand<typeof PushWhitelistRemove> {
  static override args = {
    name: Args.string({ description: 'Job name to remove.', required: true }),
  };

  static override description = `Removes push_jobs.whitelist.NAME from the normal attributes of each node. An entry set at another level (by a cookbook's default attributes, a role) stays; push whitelist list shows where each entry comes from.

Every node is fetched first: an unknown node changes nothing (exit 4).`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> ntpdate --node web1',
    '<%= config.bin %> <%= command.id %> ntpdate --search "role:web"',
  ];

  static override flags = targetFlags;

  static override summary = 'Stop allowing a command on nodes (remove push_jobs.whitelist.NAME).';

  override async run(): Promise<WhitelistEditResult> {
    return this.editNodes(this.args.name, undefined);
  }
}
