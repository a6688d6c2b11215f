/**
 * `/organizations/ORG/search[/node]`: Chef query syntax over node attributes, flattened as
 * Chef's index does, returning `{"total","start","rows"}`.
 *
 * @module
 */
import { NodeSearchQuerySchema } from '@push-jobs/protocol/internal';
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from '../deps.js';
import { badRequest } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { orgUrl } from '../../http/uri.js';
import { NodeSearchIndex, SearchQueryError } from '../../search/index.js';
import type { Store } from '../../store/types.js';

/**
 * One index per org, refreshed from the store on every search: a node whose document did not
 * change (same JSON) keeps its flattened form, so a search over 10,000 nodes does not flatten
 * them all again.
 */
class OrgSearchIndexes {
  private readonly indexes = new Map<string, NodeSearchIndex>();

  async refreshed(store: Store, org: string): Promise<NodeSearchIndex> {
    let index = this.indexes.get(org);
    if (index === undefined) this.indexes.set(org, (index = new NodeSearchIndex()));
    const nodes = await store.listNodes(org);
    const present = new Set<string>();
    for (const node of nodes) {
      present.add(node.name);
      index.upsert(node, JSON.stringify(node));
    }
    for (const name of index.names()) if (!present.has(name)) index.remove(name);
    return index;
  }
}

function count(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw badRequest(`invalid ${name} '${value}' (expected an integer from 0 to ${Number.MAX_SAFE_INTEGER})`);
  }
  return Number(value);
}

/** Registers the search routes. */
export function registerSearchRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const indexes = new OrgSearchIndexes();
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
          const index = await indexes.refreshed(deps.store, req.org!.name);
          return index.search(query, { start, rows });
        } catch (err) {
          if (err instanceof SearchQueryError) throw badRequest(`invalid search query: ${err.message}`);
          throw err;
        }
      },
    },
  });
}
