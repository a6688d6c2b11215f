/**
 * `push-jobs-server client create NAME --org ORG`.
 *
 * @module
 */
import { Args, Flags } from '@oclif/core';
import { createClientWithKey } from '../../../identity/service.js';
import type { ClientRecord } from '../../../store/types.js';
import { ServerCommand } from '../../base-command.js';
import { loadConfig, planKey, withStore, writeKeyFile } from '../../context.js';
import { keyFlags, storeFlags } from '../../flags.js';
import { checkName } from '../../names.js';
import { orgFlag, requireOrgFlag } from '../../org-flag.js';

/** The `--json` document of `client create`. */
export interface ClientCreateResult {
  client: ClientRecord;
  keyFile: string | null;
}

/** `client create`: an API client of an org with a key. */
export default class ClientCreate extends ServerCommand<typeof ClientCreate> {
  static override summary = 'Create a client of an org with a key.';
  static override description = `Creates an API client of ORG with a key named "default" and adds it to ORG's clients group. Without --public-key a 2048-bit RSA key pair is generated and its private key written to FILE (default <data_dir>/keys/NAME.pem, mode 0600, never overwritten).`;
  static override examples = ['<%= config.bin %> <%= command.id %> web01 --org acme --key-out ./web01.pem'];
  static override enableJsonFlag = true;
  static override args = { NAME: Args.string({ description: 'Name of the client.', required: true }) };
  static override flags = {
    ...storeFlags,
    ...keyFlags,
    ...orgFlag,
    validator: Flags.boolean({ description: 'A validator client (may create clients).' }),
  };

  async run(): Promise<ClientCreateResult> {
    const name = checkName('client', this.args.NAME, this.words);
    const org = requireOrgFlag(this, this.flags.org);
    const { validator } = this.flags;
    const config = loadConfig(this.flags, this.words);
    const key = await planKey(this.flags, config, name, this.words);

    const client = await withStore(config, async (store) => {
      const created = await createClientWithKey(store, {
        org,
        name,
        validator,
        ...(key.publicKey === undefined ? {} : { publicKey: key.publicKey }),
      });
      if (key.keyOut !== undefined && created.privateKey !== undefined) {
        try {
          await writeKeyFile(key.keyOut, created.privateKey);
        } catch (err) {
          await store.deleteClient(org, name).catch(() => false);
          throw err;
        }
      }
      return created.client;
    });

    const lines = [`created ${validator ? 'validator ' : ''}client ${name} in org ${org}`];
    if (key.keyOut !== undefined) lines.push(`private key: ${key.keyOut}`);
    this.print(lines);
    return { client, keyFile: key.keyOut ?? null };
  }
}
