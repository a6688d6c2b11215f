/**
 * `GET /organizations/ORG/pushy/config/NODE?ccpk=<z85>&version=2.0`: the agent's config document
 * (spec 6), with our deliberate fixes:
 *
 * - the session key (`encoded_session_key`) goes only to the node's own client; a user allowed to
 *   read the config gets the document without it;
 * - the client's CURVE key (`ccpk`) is admitted to the ZAP allow-list only after the request's
 *   signature verified, only for the node's own client, and bound to that node (the original
 *   admitted any well-formed key before checking the signature);
 * - a 40-character `ccpk` that is not Z85 is a 401 "Bad ccpk" (the original crashed: 500);
 * - `curve_public_key` is left out when CURVE is disabled (the original always sent it).
 *
 * Order of checks: signed headers (400/401, app hook), `ccpk` (400/401, here, before
 * authentication as the original), org (404), principal (401/403), signature (401), client and
 * node name (403) or the read groups for a user (403), broker running (503).
 *
 * @module
 */
import {
  OFFLINE_THRESHOLD,
  ONLINE_THRESHOLD,
  ConfigQuerySchema,
  encryptSessionKey,
  NodeParamsSchema,
  verifyRequest,
  type ConfigDocument,
} from '@push-jobs/protocol/internal';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteDeps } from '../deps.js';
import { authorize } from '../../http/authorize.js';
import type { AccessCheck } from '../../http/context.js';
import { HttpError, badRequest, forbidden, unauthorized } from '../../http/errors.js';
import { defineRoute, type RequestOf } from '../../http/routes.js';
import { curveKeyFromZ85 } from '../../zmq/curve-keys.js';

/** The config document as we send it: `encoded_session_key` only to the node's own client. */
export type ConfigResponse = Omit<ConfigDocument, 'encoded_session_key'> & {
  encoded_session_key?: ConfigDocument['encoded_session_key'];
};

/** The result of reading the `ccpk` query parameter. */
type CcpkResult = { kind: 'missing' } | { kind: 'bad' } | { kind: 'ok'; key: Buffer };

/** A request of the config route, once its schemas were checked. */
type ConfigRequest = RequestOf<{ params: typeof NodeParamsSchema; querystring: typeof ConfigQuerySchema }>;

/**
 * Reads and decodes `ccpk` (already URL-decoded by the query parser). Runs before the schemas
 * are checked too (in preValidation), so it takes the query as it came: a repeated `ccpk`
 * is an array, and "Bad ccpk".
 */
function readCcpk(request: FastifyRequest): CcpkResult {
  const query: unknown = request.query;
  const value = typeof query === 'object' && query !== null ? (query as { ccpk?: unknown }).ccpk : undefined;
  if (value === undefined) return { kind: 'missing' };
  if (typeof value !== 'string') return { kind: 'bad' };
  const key = curveKeyFromZ85(value);
  return key === undefined ? { kind: 'bad' } : { kind: 'ok', key };
}

/** The `ccpk` check, before authentication. Admits nothing. */
function checkCcpk(deps: RouteDeps, request: FastifyRequest): void {
  if (deps.config.disable_curve_encryption) return;
  const ccpk = readCcpk(request);
  if (ccpk.kind === 'missing') throw badRequest('Missing ccpk');
  if (ccpk.kind === 'bad') throw unauthorized('Bad ccpk');
}

/** Clients read their own node's config only; users need the read rules. */
function configAccess(deps: RouteDeps): AccessCheck<ConfigRequest> {
  return async (request, who, org) => {
    if (who.type === 'client') {
      if (deps.config.validate_client_node_name && who.name !== request.params.node) {
        throw forbidden('Client and node name must match');
      }
      return true;
    }
    await authorize('read', request, deps.store, org, who);
    return true;
  };
}

/**
 * The public key of the client that signed the request: the first of its keys that verifies
 * the request (the one authentication accepted).
 */
async function requestorClientKey(deps: RouteDeps, request: ConfigRequest, org: string): Promise<string> {
  const name = request.requestor!.name;
  const principals = await deps.store.findPrincipals(org, name, new Date());
  const client = principals.find((p) => p.type === 'client' && p.orgMember);
  const keys = client?.publicKeys ?? [];
  const result = verifyRequest(
    { method: request.method, path: request.url, body: request.rawBody ?? '', headers: request.headers },
    keys,
    { skewSeconds: deps.config.auth_skew },
  );
  const key = result.ok ? keys[result.keyIndex] : undefined;
  // Authentication verified with one of these keys moments ago; a key deleted since is a 401.
  if (key === undefined) throw unauthorized(`Invalid signature for user or client '${name}'`);
  return key;
}

/** Ends a PEM with a blank line, as the original's `public_key`. */
function withBlankLine(pem: string): string {
  return `${pem.trimEnd()}\n\n`;
}

async function getConfig(deps: RouteDeps, request: ConfigRequest): Promise<ConfigResponse> {
  const runtime = deps.runtime;
  if (runtime === undefined) throw new HttpError(503, 'the ZeroMQ broker is not running');
  const { config } = deps;
  const { node } = request.params;
  const org = request.org!.name;
  const who = request.requestor!;
  const ownClient = who.type === 'client' && who.name === node;
  const curve = !config.disable_curve_encryption;

  let encoded: ConfigDocument['encoded_session_key'] | undefined;
  if (ownClient) {
    const clientKey = await requestorClientKey(deps, request, org);
    const sessionKey = runtime.sessionKeys.keyForConfig(org, node);
    encoded = { method: 'hmac_sha256', key: encryptSessionKey(sessionKey, clientKey) };
  }

  const body: ConfigResponse = {
    type: 'config',
    host: config.server_name,
    push_jobs: {
      heartbeat: {
        // The bound ports (they differ from the settings when those ask for any free port).
        out_addr: `tcp://${config.server_name}:${runtime.ports?.heartbeat ?? config.server_heartbeat_port}`,
        command_addr: `tcp://${config.server_name}:${runtime.ports?.command ?? config.command_port}`,
        interval: config.heartbeat_interval / 1000,
        offline_threshold: OFFLINE_THRESHOLD,
        online_threshold: ONLINE_THRESHOLD,
      },
    },
    node,
    organization: org,
    public_key: withBlankLine(runtime.serverPublicKeyPem),
    ...(curve ? { curve_public_key: runtime.curvePublicKey } : {}),
    ...(encoded === undefined ? {} : { encoded_session_key: encoded }),
    lifetime: config.config_lifetime,
    max_message_skew: config.max_message_skew,
    max_body_size: config.max_body_size,
    incarnation_id: deps.incarnationId,
  };

  // Only now, with the signature verified and the document built: admit the node's CURVE key.
  if (curve && ownClient) {
    const ccpk = readCcpk(request);
    if (ccpk.kind === 'ok') runtime.allowList.allow(ccpk.key, org, node);
  }
  return body;
}

/** Registers `GET /organizations/:org/pushy/config/:node` (and 405 for other methods). */
export function registerConfigRoute(app: FastifyInstance, deps: RouteDeps): void {
  defineRoute(app, '/organizations/:org/pushy/config/:node', {
    GET: {
      access: configAccess(deps),
      schema: { params: NodeParamsSchema, querystring: ConfigQuerySchema },
      preValidation: (request) => checkCcpk(deps, request),
      handler: (request) => getConfig(deps, request),
    },
  });
}
