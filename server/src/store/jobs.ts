/**
 * Store programs for jobs: job, job nodes, job options and job output. Dialect-neutral SQL (see
 * {@link Program}); each store runs them with its own driver.
 *
 * @module
 */
import type { JobState, NodeJobState } from '@push-jobs/protocol/internal';
import { requireOrg, findOrg } from './identity.js';
import { all, get, run, type Program, type SqlParam } from './program.js';
import {
  channelId,
  chunkFromRow,
  jobNodeFromRow,
  joinChunks,
  jobStatusId,
  jobSummaryFromRow,
  nodeStatusId,
  optionsFromColumns,
  optionsToColumns,
  outputFromRow,
  rethrowConflict,
  sortNames,
  type JobNodeRow,
  type JobOutputChunkRow,
  type JobOutputRow,
  type JobRow,
} from './rows.js';
import {
  StoreNotFoundError,
  type JobListQuery,
  type JobOutputChunk,
  type JobOutputRecord,
  type JobRecord,
  type JobSummaryRecord,
  type NewJob,
  type NodeRunResult,
} from './types.js';

/**
 * Rows per multi-row statement. Bounds both the statement size and the number of distinct
 * statements a store caches (one per batch length).
 */
const BATCH = 50;

/** Splits `items` into batches of at most {@link BATCH}. */
function batches<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(items.slice(i, i + BATCH));
  return out;
}

/** `(?, ?, ...)` with `n` placeholders. */
function placeholders(n: number): string {
  return `(${Array.from({ length: n }, () => '?').join(', ')})`;
}

const JOB_SELECT = `SELECT j.id, j.command, j.status, j.run_timeout, j.quorum, j.created_by, j.last_updated_by,
       j.created_at, j.updated_at, j.search, op.job_user, op.dir, op.env, op.capture, op.job_file,
       op.max_concurrency, op.max_errors
  FROM jobs j LEFT JOIN job_options op ON op.job_id = j.id`;

/** Inserts a job, its nodes (all `new`) and its options; run in one transaction. */
export function* createJob(job: NewJob): Program<JobRecord> {
  const status = jobStatusId(job.status);
  const nodeStatus = nodeStatusId('new');
  const org = yield* requireOrg(job.orgName);
  try {
    yield* run(
      `INSERT INTO jobs (id, org_id, command, status, run_timeout, quorum, last_updated_by, created_by, created_at, updated_at, owner, search)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      job.id,
      org.guid,
      job.command,
      status,
      job.runTimeout,
      job.quorum,
      job.createdBy,
      job.createdBy,
      job.createdAt,
      job.createdAt,
      job.owner ?? null,
      job.search ?? null,
    );
  } catch (error) {
    rethrowConflict(error, 'job', job.id);
  }
  for (const batch of batches(job.nodes)) {
    const params: SqlParam[] = batch.flatMap((node) => [
      job.id,
      org.guid,
      node,
      nodeStatus,
      job.createdAt,
      job.createdAt,
    ]);
    try {
      yield* run(
        `INSERT INTO job_nodes (job_id, org_id, node_name, status, created_at, updated_at) VALUES ${batch
          .map(() => placeholders(6))
          .join(', ')}`,
        ...params,
      );
    } catch (error) {
      const duplicate = job.nodes.find((node, i) => job.nodes.indexOf(node) !== i);
      rethrowConflict(error, 'job node', duplicate ?? job.id);
    }
  }
  const options = optionsToColumns(job.options);
  if (options !== undefined) {
    yield* run(
      `INSERT INTO job_options (job_id, job_user, dir, env, capture, job_file, max_concurrency, max_errors)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      job.id,
      options.job_user,
      options.dir,
      options.env,
      options.capture,
      options.job_file,
      options.max_concurrency,
      options.max_errors,
    );
  }
  const at = job.createdAt.getTime();
  return {
    id: job.id,
    orgName: org.name,
    command: job.command,
    status: job.status,
    runTimeout: job.runTimeout,
    quorum: job.quorum,
    createdBy: job.createdBy,
    lastUpdatedBy: job.createdBy,
    createdAt: new Date(at),
    updatedAt: new Date(at),
    options: options === undefined ? {} : optionsFromColumns(options),
    ...(job.search === undefined ? {} : { search: job.search }),
    nodes: sortNames(job.nodes).map((name) => ({
      name,
      status: 'new',
      createdAt: new Date(at),
      updatedAt: new Date(at),
    })),
  };
}

