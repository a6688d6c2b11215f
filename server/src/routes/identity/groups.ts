/**
 * `/organizations/ORG/groups[/NAME]`, Chef-compatible shapes. Membership drives authorization
 * (`admins`, `pushy_job_readers`, `pushy_job_writers`); nested groups are allowed.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteDeps } from '../deps.js';
import { jsonObjectBody } from '../../http/body.js';
import { badRequest, notFound } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { orgUrl } from '../../http/uri.js';
import type { GroupRecord } from '../../store/types.js';
import { NAMED, nameParam, optionalString, urlMap, type NamedRequest } from './common.js';

const GROUP_NAME = /^[a-z0-9_-]{1,255}$/;

function groupJson(g: GroupRecord): Record<string, unknown> {
  return {
    actors: [...g.users, ...g.clients],
    users: g.users,
    clients: g.clients,
    groups: g.groups,
    orgname: g.orgName,
    name: g.name,
    groupname: g.name,
  };
}

function stringList(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((e) => typeof e !== 'string'))
    throw badRequest(`Field '${field}' must be a list of names`);
  return v as string[];
}

async function findGroup(deps: RouteDeps, request: NamedRequest): Promise<GroupRecord> {
  const name = nameParam(request);
  const group = await deps.store.getGroup(request.org!.name, name);
  if (group === undefined) throw notFound(`group '${name}' not found`);
  return group;
}

/** Registers the group routes. */
export function registerGroupRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const base = '/organizations/:org/groups';
  defineRoute(app, base, {
    GET: {
      access: 'member',
      handler: async (req) =>
        urlMap(await deps.store.listGroups(req.org!.name), (n) => orgUrl(req, req.org!.name, 'groups', n)),
    },
    POST: {
      access: 'admin',
      jsonBody: true,
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        const body = jsonObjectBody(req);
        const name =
          optionalString(body, 'groupname') ?? optionalString(body, 'id') ?? optionalString(body, 'name');
        if (name === undefined || !GROUP_NAME.test(name)) {
          throw badRequest("Field 'groupname' invalid (1-255 characters: a-z, 0-9, '_', '-')");
        }
        await deps.store.createGroup(req.org!.name, name);
        const uri = orgUrl(req, req.org!.name, 'groups', name);
        return reply.code(201).header('location', uri).send({ uri });
      },
    },
  });
  defineRoute(app, `${base}/:name`, {
    GET: { access: 'member', schema: NAMED, handler: async (req) => groupJson(await findGroup(deps, req)) },
    PUT: {
      access: 'admin',
      schema: NAMED,
      jsonBody: true,
      handler: async (req) => {
        const group = await findGroup(deps, req);
        const body = jsonObjectBody(req);
        const actors = body.actors ?? {};
        if (typeof actors !== 'object' || actors === null || Array.isArray(actors)) {
          throw badRequest("Field 'actors' must be an object with 'users', 'clients' and 'groups'");
        }
        const a = actors as Record<string, unknown>;
        const updated = await deps.store.setGroupMembers(req.org!.name, group.name, {
          users: stringList(a.users, 'actors.users'),
          clients: stringList(a.clients, 'actors.clients'),
          groups: stringList(a.groups, 'actors.groups'),
        });
        return groupJson(updated);
      },
    },
    DELETE: {
      access: 'admin',
      schema: NAMED,
      handler: async (req) => {
        const group = await findGroup(deps, req);
        await deps.store.deleteGroup(req.org!.name, group.name);
        return groupJson(group);
      },
    },
  });
}
