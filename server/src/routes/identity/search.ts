/**
 * `/organizations/ORG/search[/node]`: Chef query syntax over node attributes, flattened as
 * Chef's index does, returning `{"total","start","rows"}`.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from '../../app.js';
import { badRequest } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { orgUrl } from '../../http/uri.js';
import { SearchQueryError, searchNodes } from '../../search/index.js';

function count(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw badRequest(`invalid ${name} '${value}' (expected a non-negative integer)`);
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
      handler: async (req) => {
        const q = req.query as Record<string, string | undefined>;
        const query = q.q ?? '*:*';
        const start = count('start', q.start, 0);
        const rows = count('rows', q.rows, 1000);
        try {
          return searchNodes(await deps.store.listNodes(req.org!.name), query, { start, rows });
        } catch (err) {
          if (err instanceof SearchQueryError) throw badRequest(`invalid search query: ${err.message}`);
          throw err;
        }
      },
    },
  });
}
