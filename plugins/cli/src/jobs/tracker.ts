/**
 * What a waiting `push jobs start` knows about its job: the job status and each node's state,
 * updated from feed events (spec 7.2) or from the job itself (polling, and the final state),
 * and the changes worth reporting: the job status changed, a node finished.
 *
 * Bulk changes (quorum failure, abort, run timeout) have no per-node events; the final GET of
 * the job reports those nodes.
 *
 * @module
 */
import { isTerminalNodeJobState, NODE_JOB_STATES, type Job } from '@push-jobs/protocol';
import type { ParsedFeedEvent } from '@push-jobs/protocol';
import { busyOfVote, type Busy } from './busy.js';

/** Something to report; a node that nacked because it is busy with another job has `busy`. */
export type ProgressChange =
  { kind: 'status'; status: string } | { kind: 'node'; node: string; state: string; busy?: Busy };

const VOTE_STATES: Readonly<Record<string, string>> = {
  success: 'ready',
  failure: 'nacked',
  down: 'unavailable',
  lost_availibility: 'unavailable',
  voting_timeout: 'unavailable',
};

const RUN_STATES: Readonly<Record<string, string>> = {
  success: 'succeeded',
  failure: 'failed',
  run_nacked: 'failed',
  run_nacked_while_running: 'failed',
  crashed: 'crashed',
};

function field(data: unknown, name: string): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const v = (data as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/** The job and node states of one job, as far as known. */
export class JobTracker {
  status: string;
  readonly nodes = new Map<string, string>();
  /** Nodes that nacked because they were busy with another job (from the vote events). */
  readonly busy = new Map<string, Busy>();
  readonly #reported = new Set<string>();

  constructor(nodes: readonly string[], status = 'new') {
    this.status = status;
    for (const n of nodes) this.nodes.set(n, 'new');
  }

  /** Applies one feed event. */
  applyEvent(event: ParsedFeedEvent): ProgressChange[] {
    const node = field(event.data, 'node');
    const status = field(event.data, 'status');
    switch (event.event) {
      case 'start':
        return this.#setStatus('voting');
      case 'quorum_vote': {
        if (node === undefined || status === undefined || VOTE_STATES[status] === undefined) return [];
        const busy = status === 'failure' ? busyOfVote(event.data) : undefined;
        if (busy !== undefined) this.busy.set(node, busy);
        return this.#setNode(node, VOTE_STATES[status]!, busy);
      }
      case 'quorum_succeeded':
        return this.#setStatus('running');
      case 'run_start':
        return node === undefined ? [] : this.#setNode(node, 'running');
      case 'run_complete':
        return node !== undefined && status !== undefined && RUN_STATES[status] !== undefined
          ? this.#setNode(node, RUN_STATES[status]!)
          : [];
      case 'job_complete':
        return status === undefined ? [] : this.#setStatus(status);
      case 'summary':
        return typeof event.data === 'object' && event.data !== null ? this.applyJob(event.data as Job) : [];
      default:
        return [];
    }
  }

  /** Applies the job as the server reports it (authoritative). */
  applyJob(job: Pick<Job, 'status' | 'nodes'>): ProgressChange[] {
    const changes: ProgressChange[] = [];
    for (const [state, names] of Object.entries(job.nodes ?? {})) {
      for (const n of (names as string[] | undefined) ?? []) changes.push(...this.#setNode(n, state));
    }
    if (typeof job.status === 'string') changes.push(...this.#setStatus(job.status));
    return changes;
  }

  /** How many nodes are in each state, in the order of the node states, empty ones left out. */
  counts(): [string, number][] {
    const by = new Map<string, number>();
    for (const s of this.nodes.values()) by.set(s, (by.get(s) ?? 0) + 1);
    const known: string[] = [...NODE_JOB_STATES];
    const order = [...known, ...[...by.keys()].filter((s) => !known.includes(s)).sort()];
    return order.filter((s) => by.has(s)).map((s) => [s, by.get(s)!]);
  }

  /** How many nodes are in a final state. */
  finishedNodes(): number {
    let n = 0;
    for (const s of this.nodes.values()) if (isTerminalNodeJobState(s)) n++;
    return n;
  }

  #setStatus(status: string): ProgressChange[] {
    if (status === this.status) return [];
    this.status = status;
    return [{ kind: 'status', status }];
  }

  #setNode(node: string, state: string, busy?: Busy): ProgressChange[] {
    this.nodes.set(node, state);
    if (!isTerminalNodeJobState(state) || this.#reported.has(node)) return [];
    this.#reported.add(node);
    return [busy === undefined ? { kind: 'node', node, state } : { kind: 'node', node, state, busy }];
  }
}
