/**
 * `push-jobs-server org list`.
 *
 * @module
 */
import type { OrgRecord } from '../../../store/types.js';
import { ServerCommand } from '../../base-command.js';
import { loadConfig, withStore } from '../../context.js';
import { storeFlags } from '../../flags.js';

/** `org list`: one name per line, or the records with `--json`. */
export default class OrgList extends ServerCommand<typeof OrgList> {
  static override summary = 'List the organizations.';
  static override description =
    'Lists the organizations: one name per line, or a JSON array of {name, guid, fullName, createdAt}.';
  static override examples = ['<%= config.bin %> <%= command.id %> --json'];
  static override enableJsonFlag = true;
  static override flags = storeFlags;

  async run(): Promise<OrgRecord[]> {
    const config = loadConfig(this.flags, this.words);
    const orgs = await withStore(config, (store) => store.listOrgs());
    this.print(orgs.map((o) => o.name));
    return orgs;
  }
}
