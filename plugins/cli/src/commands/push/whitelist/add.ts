import { Args } from '@oclif/core';
import { targetFlags, WhitelistEditCommand, type WhitelistEditResult } from '../../../whitelist-command.js';

export default class PushWhitelistAdd extends WhitelistEditCommand<typeof PushWhitelistAdd> {
  static override args = {
    name: Args.string({ description: 'Job name (what push jobs start takes).', required: true }),
    command: Args.string({ description: 'Command line the agent runs for it.', required: true }),
  };

  static override description = `Sets push_jobs.whitelist.NAME = COMMAND in the normal attributes of each node (what knife exec ... nodes.transform did). The push-jobs cookbook renders that attribute into the agent's config on the node's next Chef run.

Every node is fetched first: an unknown node changes nothing (exit 4). Needs an organization admin (or the node's own client).`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> ntpdate "ntpdate -u pool.ntp.org" --node web1 --node web2',
    '<%= config.bin %> <%= command.id %> chef-client chef-client --search "role:web"',
  ];

  static override flags = targetFlags;

  static override summary = 'Allow a command on nodes (set push_jobs.whitelist.NAME).';

  override async run(): Promise<WhitelistEditResult> {
    return this.editNodes(this.args.name, this.args.command);
  }
}
