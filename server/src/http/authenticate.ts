/**
 * Chef signed-request authentication, in the order of the original (spec 1.2):
 *
 * 1. `checkSignedHeaders` (an `onRequest` hook, before the body is read): the four required
 *    headers (400), a parseable timestamp within the skew window (401), a supported
 *    `X-Ops-Sign` (400). Then Fastify reads the body (413 over the limit).
 * 2. Route-specific body validation (`preValidation`, e.g. job requests: 400).
 * 3. `authenticate` (`preHandler`): the org (404), the principal (401), org membership (403),
 *    the signature against each of the principal's keys (401).
 *
 * @module
 */
import {
  REQUIRED_HEADERS,
  headerLookup,
  parseSignHeader,
  parseTimestamp,
  resolveSignDescription,
  verifyRequest,
} from '@push-jobs/protocol/internal';
import type { FastifyRequest } from 'fastify';
import type { Store } from '../store/types.js';
import type { Requestor } from './context.js';
import { HttpError, badRequest, notFound, unauthorized, forbidden } from './errors.js';

/**
 * A 400 for a URL holding a NUL character (`%00`, in the path or the query): no name of ours
 * holds one, and PostgreSQL text cannot (a store error, a 500, otherwise). `%2500` is the
 * text `%00`, not a NUL, and passes.
 */
export function checkRequestUrl(request: FastifyRequest): void {
  if (/%00/i.test(request.url)) throw badRequest('the request URL contains a NUL character (%00)');
}

/**
 * Step 1: the header checks that need no body and no database (after {@link checkRequestUrl}).
 * Throws {@link HttpError}.
 */
export function checkSignedHeaders(request: FastifyRequest, skewSeconds: number, now = Date.now()): void {
  checkRequestUrl(request);
  const h = headerLookup(request.headers);
  const values = REQUIRED_HEADERS.map((name) => h.get(name.toLowerCase()));
  const missing = REQUIRED_HEADERS.filter((_, i) => values[i] === undefined || values[i] === '');
  if (missing.length > 0) {
    throw badRequest(`missing required authentication header(s) '${missing.join("', '")}'`);
  }
  const [userId, timestamp, sign] = values as [string, string, string, string];
  const time = parseTimestamp(timestamp);
  if (Number.isNaN(time)) throw unauthorized("bad header(s) 'X-Ops-Timestamp'");
  if (Math.abs(now - time) > skewSeconds * 1000) {
    throw unauthorized(`Failed to authenticate as ${userId}. Synchronize the clock on your host.`);
  }
  if (resolveSignDescription(parseSignHeader(sign)) === undefined) {
    throw badRequest('Unsupported authentication protocol version');
  }
}

/**
 * Step 3: finds the org and the principal, and verifies the signature. Returns the requestor;
 * throws {@link HttpError} with the original's status and message otherwise.
 */
export async function authenticate(
  request: FastifyRequest,
  store: Store,
  orgName: string,
  skewSeconds: number,
): Promise<{ org: NonNullable<FastifyRequest['org']>; requestor: Requestor }> {
  const org = await store.getOrg(orgName);
  if (org === undefined) throw notFound(`organization '${orgName}' does not exist.`);
  const userId = headerLookup(request.headers).get('x-ops-userid') ?? '';
  const principals = await store.findPrincipals(org.name, userId, new Date());
  if (principals.length === 0) {
    throw unauthorized(
      `Failed to authenticate as '${userId}'. Ensure that your node_name and client key are correct.`,
    );
  }
  const members = principals.filter((p) => p.orgMember);
  if (members.length === 0) throw forbidden(`'${userId}' is not associated with organization '${org.name}'`);

  // Try every key of every member principal, clients first (the store's order); the first key
  // that verifies identifies the requestor.
  const keys = members.flatMap((p) => p.publicKeys.map((key) => ({ key, principal: p })));
  const result = verifyRequest(
    { method: request.method, path: request.url, body: request.rawBody ?? '', headers: request.headers },
    keys.map((k) => k.key),
    { skewSeconds },
  );
  if (!result.ok) {
    if (result.reason === 'missing_headers' || result.reason === 'unsupported_version') {
      throw new HttpError(400, result.message);
    }
    if (result.reason === 'bad_timestamp' || result.reason === 'clock_skew')
      throw unauthorized(result.message);
    throw unauthorized(`Invalid signature for user or client '${userId}'`);
  }
  const principal = keys[result.keyIndex]!.principal;
  return { org, requestor: { type: principal.type, name: principal.name, validator: principal.validator } };
}
