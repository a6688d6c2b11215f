/**
 * What the HTTP layer needs from the job engine and the node tracker. The ZeroMQ broker, the
 * node state machines and the job state machines implement these; until they run, the
 * {@link IdleEngine} stands in (jobs stay `new`, no node is connected).
 *
 * @module
 */
import type { NodeState, NodeStateSummary } from '@push-jobs/protocol/internal';
import type { JobRecord } from '../store/types.js';

/** One node as `GET node_states` lists it. */
export type NodeStateEntry = NodeStateSummary;

/** Runs jobs. */
export interface JobEngine {
  /** Called once the job and its nodes are stored; starts voting. */
  startJob(job: JobRecord, requestor: string): Promise<void>;
  /**
   * Aborts a job that has not finished: tells its nodes to stop and ends it `aborted`.
   * Resolves to the job as it is afterwards, or `undefined` when there is no such job.
   */
  abortJob(org: string, id: string, requestor: string): Promise<JobRecord | undefined>;
  /** Ids of the jobs that currently have a live state machine. */
  liveJobIds(): string[];
  /** The id of the server running the jobs, recorded as their owner (none: jobs stay unowned). */
  readonly serverId?: string;
}

/** Knows which nodes are connected and available. */
export interface NodeTracker {
  /** Nodes of the org that currently have a node record (never-seen and dead nodes are absent). */
  listNodeStates(org: string): NodeStateEntry[];
  /** One node; an unknown node is `offline` and `unavailable`. */
  nodeState(org: string, node: string): Omit<NodeState, 'node_name'>;
  /** How many node records exist, across orgs. */
  nodeCount(): number;
}
