/**
 * `push-jobs-server user delete NAME --yes`.
 *
 * @module
 */
import { Args } from '@oclif/core';
import { ServerCommand } from '../../base-command.js';
import { runDelete, type DeleteResult } from '../../delete.js';
import { storeFlags, yesFlag } from '../../flags.js';

/** `user delete`: deletes a user with its keys, memberships and group entries. */
export default class UserDelete extends ServerCommand<typeof UserDelete> {
  static override summary = 'Delete a user.';
  static override description = `Deletes a user with its keys, memberships and group entries. --yes is required. Key files are left where they are.`;
  static override examples = ['<%= config.bin %> <%= command.id %> alice --yes'];
  static override enableJsonFlag = true;
  static override args = { NAME: Args.string({ description: 'Name of the user.', required: true }) };
  static override flags = { ...storeFlags, ...yesFlag };

  async run(): Promise<DeleteResult> {
    const name = this.args.NAME;
    return runDelete(this, {
      entity: 'user',
      name,
      values: this.flags,
      remove: (store) => store.deleteUser(name),
    });
  }
}
