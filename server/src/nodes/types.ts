/**
 * What the HTTP routes need from the node tracker: {@link LiveNodeTracker} implements it;
 * without a broker, {@link NoNodes} stands in (no node is ever connected).
 *
 * @module
 */
import type { NodeState, NodeStateSummary } from '@push-jobs/protocol/internal';

/** One node as `GET node_states` lists it. */
export type NodeStateEntry = NodeStateSummary;

/** Knows which nodes are connected and available. */
export interface NodeTracker {
  /** Nodes of the org that currently have a node record (never-seen and dead nodes are absent). */
  listNodeStates(org: string): NodeStateEntry[] | Promise<NodeStateEntry[]>;
  /** One node; an unknown node is `offline` and `unavailable`. */
  nodeState(org: string, node: string): Omit<NodeState, 'node_name'> | Promise<Omit<NodeState, 'node_name'>>;
  /** How many node records exist, across orgs. */
  nodeCount(): number;
}
