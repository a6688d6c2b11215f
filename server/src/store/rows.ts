/**
 * Row shapes and the mapping between database rows and store records, shared by both stores.
 * Values read back may be in either dialect's form (SQLite: integer milliseconds, 0/1, JSON
 * text; PostgreSQL: Date, boolean, parsed jsonb), and the readers here accept both.
 *
 * @module
 */
import {
  JOB_STATE_IDS,
  NODE_JOB_STATE_IDS,
  isJobState,
  isNodeJobState,
  jobStateFromId,
  nodeJobStateFromId,
  type JobState,
  type NodeJobState,
  type RolloutSize,
} from '@push-jobs/protocol/internal';
import {
  StoreConflictError,
  type ClientRecord,
  type GroupRecord,
  type JobNodeRecord,
  type JobOptions,
  type JobOutputChunk,
  type JobOutputRecord,
  type JobSummaryRecord,
  type KeyRecord,
  type NodeDocument,
  type OrgRecord,
  type UserRecord,
} from './types.js';

/** A timestamp as a driver returns it. */
export type DbTime = Date | number | string;
/** A boolean as a driver returns it. */
export type DbBool = boolean | number;

/** A timestamp read from either database, as a Date. */
export function toDate(value: DbTime): Date {
  return value instanceof Date ? new Date(value.getTime()) : new Date(value);
}

/** A nullable timestamp read from either database. */
export function toDateOrNull(value: DbTime | null): Date | null {
  return value == null ? null : toDate(value);
}

/** A boolean read from either database. */
export function toBool(value: DbBool): boolean {
  return value === true || value === 1;
}

/** The `job_status` id of a job status; throws on anything else. */
export function jobStatusId(status: JobState): number {
  if (!isJobState(status)) throw new TypeError(`invalid job status ${JSON.stringify(status)}`);
  return JOB_STATE_IDS[status];
}

/** The `job_nodes.status` id of a node-in-job status; throws on anything else. */
export function nodeStatusId(status: NodeJobState): number {
  if (!isNodeJobState(status)) throw new TypeError(`invalid node job status ${JSON.stringify(status)}`);
  return NODE_JOB_STATE_IDS[status];
}

function jobStatusFromDb(id: number): JobState {
  const status = jobStateFromId(Number(id));
  if (status === undefined) throw new Error(`unknown job status id ${id} in the database`);
  return status;
}

function nodeStatusFromDb(id: number): NodeJobState {
  const status = nodeJobStateFromId(Number(id));
  if (status === undefined) throw new Error(`unknown node job status id ${id} in the database`);
  return status;
}

