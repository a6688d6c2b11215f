/**
 * `/organizations/ORG/nodes[/NAME]`: Chef node objects, whose attributes carry
 * `push_jobs.whitelist`. Admins write any node; a client writes the node of its own name (as
 * chef-client does).
 *
 * @module
 */
import { emptyNodeDocument, isPlainObject, NODE_ATTRIBUTE_LEVELS } from '@push-jobs/protocol/internal';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteDeps } from '../deps.js';
import { isAdmin } from '../../http/authorize.js';
import { jsonBody, jsonObjectBody } from '../../http/body.js';
import type { Requestor } from '../../http/context.js';
import { badRequest, notFound } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { orgUrl } from '../../http/uri.js';
import type { NodeDocument } from '../../store/types.js';
import { adminOrSelfClient, NAMED, nameParam, urlMap, type NamedRequest } from './common.js';

const NODE_NAME = /^[A-Za-z0-9_.:-]{1,255}$/;

/** Validates a node body and fills Chef's defaults; a 400 naming the bad field otherwise. */
export function toNodeDocument(body: Record<string, unknown>, pathName?: string): NodeDocument {
  const name = body.name ?? pathName;
  if (typeof name !== 'string' || !NODE_NAME.test(name)) {
    throw badRequest("Field 'name' invalid (1-255 characters: letters, digits, '_', '.', ':', '-')");
  }
  if (pathName !== undefined && name !== pathName) throw badRequest('Node name mismatch.');
  const env = body.chef_environment ?? '_default';
  if (typeof env !== 'string') throw badRequest("Field 'chef_environment' invalid");
  const runList = body.run_list ?? [];
  if (!Array.isArray(runList) || runList.some((e) => typeof e !== 'string')) {
    throw badRequest("Field 'run_list' is not a valid run list");
  }
  const doc: NodeDocument = emptyNodeDocument(name, env, runList as string[]);
  for (const level of NODE_ATTRIBUTE_LEVELS) {
    const v = body[level];
    if (v === undefined || v === null) continue;
    if (!isPlainObject(v)) throw badRequest(`Field '${level}' invalid`);
    doc[level] = v;
  }
  return doc;
}

function mayCreateNode(deps: RouteDeps) {
  return async (request: FastifyRequest, who: Requestor): Promise<boolean> => {
    let name: unknown;
    try {
      const body = jsonBody(request);
      name = isPlainObject(body) ? body.name : undefined;
    } catch {
      name = undefined; // the handler reports the bad body, after authorization
    }
    return (who.type === 'client' && name === who.name) || isAdmin(deps.store, request.org!.name, who);
  };
}

async function findNode(deps: RouteDeps, request: NamedRequest): Promise<NodeDocument> {
  const name = nameParam(request);
  const node = await deps.store.getNode(request.org!.name, name);
  if (node === undefined) throw notFound(`node '${name}' not found`);
  return node;
}

/** Registers the node routes. */
export function registerNodeRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const base = '/organizations/:org/nodes';
  defineRoute(app, base, {
    GET: {
      access: 'member',
      handler: async (req) =>
        urlMap(await deps.store.listNodeNames(req.org!.name), (n) => orgUrl(req, req.org!.name, 'nodes', n)),
    },
    POST: {
      access: mayCreateNode(deps),
      jsonBody: true,
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        const doc = toNodeDocument(jsonObjectBody(req));
        await deps.store.createNode(req.org!.name, doc);
        const uri = orgUrl(req, req.org!.name, 'nodes', doc.name);
        return reply.code(201).header('location', uri).send({ uri });
      },
    },
  });
  defineRoute(app, `${base}/:name`, {
    GET: { access: 'member', schema: NAMED, handler: (req) => findNode(deps, req) },
    PUT: {
      access: adminOrSelfClient(deps.store),
      schema: NAMED,
      jsonBody: true,
      handler: async (req) => {
        await findNode(deps, req);
        const doc = toNodeDocument(jsonObjectBody(req), nameParam(req));
        return deps.store.putNode(req.org!.name, doc);
      },
    },
    DELETE: {
      access: adminOrSelfClient(deps.store),
      schema: NAMED,
      handler: async (req) => {
        const node = await findNode(deps, req);
        await deps.store.deleteNode(req.org!.name, node.name);
        return node;
      },
    },
  });
}
