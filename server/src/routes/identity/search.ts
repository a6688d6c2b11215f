/**
 * `/organizations/ORG/search[/node]`: Chef query syntax over node attributes, flattened as
 * Chef's index does, returning `{"total","start","rows"}`. The org's index is brought up to date
 * from the store's node revisions first (see `search/org-indexes.ts`).
 *
 * @module
 */
import { NodeSearchQuerySchema } from '@push-jobs/protocol/internal';
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from '../deps.js';
import { badRequest } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { orgUrl } from '../../http/uri.js';
import { SearchQueryError } from '../../search/index.js';

function count(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw badRequest(`invalid ${name} '${value}' (expected an integer from 0 to ${Number.MAX_SAFE_INTEGER})`);
  }
  return Number(value);
}

/** Registers the search routes. */
export function registerSearchRoutes(app: FastifyInstance, deps: RouteDeps): void {
  defineRoute(app, '/organizations/:org/search', {
    GET: {
      access: 'member',
      handler: async (req) => ({ node: orgUrl(req, req.org!.name, 'search', 'node') }),
    },
  });
  defineRoute(app, '/organizations/:org/search/node', {
    GET: {
      access: 'member',
      schema: { querystring: NodeSearchQuerySchema },
      handler: async (req) => {
        const q = req.query;
        const query = q.q ?? '*:*';
        const start = count('start', q.start, 0);
        const rows = count('rows', q.rows, 1000);
        try {
          const index = await deps.searchIndexes.current(req.org!.guid);
          return await index.searchAsync(query, { start, rows });
        } catch (err) {
          if (err instanceof SearchQueryError) throw badRequest(`invalid search query: ${err.message}`);
          throw err;
        }
      },
    },
  });
}
