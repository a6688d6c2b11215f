/**
 * `push-jobs-server org create NAME`.
 *
 * @module
 */
import { Args, Flags } from '@oclif/core';
import { createOrgWithDefaults, DEFAULT_GROUPS } from '../../../identity/service.js';
import type { OrgRecord } from '../../../store/types.js';
import { ServerCommand } from '../../base-command.js';
import { loadConfig, withStore } from '../../context.js';
import { storeFlags } from '../../flags.js';
import { checkName } from '../../names.js';

/** `org create`: creates an organization with its default groups. */
export default class OrgCreate extends ServerCommand<typeof OrgCreate> {
  static override summary = 'Create an organization with its default groups.';
  static override description = `Creates an organization with a new GUID and its groups ${DEFAULT_GROUPS.join(', ')}. (No pushy_job_readers/pushy_job_writers groups: without them every org member may read and start jobs; create them with 'group add' to restrict that.)`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> acme --full-name "Acme Corp" --data-dir /var/lib/push-jobs',
  ];
  static override enableJsonFlag = true;
  static override args = { NAME: Args.string({ description: 'Name of the organization.', required: true }) };
  static override flags = {
    ...storeFlags,
    'full-name': Flags.string({
      description: "The organization's full name (default: NAME).",
      helpValue: 'TEXT',
    }),
  };

  async run(): Promise<OrgRecord> {
    const name = checkName('org', this.args.NAME, this.words);
    const config = loadConfig(this.flags, this.words);
    const fullName = this.flags['full-name'];
    const org = await withStore(config, (store) =>
      createOrgWithDefaults(store, { name, ...(fullName === undefined ? {} : { fullName }) }),
    );
    this.print(`created org ${org.name} (guid ${org.guid})`);
    return org;
  }
}