/** A job of this org with its nodes, or undefined. */
export function* getJob(org: string, id: string): Program<JobRecord | undefined> {
  const orgRow = yield* findOrg(org);
  if (orgRow === undefined) return undefined;
  const row = yield* get<JobRow>(`${JOB_SELECT} WHERE j.id = ? AND j.org_id = ?`, id, orgRow.guid);
  if (row === undefined) return undefined;
  const nodes = yield* all<JobNodeRow>(
    `SELECT node_name, status, created_at, updated_at, exit_status, signal, started_at, ended_at
       FROM job_nodes WHERE job_id = ? ORDER BY node_name`,
    id,
  );
  return { ...jobSummaryFromRow(org, row), nodes: nodes.map(jobNodeFromRow) };
}

/**
 * An org's jobs: all of them oldest first without `limit`/`offset`, else a page newest first;
 * optionally of one status.
 */
export function* listJobs(org: string, query: JobListQuery = {}): Program<JobSummaryRecord[]> {
  const orgRow = yield* requireOrg(org);
  const params: SqlParam[] = [orgRow.guid];
  let sql = `${JOB_SELECT} WHERE j.org_id = ?`;
  if (query.status !== undefined) {
    sql += ' AND j.status = ?';
    params.push(jobStatusId(query.status));
  }
  if (query.limit === undefined && query.offset === undefined) {
    sql += ' ORDER BY j.created_at, j.id';
  } else {
    sql += ' ORDER BY j.created_at DESC, j.id DESC LIMIT ? OFFSET ?';
    params.push(query.limit ?? Number.MAX_SAFE_INTEGER, query.offset ?? 0);
  }
  const rows = yield* all<JobRow>(sql, ...params);
  return rows.map((row) => jobSummaryFromRow(org, row));
}

/** How many jobs an org has, optionally of one status. */
export function* countJobs(org: string, query: Pick<JobListQuery, 'status'> = {}): Program<number> {
  const orgRow = yield* requireOrg(org);
  const row =
    query.status === undefined
      ? yield* get<{ n: number }>(
          'SELECT CAST(count(*) AS INTEGER) AS n FROM jobs WHERE org_id = ?',
          orgRow.guid,
        )
      : yield* get<{ n: number }>(
          'SELECT CAST(count(*) AS INTEGER) AS n FROM jobs WHERE org_id = ? AND status = ?',
          orgRow.guid,
          jobStatusId(query.status),
        );
  return Number(row?.n ?? 0);
}

/** The job states that may still change, as stored. */
const UNFINISHED_JOB = (['new', 'voting', 'running'] as const).map(jobStatusId);
/** The node-in-job states that may still change, as stored. */
const UNFINISHED_NODE = (['new', 'ready', 'running'] as const).map(nodeStatusId);

/**
 * Sets a job's status, `updated_at`, `last_updated_by` and (when given) its owner, unless the
 * job is already final: a final status never changes.
 */
export function* updateJobStatus(
  org: string,
  id: string,
  status: JobState,
  at: Date,
  by: string,
  owner?: string,
): Program<boolean> {
  const statusId = jobStatusId(status);
  const orgRow = yield* requireOrg(org);
  const changed = yield* run(
    `UPDATE jobs SET status = ?, updated_at = ?, last_updated_by = ?, owner = COALESCE(?, owner)
      WHERE id = ? AND org_id = ? AND status IN (?, ?, ?)`,
    statusId,
    at,
    by,
    owner ?? null,
    id,
    orgRow.guid,
    ...UNFINISHED_JOB,
  );
  return changed > 0;
}

