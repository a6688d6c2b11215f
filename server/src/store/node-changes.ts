/**
 * Store programs for node revisions (schema version 4): what changed among an org's nodes since
 * a revision, for a search index that refreshes incrementally.
 *
 * @module
 */
import { all, type Program } from './program.js';
import { nodeFromColumn } from './rows.js';
import type { NodeChange, NodeDocument } from './types.js';

interface ChangeRow {
  name: string;
  /** A PostgreSQL `bigint` arrives as a string. */
  revision: number | string;
  /** Null for a deleted node. */
  document: string | NodeDocument | null;
}

/**
 * The changes of an org's nodes after revision `since`, oldest first, at most `limit`: the
 * nodes written since (with their document) and the nodes deleted since (without). One
 * statement, so one snapshot: a page never mixes two states of the database. Revisions are
 * unique within an org, so the next page starts after the last revision of this one.
 */
export function* nodeChanges(orgGuid: string, since: number, limit: number): Program<NodeChange[]> {
  const rows = yield* all<ChangeRow>(
    `SELECT name, revision, document FROM nodes WHERE org_id = ? AND revision > ?
     UNION ALL
     SELECT name, revision, NULL FROM node_tombstones WHERE org_id = ? AND revision > ?
     ORDER BY revision LIMIT ?`,
    orgGuid,
    since,
    orgGuid,
    since,
    limit,
  );
  return rows.map((row) => {
    const revision = Number(row.revision);
    return row.document === null
      ? { name: row.name, revision }
      : { name: row.name, revision, node: nodeFromColumn(row.document) };
  });
}
