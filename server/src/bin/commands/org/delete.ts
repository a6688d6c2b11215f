/**
 * `push-jobs-server org delete NAME --yes`.
 *
 * @module
 */
import { Args } from '@oclif/core';
import { ServerCommand } from '../../base-command.js';
import { runDelete, type DeleteResult } from '../../delete.js';
import { storeFlags, yesFlag } from '../../flags.js';

/** `org delete`: deletes an organization and everything in it. */
export default class OrgDelete extends ServerCommand<typeof OrgDelete> {
  static override summary = 'Delete an organization and everything in it.';
  static override description = `Deletes an organization and everything in it (clients, groups, nodes, jobs, memberships). Users stay. --yes is required.`;
  static override examples = ['<%= config.bin %> <%= command.id %> acme --yes'];
  static override enableJsonFlag = true;
  static override args = { NAME: Args.string({ description: 'Name of the organization.', required: true }) };
  static override flags = { ...storeFlags, ...yesFlag };

  async run(): Promise<DeleteResult> {
    const name = this.args.NAME;
    return runDelete(this, {
      entity: 'org',
      name,
      values: this.flags,
      remove: (store) => store.deleteOrg(name),
    });
  }
}
