/**
 * Node lists: Chef search over the node index (every page), and a small concurrency limit for
 * per-node requests.
 *
 * @module
 */
import { isPushApiError, type ChefNode, type PushApiClient } from '@push-jobs/protocol';
import { usageError } from './errors.js';

/** Rows asked for per search page. */
export const SEARCH_PAGE_ROWS = 1000;

/** Requests in flight at once for per-node calls. */
export const NODE_CONCURRENCY = 8;

/**
 * The names of the nodes matching a Chef search query, sorted, every page read (knife-push read
 * only the first page).
 *
 * @throws CliError (exit 2) `search failed: <server message>` when the server rejects the query.
 */
export async function searchNodeNames(client: PushApiClient, query: string): Promise<string[]> {
  const names = new Set<string>();
  for (let start = 0; ;) {
    let page;
    try {
      page = await client.searchNodes(query, { start, rows: SEARCH_PAGE_ROWS });
    } catch (err) {
      if (isPushApiError(err) && err.status === 400) {
        throw usageError(
          `search failed: ${err.serverMessage ?? err.message}; check the query syntax (field:value)`,
        );
      }
      throw err;
    }
    const rows: ChefNode[] = Array.isArray(page.rows) ? page.rows : [];
    for (const row of rows) if (typeof row?.name === 'string') names.add(row.name);
    start += rows.length;
    if (rows.length === 0 || start >= (page.total ?? 0)) break;
  }
  return [...names].sort();
}

/** Maps `items` through `fn` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
