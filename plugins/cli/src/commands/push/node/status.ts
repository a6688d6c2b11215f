import { Args, Flags } from '@oclif/core';
import { isPushApiError, type PushApiClient } from '@push-jobs/protocol';
import { argValues, BaseCommand } from '../../../base-command.js';
import { CliError, EXIT_CODES } from '../../../errors.js';
import { mapLimit, NODE_CONCURRENCY, searchNodeNames } from '../../../nodes.js';
import { colorState } from '../../../ui/job-format.js';
import { renderTable } from '../../../ui/table.js';

/** One row of `push node status`. */
export interface NodeStatusRow {
  node_name: string;
  availability: string;
  /** `online`/`offline`, or `unknown` for a node the server has never heard of. */
  status: string;
}

/**
 * The state of each named node. A node that is offline and has no node object on the server is
 * `unknown` (the state endpoint itself answers "offline" for any name).
 */
async function namedStates(client: PushApiClient, names: string[]): Promise<NodeStatusRow[]> {
  return mapLimit(names, NODE_CONCURRENCY, async (name) => {
    const state = await client.getNodeState(name);
    const row = { node_name: name, availability: state.availability, status: state.status };
    if (state.status !== 'offline') return row;
    try {
      await client.getNode(name);
    } catch (err) {
      if (isPushApiError(err) && err.status === 404) return { ...row, status: 'unknown' };
      throw err;
    }
    return row;
  });
}

export default class PushNodeStatus extends BaseCommand<typeof PushNodeStatus> {
  static override args = {
    nodes: Args.string({
      description: 'Nodes to show; an argument with a colon is a search query (as knife).',
      multiple: true,
    }),
  };

  static override description = `Shows nodes' availability for jobs (available only when idle) and whether they are connected (online/offline).

Without arguments, every node that is connected or recently was. With names, those nodes; an unknown name is reported and exits 4. With --search (or an argument containing ':'), the nodes the Chef search finds.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> web1 web2',
    '<%= config.bin %> <%= command.id %> --search "role:web"',
  ];

  static override flags = {
    search: Flags.string({ char: 's', summary: 'Chef search query over nodes.' }),
  };

  static override summary = 'Show the push state of nodes (knife node status).';

  override async run(): Promise<NodeStatusRow[]> {
    const client = this.client();
    const args = argValues(this.args.nodes);
    const queries = args.filter((a) => a.includes(':'));
    if (this.flags.search !== undefined) queries.push(this.flags.search);
    const named = args.filter((a) => !a.includes(':'));

    let rows: NodeStatusRow[];
    let searched = false;
    if (named.length === 0 && queries.length === 0) {
      // Every listed node has a node process on the server, so it is online (spec 1.9, 1.10).
      rows = (await client.listNodeStates()).map((s) => ({ ...s, status: 'online' }));
    } else {
      const names = new Set(named);
      for (const q of queries) for (const n of await searchNodeNames(client, q)) names.add(n);
      searched = queries.length > 0;
      rows = await namedStates(client, [...names]);
    }
    rows.sort((a, b) => (a.node_name < b.node_name ? -1 : a.node_name > b.node_name ? 1 : 0));

    if (rows.length === 0) {
      this.log(searched ? 'No nodes match the search.' : 'No nodes have connected.');
    } else {
      const lines = renderTable(
        rows,
        [
          { header: 'NODE', get: (r) => r.node_name, shrink: true },
          {
            header: 'AVAILABILITY',
            get: (r) => r.availability,
            style: (t, r) => colorState(t, r.availability),
          },
          { header: 'STATUS', get: (r) => r.status, style: (t, r) => colorState(t, r.status) },
        ],
        this.terminalWidth(),
      );
      for (const line of lines) this.log(line);
    }
    const unknown = rows.filter((r) => r.status === 'unknown').map((r) => r.node_name);
    if (unknown.length > 0) {
      throw new CliError(
        'PJ_ERR_NOT_FOUND',
        `unknown node${unknown.length === 1 ? '' : 's'} ${unknown.map((n) => `'${n}'`).join(', ')}: the server has no such node and never heard from it; check the name${unknown.length === 1 ? '' : 's'}`,
        EXIT_CODES.NOT_FOUND,
        { data: rows },
      );
    }
    return rows;
  }
}