/** Sets the status of some nodes of a job; run in one transaction. */
export function* updateJobNodes(
  org: string,
  id: string,
  nodes: string[],
  status: NodeJobState,
  at: Date,
): Program<number> {
  const statusId = nodeStatusId(status);
  const orgRow = yield* requireOrg(org);
  // The org check is made once on the job: with `org_id = ?` in the UPDATE itself, SQLite's
  // planner chose the org index and scanned every job_nodes row of the org for each batch (the
  // whole job history: each job on 5,000 nodes made the next one slower).
  const job = yield* get<{ id: string }>('SELECT id FROM jobs WHERE id = ? AND org_id = ?', id, orgRow.guid);
  if (job === undefined) return 0;
  let changed = 0;
  for (const batch of batches(sortNames(nodes))) {
    changed += yield* run(
      `UPDATE job_nodes SET status = ?, updated_at = ?
        WHERE job_id = ? AND status IN (?, ?, ?) AND node_name IN ${placeholders(batch.length)}`,
      statusId,
      at,
      id,
      ...UNFINISHED_NODE,
      ...batch,
    );
  }
  return changed;
}

/** Stores how the command ended on some nodes of a job; run in one transaction. */
export function* updateJobNodeResults(
  org: string,
  id: string,
  results: ReadonlyMap<string, NodeRunResult>,
): Program<number> {
  const orgRow = yield* requireOrg(org);
  const job = yield* get<{ id: string }>('SELECT id FROM jobs WHERE id = ? AND org_id = ?', id, orgRow.guid);
  if (job === undefined) return 0;
  let changed = 0;
  // One statement per batch of nodes, the same in both dialects: the values come as a VALUES
  // list (columns column1..column5 in both), cast to the column types (in SQLite a cast to
  // timestamptz keeps the millisecond integer the driver sends for a Date).
  for (const batch of batches(sortNames(results.keys()))) {
    const params: SqlParam[] = [];
    for (const node of batch) {
      const r = results.get(node)!;
      params.push(node, r.exitStatus, r.signal, r.startedAt, r.endedAt);
    }
    changed += yield* run(
      `UPDATE job_nodes SET exit_status = CAST(v.column2 AS integer), signal = CAST(v.column3 AS text),
              started_at = CAST(v.column4 AS timestamptz), ended_at = CAST(v.column5 AS timestamptz)
         FROM (VALUES ${batch.map(() => placeholders(5)).join(', ')}) AS v
        WHERE job_nodes.job_id = ? AND job_nodes.node_name = v.column1`,
      ...params,
      id,
    );
  }
  return changed;
}

/** Stores a node's output once; false (and no change) when it is already stored. */
export function* putJobOutput(
  org: string,
  id: string,
  node: string,
  output: JobOutputRecord,
): Program<boolean> {
  const orgRow = yield* requireOrg(org);
  const job = yield* get<{ id: string }>('SELECT id FROM jobs WHERE id = ? AND org_id = ?', id, orgRow.guid);
  if (job === undefined) throw new StoreNotFoundError('job', id);
  const changed = yield* run(
    `INSERT INTO job_output (job_id, node_name, stdout, stderr, stdout_truncated, stderr_truncated)
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (job_id, node_name) DO NOTHING`,
    id,
    node,
    output.stdout,
    output.stderr,
    output.stdoutTruncated,
    output.stderrTruncated,
  );
  return changed > 0;
}

