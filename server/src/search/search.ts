/**
 * Searching a list of nodes: match, sort by name, page.
 *
 * @module
 */
import type { NodeDocument } from '../store/types.js';
import { flattenNode } from './flatten.js';
import { compileQuery } from './match.js';

/** Paging of a search, as the `start` and `rows` query parameters. */
export interface SearchOptions {
  /** Index of the first result to return. @default 0 */
  start?: number;
  /** Most results to return. @default 1000 */
  rows?: number;
}

/** A page of results in Chef's shape: `total` counts every match, `rows` is the page. */
export interface SearchResult<T = NodeDocument> {
  total: number;
  start: number;
  rows: T[];
}

/** Rows per page when the caller gives none (Chef's default). */
export const DEFAULT_ROWS = 1000;

/**
 * Validated paging: non-negative integers, defaults filled in.
 *
 * @throws {RangeError} when `start` or `rows` is negative or not an integer.
 */
export function resolvePaging(opts: SearchOptions = {}): { start: number; rows: number } {
  const start = opts.start ?? 0;
  const rows = opts.rows ?? DEFAULT_ROWS;
  for (const [name, v] of [
    ['start', start],
    ['rows', rows],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
  }
  return { start, rows };
}

/** Code-unit order of node names (stable, locale-independent). */
export const byName = (a: { name: string }, b: { name: string }): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/**
 * Search nodes with a Chef query. Results are sorted by name, then paged.
 * For repeated searches over the same nodes, keep a {@link NodeSearchIndex} instead, which
 * flattens each node once.
 *
 * @throws {SearchQueryError} when the query does not parse.
 * @throws {RangeError} for a bad `start` or `rows`.
 */
export function searchNodes(nodes: NodeDocument[], q: string, opts?: SearchOptions): SearchResult {
  const { start, rows } = resolvePaging(opts);
  const matches = compileQuery(q);
  const hits = nodes.filter((n) => matches(flattenNode(n))).sort(byName);
  return { total: hits.length, start, rows: hits.slice(start, start + rows) };
}
