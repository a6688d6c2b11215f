/**
 * The part of a Chef server that push jobs needs: clients, nodes, groups, search, org users.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from '../deps.js';
import { registerClientRoutes } from './clients.js';
import { registerGroupRoutes } from './groups.js';
import { registerNodeRoutes } from './nodes.js';
import { registerSearchRoutes } from './search.js';
import { registerUserRoutes } from './users.js';

/** Registers every identity route. */
export function registerIdentityRoutes(app: FastifyInstance, deps: RouteDeps): void {
  registerClientRoutes(app, deps);
  registerNodeRoutes(app, deps);
  registerGroupRoutes(app, deps);
  registerSearchRoutes(app, deps);
  registerUserRoutes(app, deps);
}
