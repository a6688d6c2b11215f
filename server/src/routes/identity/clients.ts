/**
 * `/organizations/ORG/clients[/NAME[/keys[/KEY]]]`, Chef-compatible. A validator client may
 * create (non-validator) clients: that is how an agent registers itself with a key it generated.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteDeps } from '../deps.js';
import { isAdmin } from '../../http/authorize.js';
import { jsonObjectBody } from '../../http/body.js';
import type { Requestor } from '../../http/context.js';
import { badRequest, forbidden, notFound } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { orgUrl } from '../../http/uri.js';
import { createClientWithKey } from '../../identity/service.js';
import type { ClientRecord } from '../../store/types.js';
import {
  adminOrSelfClient,
  NAMED,
  nameParam,
  optionalBoolean,
  optionalString,
  urlMap,
  type NamedRequest,
} from './common.js';
import { keyRoutes } from './keys.js';

function clientJson(c: ClientRecord): Record<string, unknown> {
  return {
    name: c.name,
    clientname: c.name,
    orgname: c.orgName,
    validator: c.validator,
    json_class: 'Chef::ApiClient',
    chef_type: 'client',
  };
}

async function createClient(deps: RouteDeps, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const body = jsonObjectBody(request);
  const name = optionalString(body, 'name') ?? optionalString(body, 'clientname');
  if (name === undefined || name === '') throw badRequest("Field 'name' missing");
  const validator = optionalBoolean(body, 'validator') ?? false;
  const publicKey = optionalString(body, 'public_key');
  const who = request.requestor!;
  const org = request.org!.name;
  if (validator && !(await isAdmin(deps.store, org, who))) {
    throw forbidden(`'${who.name}' may not create a validator client`);
  }
  const { privateKey } = await createClientWithKey(deps.store, {
    org,
    name,
    validator,
    ...(publicKey === undefined ? {} : { publicKey }),
  });
  const uri = orgUrl(request, org, 'clients', name);
  const keys = await deps.store.listKeys({ type: 'client', org, name });
  const chefKey: Record<string, unknown> = {
    name: 'default',
    uri: `${uri}/keys/default`,
    public_key: keys[0]?.publicKey,
    expiration_date: 'infinity',
  };
  if (privateKey !== undefined) chefKey.private_key = privateKey;
  return reply
    .code(201)
    .header('location', uri)
    .send({ uri, chef_key: chefKey, ...(privateKey === undefined ? {} : { private_key: privateKey }) });
}

async function findClient(deps: RouteDeps, request: NamedRequest): Promise<ClientRecord> {
  const name = nameParam(request);
  const client = await deps.store.getClient(request.org!.name, name);
  if (client === undefined) throw notFound(`client '${name}' not found`);
  return client;
}

/** An admin, or a validator creating a client. */
function mayCreateClient(deps: RouteDeps) {
  return async (request: FastifyRequest, who: Requestor): Promise<boolean> =>
    (who.type === 'client' && who.validator) || isAdmin(deps.store, request.org!.name, who);
}

/** Registers the client routes. */
export function registerClientRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const base = '/organizations/:org/clients';
  defineRoute(app, base, {
    GET: {
      access: 'member',
      handler: async (req) => {
        const clients = await deps.store.listClients(req.org!.name);
        return urlMap(
          clients.map((c) => c.name),
          (n) => orgUrl(req, req.org!.name, 'clients', n),
        );
      },
    },
    POST: {
      access: mayCreateClient(deps),
      jsonBody: true,
      handler: (req, reply) => createClient(deps, req, reply),
    },
  });
  defineRoute(app, `${base}/:name`, {
    GET: { access: 'member', schema: NAMED, handler: async (req) => clientJson(await findClient(deps, req)) },
    PUT: {
      access: 'admin',
      schema: NAMED,
      jsonBody: true,
      handler: async (req) => {
        const client = await findClient(deps, req);
        const body = jsonObjectBody(req);
        const newName = optionalString(body, 'name') ?? optionalString(body, 'clientname');
        if (newName !== undefined && newName !== client.name)
          throw badRequest('renaming a client is not supported');
        if (optionalBoolean(body, 'validator') !== undefined && body.validator !== client.validator) {
          throw badRequest('changing the validator flag is not supported; delete and re-create the client');
        }
        return clientJson(client);
      },
    },
    DELETE: {
      access: adminOrSelfClient(deps.store),
      schema: NAMED,
      handler: async (req) => {
        const client = await findClient(deps, req);
        await deps.store.deleteClient(client.orgName, client.name);
        return clientJson(client);
      },
    },
  });
  keyRoutes(
    app,
    deps,
    `${base}/:name/keys`,
    (req) => ({ type: 'client', org: req.org!.name, name: nameParam(req) }),
    adminOrSelfClient(deps.store),
  );
}
