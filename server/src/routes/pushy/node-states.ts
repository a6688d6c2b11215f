/**
 * `GET node_states` and `GET node_states/NODE` (spec 1.9, 1.10, 3.4): a node is available only
 * while idle, and both endpoints say the same.
 *
 * @module
 */
import type { NodeParamsSchema, NodeState, NodeStateList } from '@push-jobs/protocol/internal';
import type { FastifyRequest } from 'fastify';
import type { RouteDeps } from '../deps.js';
import type { RequestOf } from '../../http/routes.js';

/** Every node of the org that has a node record. */
export async function listNodeStates(deps: RouteDeps, request: FastifyRequest): Promise<NodeStateList> {
  return deps.tracker.listNodeStates(request.org!.name);
}

/** One node; an unknown node is offline and unavailable (200, never 404). */
export async function getNodeState(
  deps: RouteDeps,
  request: RequestOf<{ params: typeof NodeParamsSchema }>,
): Promise<NodeState> {
  const { node } = request.params;
  return { node_name: node, ...(await deps.tracker.nodeState(request.org!.name, node)) };
}
