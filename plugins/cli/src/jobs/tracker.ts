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
import {
  isTerminalNodeJobState,
  narrowJobFeedEvent,
  NODE_JOB_STATES,
  type Job,
  type JobState,
  type NodeJobState,
  type ParsedFeedEvent,
  type QuorumVoteStatus,
  type RunCompleteStatus,
} from '@push-jobs/protocol';
import { busyOfVote, type Busy } from './busy.js';
import { rolloutCount, type RolloutLimits } from './rollout.js';

/**
 * Something to report; a node that nacked because it is busy with another job has `busy`. Ours:
 * `start` when the job has a search or is a rollout (from its `start` event), `started` when a
 * node of a rollout starts, `budget` when a rollout's error budget is spent.
 */
export type ProgressChange =
  | { kind: 'status'; status: JobState }
  | { kind: 'node'; node: string; state: string; busy?: Busy }
  | { kind: 'start'; search?: string; maxConcurrency?: number; maxErrors?: number }
  | { kind: 'started'; node: string }
  | { kind: 'budget'; failed: number; maxErrors: number; skipped: number };

/** The node state each vote status means (`undefined`: the vote changes nothing we report). */
const VOTE_STATES: Readonly<Record<QuorumVoteStatus, NodeJobState | undefined>> = {
  success: 'ready',
  failure: 'nacked',
  down: 'unavailable',
  lost_availibility: 'unavailable',
  voting_timeout: 'unavailable',
  unexpected_commit: undefined,
  client_died_while_voting: undefined,
};

/** The node state each run status means (`undefined`: the node's state is not the run's). */
const RUN_STATES: Readonly<Record<RunCompleteStatus, NodeJobState | undefined>> = {
  success: 'succeeded',
  failure: 'failed',
  run_nacked: 'failed',
  run_nacked_while_running: 'failed',
  crashed: 'crashed',
  client_died_while_running: undefined,
};

/** Fails to compile when an event is left unhandled by a switch over `event`. */
function unhandled(event: never): never {
  throw new Error(`unhandled feed event ${JSON.stringify(event)}`);
}

/**
 * The job and node states of one job, as far as known. Node states are strings: the job
 * document of a newer server may name a state this CLI does not know, and it is still shown.
 */
export class JobTracker {
  status: JobState;
  readonly nodes = new Map<string, string>();
  /** Nodes that nacked because they were busy with another job (from the vote events). */
  readonly busy = new Map<string, Busy>();
  /** A rollout's window and error budget (from the `start` event or the job), else undefined. */
  rollout: RolloutLimits | undefined;
  readonly #reported = new Set<string>();

  constructor(nodes: readonly string[], status: JobState = 'new') {
    this.status = status;
    for (const n of nodes) this.nodes.set(n, 'new');
  }

  /**
   * Applies one feed event, narrowed to the typed job feed events first: an unknown event, or
   * one whose data is not what its name promises, changes nothing.
   */
  applyEvent(event: ParsedFeedEvent): ProgressChange[] {
    const known = narrowJobFeedEvent(event);
    if (known === undefined) return [];
    switch (known.event) {
      case 'start': {
        const { search, max_concurrency: maxConcurrency, max_errors: maxErrors } = known.data;
        if (maxConcurrency !== undefined || maxErrors !== undefined) {
          this.rollout = {
            ...(maxConcurrency === undefined ? {} : { maxConcurrency }),
            ...(maxErrors === undefined ? {} : { maxErrors }),
          };
        }
        const changes = this.#setStatus('voting');
        if (search === undefined && this.rollout === undefined) return changes;
        return [
          ...changes,
          {
            kind: 'start',
            ...(search === undefined ? {} : { search }),
            ...(maxConcurrency === undefined ? {} : { maxConcurrency }),
            ...(maxErrors === undefined ? {} : { maxErrors }),
          },
        ];
      }
      case 'quorum_vote': {
        const { node, status } = known.data;
        const state = VOTE_STATES[status];
        if (state === undefined) return [];
        const busy = status === 'failure' ? busyOfVote(known.data) : undefined;
        if (busy !== undefined) this.busy.set(node, busy);
        return this.#setNode(node, state, busy);
      }
      case 'quorum_succeeded':
        return this.#setStatus('running');
      case 'run_start': {
        const changes = this.#setNode(known.data.node, 'running');
        return this.rollout === undefined
          ? changes
          : [...changes, { kind: 'started', node: known.data.node }];
      }
      case 'run_complete': {
        const state = RUN_STATES[known.data.status];
        return state === undefined ? [] : this.#setNode(known.data.node, state);
      }
      case 'rehab':
      case 'output':
        return [];
      case 'max_errors_exceeded': {
        const { failed, max_errors: maxErrors, skipped } = known.data;
        return [{ kind: 'budget', failed, maxErrors, skipped }];
      }
      case 'job_complete':
        return this.#setStatus(known.data.status);
      case 'summary':
        return this.applyJob(known.data);
      default:
        return unhandled(known);
    }
  }

  /**
   * Takes a rollout's window and error budget from the job (as given: a count or `"N%"` of the
   * job's nodes) when no `start` event said them.
   */
  rolloutOf(job: Pick<Job, 'max_concurrency' | 'max_errors'>): void {
    if (this.rollout !== undefined) return;
    const n = this.nodes.size;
    const c = job.max_concurrency === undefined ? undefined : rolloutCount(job.max_concurrency, n, 'up');
    const e = job.max_errors === undefined ? undefined : rolloutCount(job.max_errors, n, 'down');
    if (c === undefined && e === undefined) return;
    this.rollout = {
      ...(c === undefined ? {} : { maxConcurrency: c }),
      ...(e === undefined ? {} : { maxErrors: e }),
    };
  }

  /** Applies the job as the server reports it (authoritative). */
  applyJob(
    job: Pick<Job, 'status' | 'nodes'> & Partial<Pick<Job, 'max_concurrency' | 'max_errors'>>,
  ): ProgressChange[] {
    const changes: ProgressChange[] = [];
    for (const [state, names] of Object.entries(job.nodes ?? {})) {
      for (const n of (names as string[] | undefined) ?? []) changes.push(...this.#setNode(n, state));
    }
    this.rolloutOf(job);
    // A job document is not checked against its schema: a status missing from it changes nothing.
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

  #setStatus(status: JobState): ProgressChange[] {
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
