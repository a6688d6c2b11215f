/**
 * Small helpers shared by the identity routes.
 *
 * @module
 */
import { NamedParamsSchema } from '@push-jobs/protocol/internal';
import type { AccessCheck } from '../../http/context.js';
import { isAdmin } from '../../http/authorize.js';
import { badRequest } from '../../http/errors.js';
import type { RequestOf } from '../../http/routes.js';
import type { Store } from '../../store/types.js';

/** The schemas of a route whose path names a user, client, group or node: `.../:name`. */
export const NAMED = { params: NamedParamsSchema };

/** A request of a `.../:name` route. */
export type NamedRequest = RequestOf<typeof NAMED>;

/** The `:name` path parameter. */
export function nameParam(request: NamedRequest): string {
  return request.params.name;
}

/** An access rule: an admin of the org, or the client named in the path acting on itself. */
export function adminOrSelfClient(store: Store): AccessCheck<NamedRequest> {
  return async (request, who) =>
    (who.type === 'client' && who.name === nameParam(request)) || isAdmin(store, request.org!.name, who);
}

/** A string member of a JSON body, or a 400 naming it. */
export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badRequest(`Field '${field}' must be a string`);
  return v;
}

/** A boolean member of a JSON body, or a 400 naming it. */
export function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badRequest(`Field '${field}' must be a boolean`);
  return v;
}

/** A `{name: url}` map, as Chef lists collections. */
export function urlMap(names: string[], url: (name: string) => string): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, url(n)]));
}
