/**
 * Whose a job is, as the jobs table says: its org, the instance that owns it (runs its state
 * machine) and its status. Read by an instance that hears of a job it does not run.
 *
 * @module
 */
import type { ClusterDb } from './db.js';

/** A job's org, owner and status. */
export interface JobOwnership {
  org: string;
  /** The owning instance's id; null for a job no server ever ran. */
  owner: string | null;
  status: string;
}

/** Reads a job's org, owner and status; undefined when there is no such job. */
export async function jobOwnership(
  db: Pick<ClusterDb, 'query'>,
  id: string,
): Promise<JobOwnership | undefined> {
  const rows = await db.query<JobOwnership>(
    `SELECT o.name AS org, j.owner, s.description AS status FROM jobs j
       JOIN orgs o ON o.guid = j.org_id JOIN job_status s ON s.id = j.status
      WHERE j.id = $1`,
    [id],
  );
  return rows[0];
}
