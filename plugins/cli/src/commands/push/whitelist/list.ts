import { Args } from '@oclif/core';
import { BaseCommand } from '../../../base-command.js';
import { renderTable } from '../../../ui/table.js';
import {
  describeCommand,
  effectiveWhitelist,
  reportedAllowList,
  type ReportedAllowList,
  type WhitelistEntry,
} from '../../../whitelist.js';

/** `--json` data of `push whitelist list`. */
export interface WhitelistListResult {
  node: string;
  /** The `push_jobs.whitelist` attribute, merged. */
  entries: WhitelistEntry[];
  /** What the node's agent reports it allows, or `null` when it reports nothing. */
  agent:
    | (ReportedAllowList & {
        /** Attribute entries the agent does not allow (its config differs from the attribute). */
        not_allowed: string[];
        /** Names the agent allows that the attribute does not list. */
        not_in_attribute: string[];
      })
    | null;
}

export default class PushWhitelistList extends BaseCommand<typeof PushWhitelistList> {
  static override args = {
    node: Args.string({ description: 'Node name.', required: true }),
  };

  static override description =
    "Shows the node's push_jobs.whitelist attribute as Chef merges it (default < normal < override < automatic), with the level each entry comes from: this is what the cookbook renders into the agent's config. Then shows what the node's agent really allows: the command names of its allow-list, which the agent reports in its node object (automatic.push_jobs.allowed_commands), and the differences between the two. Nodes whose agent reports no facts (the original Ruby client, report_facts false) show the attribute only.";

  static override examples = [
    '<%= config.bin %> <%= command.id %> web1',
    '<%= config.bin %> <%= command.id %> web1 --json',
  ];

  static override summary = 'Show the whitelist of a node: its attribute and what its agent allows.';

  override async run(): Promise<WhitelistListResult> {
    const { node } = this.args;
    this.errorContext = { subject: `node '${node}'`, notFoundHint: 'check the node name' };
    const doc = await this.client().getNode(node);
    const entries = effectiveWhitelist(doc);
    const reported = reportedAllowList(doc);
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
    if (reported === null) {
      this.log(`The agent of ${node} reports no allow-list (no facts from an agent of this version).`);
      return { node, entries, agent: null };
    }
    const allowed = new Set(reported.allowed_commands);
    const listed = new Set(entries.map((e) => e.name));
    const agent = {
      ...reported,
      not_allowed: entries.map((e) => e.name).filter((n) => !allowed.has(n)),
      not_in_attribute: reported.allowed_commands.filter((n) => !listed.has(n)),
    };
    const names = reported.allowed_commands.length === 0 ? '(none)' : reported.allowed_commands.join(', ');
    this.log(
      `The agent of ${node} allows: ${names}${reported.truncated ? ' (list cut by the agent: too long)' : ''}`,
    );
    if (agent.not_allowed.length > 0) {
      this.log(`In the attribute but not allowed by the agent: ${agent.not_allowed.join(', ')}`);
    }
    if (agent.not_in_attribute.length > 0) {
      this.log(`Allowed by the agent but not in the attribute: ${agent.not_in_attribute.join(', ')}`);
    }
    return { node, entries, agent };
  }
}
