/**
 * `/organizations/ORG/users[/NAME]`: the org's members (users are created with the server's
 * admin verbs).
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from '../deps.js';
import { notFound } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { NAMED, nameParam } from './common.js';

/** Registers the org user routes. */
export function registerUserRoutes(app: FastifyInstance, deps: RouteDeps): void {
  defineRoute(app, '/organizations/:org/users', {
    GET: {
      access: 'member',
      handler: async (req) =>
        (await deps.store.listOrgMembers(req.org!.name)).map((username) => ({ user: { username } })),
    },
  });
  defineRoute(app, '/organizations/:org/users/:name', {
    GET: {
      access: 'member',
      schema: NAMED,
      handler: async (req) => {
        const name = nameParam(req);
        const members = await deps.store.listOrgMembers(req.org!.name);
        const user = members.includes(name) ? await deps.store.getUser(name) : undefined;
        if (user === undefined)
          throw notFound(`user '${name}' is not a member of organization '${req.org!.name}'`);
        return { username: user.name, display_name: user.displayName, email: user.email };
      },
    },
  });
}
