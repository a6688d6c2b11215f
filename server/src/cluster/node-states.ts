/**
 * `node_states` in cluster mode: this instance's nodes from its tracker, every other live
 * instance's nodes from `cluster_nodes` (written by their holders in batches, so a change shows a
 * moment after it happened there), each shown once this instance's presence map has it, so a node
 * listed available here is one a job posted here can use.
 *
 * @module
 */
import type { NodeActivity, NodeState } from '@push-jobs/protocol/internal';
import type { LiveNodeTracker } from '../nodes/tracker.js';
import type { NodeStateEntry, NodeTracker } from '../nodes/types.js';
import type { ClusterDb } from './db.js';
import type { PresenceMap } from './presence.js';

interface NodeRow {
  node_name: string;
  instance_id: string;
  state: string;
  job_id: string | null;
}

function entryOf(row: NodeRow): Omit<NodeStateEntry, 'node_name'> {
  const state = row.state as NodeActivity;
  if (state === 'rehab') return { availability: 'unavailable', state };
  return { availability: 'available', state, ...(row.job_id === null ? {} : { job_id: row.job_id }) };
}

/** The cluster's {@link NodeTracker} for the routes. */
export class ClusterNodeStates implements NodeTracker {
  constructor(
    private readonly self: string,
    private readonly tracker: LiveNodeTracker,
    private readonly db: Pick<ClusterDb, 'query'>,
    private readonly isLive: (instance: string) => boolean,
    /** The presence map: a row shows only once this instance knows the node is there (jobs see it then). */
    private readonly presence: Pick<PresenceMap, 'get'>,
  ) {}

  /** Whether this instance's own view (the presence map) has the row's node where the row says. */
  private known(org: string, row: NodeRow): boolean {
    const entry = this.presence.get(org, row.node_name);
    return entry !== undefined && entry.instance === row.instance_id && this.isLive(row.instance_id);
  }

  async listNodeStates(org: string): Promise<NodeStateEntry[]> {
    const local = this.tracker.listNodeStates(org);
    const rows = await this.db.query<NodeRow>(
      `SELECT node_name, instance_id, state, job_id FROM cluster_nodes WHERE org_name = $1 AND instance_id <> $2`,
      [org, this.self],
    );
    const byName = new Map<string, NodeStateEntry>();
    for (const row of rows) {
      if (this.known(org, row)) byName.set(row.node_name, { node_name: row.node_name, ...entryOf(row) });
    }
    for (const entry of local) byName.set(entry.node_name, entry);
    return [...byName.values()].sort((a, b) =>
      a.node_name < b.node_name ? -1 : a.node_name > b.node_name ? 1 : 0,
    );
  }

  async nodeState(org: string, node: string): Promise<Omit<NodeState, 'node_name'>> {
    if (this.tracker.get(org, node) !== undefined) return this.tracker.nodeState(org, node);
    const rows = await this.db.query<NodeRow>(
      'SELECT node_name, instance_id, state, job_id FROM cluster_nodes WHERE org_name = $1 AND node_name = $2',
      [org, node],
    );
    const row = rows[0];
    if (row === undefined || row.instance_id === this.self || !this.known(org, row)) {
      return { status: 'offline', availability: 'unavailable' };
    }
    return { status: 'online', ...entryOf(row) };
  }

  /** This instance's node records. */
  nodeCount(): number {
    return this.tracker.nodeCount();
  }
}
