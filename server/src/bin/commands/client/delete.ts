/**
 * `push-jobs-server client delete NAME --org ORG --yes`.
 *
 * @module
 */
import { Args } from '@oclif/core';
import { ServerCommand } from '../../base-command.js';
import { runDelete, type DeleteResult } from '../../delete.js';
import { storeFlags, yesFlag } from '../../flags.js';
import { orgFlag, requireOrgFlag } from '../../org-flag.js';

/** `client delete`: deletes a client of an org with its keys and group entries. */
export default class ClientDelete extends ServerCommand<typeof ClientDelete> {
  static override summary = 'Delete a client of an org.';
  static override description = 'Deletes a client of ORG with its keys and group entries. --yes is required.';
  static override examples = ['<%= config.bin %> <%= command.id %> web01 --org acme --yes'];
  static override enableJsonFlag = true;
  static override args = { NAME: Args.string({ description: 'Name of the client.', required: true }) };
  static override flags = { ...storeFlags, ...orgFlag, ...yesFlag };

  async run(): Promise<DeleteResult> {
    const name = this.args.NAME;
    const org = requireOrgFlag(this, this.flags.org);
    return runDelete(this, {
      entity: 'client',
      name,
      org,
      values: this.flags,
      remove: (store) => store.deleteClient(org, name),
    });
  }
}
