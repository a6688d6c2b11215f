/**
 * `push-jobs-server client list --org ORG`.
 *
 * @module
 */
import { StoreNotFoundError, type ClientRecord } from '../../../store/types.js';
import { ServerCommand } from '../../base-command.js';
import { loadConfig, withStore } from '../../context.js';
import { storeFlags } from '../../flags.js';
import { orgFlag, requireOrgFlag } from '../../org-flag.js';

/** `client list`: the clients of an org. */
export default class ClientList extends ServerCommand<typeof ClientList> {
  static override summary = 'List the clients of an org.';
  static override description = 'Lists the clients of ORG (one name per line, or a JSON array).';
  static override examples = ['<%= config.bin %> <%= command.id %> --org acme --json'];
  static override enableJsonFlag = true;
  static override flags = { ...storeFlags, ...orgFlag };

  async run(): Promise<ClientRecord[]> {
    const org = requireOrgFlag(this, this.flags.org);
    const config = loadConfig(this.flags, this.words);
    const clients = await withStore(config, async (store) => {
      if ((await store.getOrg(org)) === undefined) throw new StoreNotFoundError('org', org);
      return store.listClients(org);
    });
    this.print(clients.map((c) => (c.validator ? `${c.name} (validator)` : c.name)));
    return clients;
  }
}
