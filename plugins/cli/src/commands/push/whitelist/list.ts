import { Args } from '@oclif/core';
import { BaseCommand } from '../../../base-command.js';
import { renderTable } from '../../../ui/table.js';
import { describeCommand, effectiveWhitelist, type WhitelistEntry } from '../../../whitelist.js';

/** `--json` data of `push whitelist list`. */
export interface WhitelistListResult {
  node: string;
  entries: WhitelistEntry[];
}

export default class PushWhitelistList extends BaseCommand<typeof PushWhitelistList> {
  static override args = {
    node: Args.string({ description: 'Node name.', required: true }),
  };

  static override description =
    "Shows the node's push_jobs.whitelist attribute as Chef merges it (default < normal < override < automatic), with the level each entry comes from. This is what the cookbook renders into the agent's config; the agent itself may have been configured otherwise.";

  static override examples = [
    '<%= config.bin %> <%= command.id %> web1',
    '<%= config.bin %> <%= command.id %> web1 --json',
  ];

  static override summary = 'Show the whitelist attribute of a node.';

  override async run(): Promise<WhitelistListResult> {
    const { node } = this.args;
    this.errorContext = { subject: `node '${node}'`, notFoundHint: 'check the node name' };
    const doc = await this.client().getNode(node);
    const entries = effectiveWhitelist(doc);
    if (entries.length === 0) {
      this.log(`Node ${node} has no push_jobs.whitelist entries.`);
    } else {
      const lines = renderTable(
        entries,
        [
          { header: 'NAME', get: (e) => e.name },
          { header: 'LEVEL', get: (e) => e.level },
          { header: 'COMMAND', get: (e) => describeCommand(e.command), shrink: true },
        ],
        this.terminalWidth(),
      );
      for (const line of lines) this.log(line);
    }
    return { node, entries };
  }
}