/** A node's stored output for a job of this org, or undefined. */
export function* getJobOutput(org: string, id: string, node: string): Program<JobOutputRecord | undefined> {
  const row = yield* get<JobOutputRow>(
    `SELECT jo.stdout, jo.stderr, jo.stdout_truncated, jo.stderr_truncated
       FROM job_output jo JOIN jobs j ON j.id = jo.job_id JOIN orgs o ON o.guid = j.org_id
      WHERE o.name = ? AND jo.job_id = ? AND jo.node_name = ?`,
    org,
    id,
    node,
  );
  return row && outputFromRow(row);
}

/** Appends chunks of live output (skipping any stored already); run in one transaction. */
export function* appendJobOutputChunks(
  org: string,
  id: string,
  chunks: readonly JobOutputChunk[],
): Program<number> {
  const orgRow = yield* requireOrg(org);
  const job = yield* get<{ id: string }>('SELECT id FROM jobs WHERE id = ? AND org_id = ?', id, orgRow.guid);
  if (job === undefined) throw new StoreNotFoundError('job', id);
  let stored = 0;
  for (const batch of batches(chunks)) {
    const params: SqlParam[] = batch.flatMap((c) => [
      id,
      c.node,
      c.seq,
      channelId(c.channel),
      c.data,
      c.truncated,
    ]);
    stored += yield* run(
      `INSERT INTO job_output_chunks (job_id, node_name, seq, channel, data, truncated)
       VALUES ${batch.map(() => placeholders(6)).join(', ')}
       ON CONFLICT (job_id, node_name, seq) DO NOTHING`,
      ...params,
    );
  }
  return stored;
}

const CHUNK_SELECT = `SELECT c.node_name, c.seq, c.channel, c.data, c.truncated
  FROM job_output_chunks c JOIN jobs j ON j.id = c.job_id JOIN orgs o ON o.guid = j.org_id
 WHERE o.name = ? AND c.job_id = ? AND c.node_name = ?`;

/** A node's chunks of a job after `afterSeq`, in `seq` order, at most `limit`. */
export function* getJobOutputChunks(
  org: string,
  id: string,
  node: string,
  afterSeq: number,
  limit: number,
): Program<JobOutputChunk[]> {
  const rows = yield* all<JobOutputChunkRow>(
    `${CHUNK_SELECT} AND c.seq > ? ORDER BY c.seq LIMIT ?`,
    org,
    id,
    node,
    afterSeq,
    limit,
  );
  return rows.map(chunkFromRow);
}

/** A node's streamed output so far, each channel joined in `seq` order; undefined without chunks. */
export function* getStreamedOutput(
  org: string,
  id: string,
  node: string,
): Program<JobOutputRecord | undefined> {
  const rows = yield* all<JobOutputChunkRow>(`${CHUNK_SELECT} ORDER BY c.seq`, org, id, node);
  return joinChunks(rows.map(chunkFromRow));
}

/**
 * Marks every incomplete job of `owner` (and, unless `includeUnowned` is false, of no owner) and
 * its unfinished nodes `crashed`; run in one transaction. Other servers' jobs are theirs to finish.
 */
export function* crashIncompleteJobs(
  at: Date,
  by: string,
  owner: string,
  includeUnowned = true,
): Program<string[]> {
  const mine = `${includeUnowned ? '(owner = ? OR owner IS NULL)' : 'owner = ?'} AND status IN (?, ?, ?)`;
  yield* run(
    `UPDATE job_nodes SET status = ?, updated_at = ?
      WHERE status IN (?, ?, ?) AND job_id IN (SELECT id FROM jobs WHERE ${mine})`,
    nodeStatusId('crashed'),
    at,
    ...UNFINISHED_NODE,
    owner,
    ...UNFINISHED_JOB,
  );
  const rows = yield* all<{ id: string }>(
    `UPDATE jobs SET status = ?, updated_at = ?, last_updated_by = ? WHERE ${mine} RETURNING id`,
    jobStatusId('crashed'),
    at,
    by,
    owner,
    ...UNFINISHED_JOB,
  );
  return sortNames(rows.map((row) => row.id));
}