/** True when `error` is a unique or primary-key violation of either database. */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false;
  const code = (error as { code: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Rethrows `error` as a {@link StoreConflictError} when it is a unique violation, else as is. */
export function rethrowConflict(error: unknown, entity: string, name: string): never {
  if (isUniqueViolation(error)) throw new StoreConflictError(entity, name);
  throw error;
}

/** Sorts names by code unit, the same in both databases. */
export function sortNames(names: Iterable<string>): string[] {
  return [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** An `orgs` row. */
export interface OrgRow {
  guid: string;
  name: string;
  full_name: string;
  created_at: DbTime;
}

/** An org record from its row. */
export function orgFromRow(row: OrgRow): OrgRecord {
  return { name: row.name, guid: row.guid, fullName: row.full_name, createdAt: toDate(row.created_at) };
}

/** A `users` row. */
export interface UserRow {
  id: number;
  name: string;
  display_name: string;
  email: string;
  created_at: DbTime;
}

/** A user record from its row. */
export function userFromRow(row: UserRow): UserRecord {
  return {
    name: row.name,
    displayName: row.display_name,
    email: row.email,
    createdAt: toDate(row.created_at),
  };
}

/** A `clients` row. */
export interface ClientRow {
  id: number;
  name: string;
  validator: DbBool;
  created_at: DbTime;
}

/** A client record from its row and its org's name. */
export function clientFromRow(orgName: string, row: ClientRow): ClientRecord {
  return { orgName, name: row.name, validator: toBool(row.validator), createdAt: toDate(row.created_at) };
}

/** A `principal_keys` row. */
export interface KeyRow {
  key_name: string;
  public_key: string;
  expires_at: DbTime | null;
  created_at: DbTime;
}

/** A key record from its row. */
export function keyFromRow(row: KeyRow): KeyRecord {
  return {
    name: row.key_name,
    publicKey: row.public_key,
    expiresAt: toDateOrNull(row.expires_at),
    createdAt: toDate(row.created_at),
  };
}

/** A group member as read: its kind and name. */
export interface GroupMemberRow {
  member_type: 'user' | 'client' | 'group';
  name: string;
}

/** A group record from its members' rows. */
export function groupFromRows(orgName: string, name: string, rows: GroupMemberRow[]): GroupRecord {
  const of = (type: GroupMemberRow['member_type']): string[] =>
    sortNames(rows.filter((row) => row.member_type === type).map((row) => row.name));
  return { orgName, name, users: of('user'), clients: of('client'), groups: of('group') };
}

/** A node document as stored (JSON text in SQLite, parsed jsonb in PostgreSQL). */
export function nodeFromColumn(document: string | NodeDocument): NodeDocument {
  return typeof document === 'string' ? (JSON.parse(document) as NodeDocument) : document;
}

/** The columns of a `job_options` row, or undefined when no option was given. */
export interface JobOptionColumns {
  job_user: string | null;
  dir: string | null;
  env: string | null;
  capture: boolean | null;
  job_file: string | null;
  max_concurrency: string | null;
  max_errors: string | null;
}

/** A rollout size as stored (`"3"` or `"10%"`, the text of what was given). */
function rolloutToColumn(size: RolloutSize | undefined): string | null {
  return size === undefined ? null : String(size);
}

/** A rollout size from its column: `"10%"` stays a string, a count is a number again. */
function rolloutFromColumn(text: string): RolloutSize {
  return text.endsWith('%') ? text : Number(text);
}

/**
 * The `job_options` columns of some options, or undefined when none was given (then no row is
 * written, as in the original). `capture: false` given explicitly is kept.
 */
export function optionsToColumns(options: JobOptions): JobOptionColumns | undefined {
  const columns: JobOptionColumns = {
    job_user: options.user ?? null,
    dir: options.dir ?? null,
    env: options.env === undefined ? null : JSON.stringify(options.env),
    capture: options.capture ?? null,
    job_file: options.file ?? null,
    max_concurrency: rolloutToColumn(options.maxConcurrency),
    max_errors: rolloutToColumn(options.maxErrors),
  };
  return Object.values(columns).every((value) => value === null) ? undefined : columns;
}

/** Options from the (left-joined, so possibly all-null) `job_options` columns. */
export function optionsFromColumns(row: {
  job_user: string | null;
  dir: string | null;
  env: string | null;
  capture: DbBool | null;
  job_file: string | null;
  max_concurrency: string | null;
  max_errors: string | null;
}): JobOptions {
  const options: JobOptions = {};
  if (row.job_user != null) options.user = row.job_user;
  if (row.dir != null) options.dir = row.dir;
  if (row.env != null) options.env = JSON.parse(row.env) as Record<string, string>;
  if (row.capture != null) options.capture = toBool(row.capture);
  if (row.job_file != null) options.file = row.job_file;
  if (row.max_concurrency != null) options.maxConcurrency = rolloutFromColumn(row.max_concurrency);
  if (row.max_errors != null) options.maxErrors = rolloutFromColumn(row.max_errors);
  return options;
}

/** A `jobs` row left-joined with its `job_options` row. */
export interface JobRow {
  id: string;
  command: string;
  status: number;
  run_timeout: number;
  quorum: number;
  created_by: string;
  last_updated_by: string;
  created_at: DbTime;
  updated_at: DbTime;
  job_user: string | null;
  dir: string | null;
  env: string | null;
  capture: DbBool | null;
  job_file: string | null;
  max_concurrency: string | null;
  max_errors: string | null;
  search: string | null;
}

/** A job summary from its row and its org's name. */
export function jobSummaryFromRow(orgName: string, row: JobRow): JobSummaryRecord {
  return {
    id: row.id,
    orgName,
    command: row.command,
    status: jobStatusFromDb(row.status),
    runTimeout: Number(row.run_timeout),
    quorum: Number(row.quorum),
    createdBy: row.created_by,
    lastUpdatedBy: row.last_updated_by,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    options: optionsFromColumns(row),
    ...(row.search == null ? {} : { search: row.search }),
  };
}

/** A `job_nodes` row. */
export interface JobNodeRow {
  node_name: string;
  status: number;
  created_at: DbTime;
  updated_at: DbTime;
  exit_status: number | null;
  signal: string | null;
  started_at: DbTime | null;
  ended_at: DbTime | null;
}

/** A job node record from its row. */
export function jobNodeFromRow(row: JobNodeRow): JobNodeRecord {
  const record: JobNodeRecord = {
    name: row.node_name,
    status: nodeStatusFromDb(row.status),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
  if (row.exit_status != null || row.signal != null || row.started_at != null || row.ended_at != null) {
    record.result = {
      exitStatus: row.exit_status == null ? null : Number(row.exit_status),
      signal: row.signal,
      startedAt: toDateOrNull(row.started_at),
      endedAt: toDateOrNull(row.ended_at),
    };
  }
  return record;
}

/** A `job_output` row. */
export interface JobOutputRow {
  /** Bytes; a SQLite row written before schema version 2 holds text. */
  stdout: Buffer | string;
  stderr: Buffer | string;
  stdout_truncated: DbBool;
  stderr_truncated: DbBool;
}

function toBytes(value: Buffer | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

/** An output record from its row. */
export function outputFromRow(row: JobOutputRow): JobOutputRecord {
  return {
    stdout: toBytes(row.stdout),
    stderr: toBytes(row.stderr),
    stdoutTruncated: toBool(row.stdout_truncated),
    stderrTruncated: toBool(row.stderr_truncated),
  };
}

/** A `job_output_chunks` row. */
export interface JobOutputChunkRow {
  node_name: string;
  seq: number | string;
  /** 1 stdout, 2 stderr. */
  channel: number | string;
  data: Buffer | string;
  truncated: DbBool;
}

/** The stored code of an output channel. */
export function channelId(channel: 'stdout' | 'stderr'): number {
  return channel === 'stdout' ? 1 : 2;
}

/** A chunk from its row. */
export function chunkFromRow(row: JobOutputChunkRow): JobOutputChunk {
  return {
    node: row.node_name,
    seq: Number(row.seq),
    channel: Number(row.channel) === 1 ? 'stdout' : 'stderr',
    data: toBytes(row.data),
    truncated: toBool(row.truncated),
  };
}

/** The chunks joined per channel; a truncated stream marks both channels (nothing more came). */
export function joinChunks(chunks: readonly JobOutputChunk[]): JobOutputRecord | undefined {
  if (chunks.length === 0) return undefined;
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let truncated = false;
  for (const chunk of chunks) {
    (chunk.channel === 'stdout' ? stdout : stderr).push(chunk.data);
    truncated ||= chunk.truncated;
  }
  return {
    stdout: Buffer.concat(stdout),
    stderr: Buffer.concat(stderr),
    stdoutTruncated: truncated,
    stderrTruncated: truncated,
  };
}
