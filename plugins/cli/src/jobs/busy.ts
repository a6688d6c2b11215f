/**
 * Nodes that nacked a job because they were busy with another one: from the `busy` field of a
 * `quorum_vote` failure event (`{ job_id, state }`), or, when the feed did not say (an older
 * server, or a wait that polled), from one `GET node_states` after the job ended.
 *
 * @module
 */
import type { PushApiClient } from '@push-jobs/protocol';

/** What a node is busy with: `committed` to or `running` a job. */
export interface Busy {
  state: string;
  /** The job; absent when the server did not say. */
  job_id?: string;
}

/** Node activities that make a node nack a commit. */
const BUSY_STATES: readonly string[] = ['committed', 'running'];

/** The `busy` member of a `quorum_vote` event's data, when it is there and well formed. */
export function busyOfVote(data: unknown): Busy | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const busy = (data as { busy?: unknown }).busy;
  if (typeof busy !== 'object' || busy === null) return undefined;
  const { state, job_id: jobId } = busy as { state?: unknown; job_id?: unknown };
  if (typeof state !== 'string' || state === '') return undefined;
  return typeof jobId === 'string' && jobId !== '' ? { state, job_id: jobId } : { state };
}

/**
 * Which of `nodes` are busy with a job other than `ownJobId`, as `GET node_states` says now (one
 * request). A server that does not report `state` names none.
 */
export async function lookUpBusyNodes(
  client: PushApiClient,
  nodes: readonly string[],
  ownJobId: string,
): Promise<Map<string, Busy>> {
  const out = new Map<string, Busy>();
  if (nodes.length === 0) return out;
  const wanted = new Set(nodes);
  for (const s of await client.listNodeStates()) {
    if (!wanted.has(s.node_name) || s.state === undefined || !BUSY_STATES.includes(s.state)) continue;
    if (s.job_id === ownJobId) continue;
    out.set(s.node_name, s.job_id === undefined ? { state: s.state } : { state: s.state, job_id: s.job_id });
  }
  return out;
}

/** Options of {@link busyNacks}. */
export interface BusyNacksOptions {
  client: PushApiClient;
  /** The job that was nacked. */
  jobId: string;
  /** The nodes that nacked it. */
  nacked: readonly string[];
  /** What the vote events said about busy nodes. */
  known: ReadonlyMap<string, Busy>;
  /** Whether the nodes in `known` were already shown with their job (progress lines, event lines). */
  shown: boolean;
  /** Why the node states could not be read. */
  debug?: (message: string) => void;
}

/**
 * The busy nodes still to name after a job ended: those the vote events named (unless already
 * shown), and, when some nacks are left unexplained, the ones among them that one
 * `GET node_states` finds busy with another job. A failure of that request names none.
 */
export async function busyNacks(opts: BusyNacksOptions): Promise<Map<string, Busy>> {
  const out = new Map<string, Busy>();
  const unexplained: string[] = [];
  for (const node of new Set(opts.nacked)) {
    const busy = opts.known.get(node);
    if (busy === undefined) unexplained.push(node);
    else if (!opts.shown) out.set(node, busy);
  }
  if (unexplained.length > 0) {
    try {
      for (const [node, busy] of await lookUpBusyNodes(opts.client, unexplained, opts.jobId))
        out.set(node, busy);
    } catch (err) {
      opts.debug?.(`could not read the node states (${(err as Error).message})`);
    }
  }
  return out;
}
