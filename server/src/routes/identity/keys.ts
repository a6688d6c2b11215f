/**
 * `.../keys[/KEY]`: a principal's named public keys (Chef allows several; any unexpired one
 * authenticates).
 *
 * @module
 */
import { KeyParamsSchema } from '@push-jobs/protocol/internal';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteDeps } from '../deps.js';
import { jsonObjectBody } from '../../http/body.js';
import type { AccessCheck } from '../../http/context.js';
import { badRequest, notFound } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { baseUrl } from '../../http/uri.js';
import { normalizePublicKey } from '../../identity/keys.js';
import type { KeyRecord, PrincipalRef } from '../../store/types.js';
import { NAMED, optionalString, type NamedRequest } from './common.js';

function expiration(k: KeyRecord): string {
  return k.expiresAt === null ? 'infinity' : k.expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function parseExpiration(value: string | undefined): Date | null {
  if (value === undefined || value === 'infinity') return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw badRequest(`invalid expiration_date '${value}' (expected ISO-8601 or 'infinity')`);
  return d;
}

async function findKey(deps: RouteDeps, principal: PrincipalRef, name: string): Promise<KeyRecord> {
  const key = (await deps.store.listKeys(principal)).find((k) => k.name === name);
  if (key === undefined) throw notFound(`key '${name}' not found`);
  return key;
}

/** Registers list/add at `url` and read/delete at `url/:key`. */
export function keyRoutes(
  app: FastifyInstance,
  deps: RouteDeps,
  url: string,
  principalOf: (request: NamedRequest) => PrincipalRef,
  mayWrite: AccessCheck<NamedRequest>,
): void {
  const keyUrl = (req: FastifyRequest, name: string) =>
    `${baseUrl(req)}${req.url.split('?')[0]!.replace(/\/+$/, '')}/${encodeURIComponent(name)}`;
  defineRoute(app, url, {
    GET: {
      access: 'member',
      schema: NAMED,
      handler: async (req) => {
        const now = Date.now();
        return (await deps.store.listKeys(principalOf(req))).map((k) => ({
          name: k.name,
          uri: keyUrl(req, k.name),
          expired: k.expiresAt !== null && k.expiresAt.getTime() <= now,
        }));
      },
    },
    POST: {
      access: mayWrite,
      jsonBody: true,
      schema: NAMED,
      handler: async (req, reply) => {
        const body = jsonObjectBody(req);
        const name = optionalString(body, 'name');
        const pem = optionalString(body, 'public_key');
        if (name === undefined || name === '') throw badRequest("Field 'name' missing");
        if (pem === undefined) throw badRequest("Field 'public_key' missing");
        const expiresAt = parseExpiration(optionalString(body, 'expiration_date'));
        await deps.store.addKey(principalOf(req), { name, publicKey: normalizePublicKey(pem), expiresAt });
        const uri = keyUrl(req, name);
        return reply.code(201).header('location', uri).send({ uri });
      },
    },
  });
  const KEYED = { params: KeyParamsSchema };
  defineRoute(app, `${url}/:key`, {
    GET: {
      access: 'member',
      schema: KEYED,
      handler: async (req) => {
        const k = await findKey(deps, principalOf(req), req.params.key);
        return { name: k.name, public_key: k.publicKey, expiration_date: expiration(k) };
      },
    },
    DELETE: {
      access: mayWrite,
      schema: KEYED,
      handler: async (req) => {
        const principal = principalOf(req);
        const k = await findKey(deps, principal, req.params.key);
        await deps.store.deleteKey(principal, k.name);
        return { name: k.name, public_key: k.publicKey, expiration_date: expiration(k) };
      },
    },
  });
}
