import { Args, Flags } from '@oclif/core';
import { isPushApiError, type PushApiClient } from '@push-jobs/protocol';
import { argValues, BaseCommand } from '../../../base-command.js';
import { CliError, EXIT_CODES } from '../../../errors.js';
import { mapLimit, NODE_CONCURRENCY, searchNodeNames } from '../../../nodes.js';
import { activityText } from '../../../ui/busy.js';
import { colorState } from '../../../ui/job-format.js';
import { renderTable, type Column } from '../../../ui/table.js';

/** One row of `push node status`. */
export interface NodeStatusRow {
  node_name: string;
  availability: string;
  /** `online`/`offline`, or `unknown` for a node the server has never heard of. */
  status: string;
  /** What the node is doing: `idle`, `committed`, `running`, `rehab` (servers that report it). */
  state?: string;
  /** The job the node is committed to or running (servers that report it). */
  job_id?: string;
}

/** A row with the fields the server sent, in a stable order (`state`, `job_id` only when sent). */
function toRow(
  s: { node_name: string; availability: string; state?: string; job_id?: string },
  status: string,
): NodeStatusRow {
  const row: NodeStatusRow = { node_name: s.node_name, availability: s.availability, status };
  if (typeof s.state === 'string') row.state = s.state;
  if (typeof s.job_id === 'string' && s.job_id !== '') row.job_id = s.job_id;
  return row;
}

/** The STATE cell: `running job ID`, `committed job ID`, `idle`, `rehab`, or `-` when not reported. */
export function stateCell(row: NodeStatusRow): string {
  return row.state === undefined ? '-' : activityText(row.state, row.job_id);
}

/**
 * The table of `push node status`: NODE, AVAILABILITY, STATUS, and STATE when the server
 * reports what nodes are doing (an older server does not: the column is left out).
 */
export function nodeStatusLines(rows: readonly NodeStatusRow[], width?: number): string[] {
  const columns: Column<NodeStatusRow>[] = [
    { header: 'NODE', get: (r) => r.node_name, shrink: true },
    {
      header: 'AVAILABILITY',
      get: (r) => r.availability,
      style: (t, r) => colorState(t, r.availability),
    },
    { header: 'STATUS', get: (r) => r.status, style: (t, r) => colorState(t, r.status) },
  ];
  if (rows.some((r) => r.state !== undefined)) {
    columns.push({ header: 'STATE', get: stateCell, style: (t, r) => colorState(t, r.state ?? '-') });
  }
  return renderTable(rows, columns, width);
}

/**
 * The state of each named node. A node that is offline and has no node object on the server is
 * `unknown` (the state endpoint itself answers "offline" for any name).
 */
async function namedStates(client: PushApiClient, names: string[]): Promise<NodeStatusRow[]> {
  return mapLimit(names, NODE_CONCURRENCY, async (name) => {
    const state = await client.getNodeState(name);
    const row = toRow({ ...state, node_name: name }, state.status);
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

/**
 * The state of nodes a search found (each has a node object, so none is `unknown`): one
 * `GET node_states` for all of them, however many; a node it does not list is offline.
 */
async function searchedStates(client: PushApiClient, names: string[]): Promise<NodeStatusRow[]> {
  const listed = new Map((await client.listNodeStates()).map((s) => [s.node_name, s]));
  return names.map((name) => {
    const state = listed.get(name);
    return state === undefined
      ? { node_name: name, availability: 'unavailable', status: 'offline' }
      : toRow(state, 'online');
  });
}

export default class PushNodeStatus extends BaseCommand<typeof PushNodeStatus> {
  static override args = {
    nodes: Args.string({
      description: 'Nodes to show; an argument with a colon is a search query (as knife).',
      multiple: true,
    }),
  };

  static override description = `Shows nodes' availability for jobs (available: connected and not in rehab), whether they are connected (online/offline) and, when the server reports it, what they are doing (STATE: idle, committed job ID, running job ID, rehab). A busy node can be available and still nack a new job until it is idle.

Without arguments, every node that is connected or recently was. With names, those nodes; an unknown name is reported and exits 4. With --search (or an argument containing ':'), the nodes the server's Chef search finds (GET search/node, every page), with the named nodes; their states come from one GET node_states, however many they are.`;

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
      rows = (await client.listNodeStates()).map((s) => toRow(s, 'online'));
    } else {
      const found = new Set<string>();
      for (const q of queries) for (const n of await searchNodeNames(client, q)) found.add(n);
      for (const n of named) found.delete(n);
      searched = queries.length > 0;
      rows = [
        ...(await namedStates(client, named)),
        ...(found.size === 0 ? [] : await searchedStates(client, [...found])),
      ];
    }
    rows.sort((a, b) => (a.node_name < b.node_name ? -1 : a.node_name > b.node_name ? 1 : 0));

    if (rows.length === 0) {
      this.log(searched ? 'No nodes match the search.' : 'No nodes have connected.');
    } else {
      for (const line of nodeStatusLines(rows, this.terminalWidth())) this.log(line);
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
