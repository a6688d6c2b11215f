/**
 * The store contract: everything the server persists, behind one interface with two
 * implementations (SQLite, the embedded default, and PostgreSQL) that pass the same contract
 * tests. Every method is async so the two are interchangeable; writes that belong together run
 * in one transaction, so a failed call leaves nothing half-written.
 *
 * Names follow the original push-jobs tables (jobs, job_nodes, job_options, job_output) plus
 * the identity the Chef server used to provide (orgs, users, clients, keys, groups, nodes).
 *
 * @module
 */
import {
  ERROR_CODES,
  PushJobsError,
  type JobState,
  type NodeDocument,
  type NodeJobState,
  type RolloutSize,
} from '@push-jobs/protocol/internal';

/** An organization. `guid` is 32 lowercase hex characters; job ids start with its last 12. */
export interface OrgRecord {
  name: string;
  guid: string;
  fullName: string;
  createdAt: Date;
}

/** A user: global, like Chef's, and associated with orgs through membership. */
export interface UserRecord {
  name: string;
  displayName: string;
  email: string;
  createdAt: Date;
}

/** An API client of one org (a node's client, or a validator that may create clients). */
export interface ClientRecord {
  orgName: string;
  name: string;
  validator: boolean;
  createdAt: Date;
}

/** Who a key belongs to: a user (global) or a client of an org. */
export type PrincipalRef = { type: 'user'; name: string } | { type: 'client'; org: string; name: string };

/** A named public key of a principal (Chef allows several; `default` is the usual name). */
export interface KeyRecord {
  name: string;
  /** PEM, SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`). */
  publicKey: string;
  /** Keys past their expiry are not used to authenticate. */
  expiresAt: Date | null;
  createdAt: Date;
}

/**
 * What request authentication needs about a requestor of an org, in one read: the principals
 * with that name (a user and a client may share a name; the client is listed first), whether
 * each belongs to the org, and their unexpired public keys.
 */
export interface PrincipalRecord {
  type: 'user' | 'client';
  name: string;
  orgMember: boolean;
  validator: boolean;
  publicKeys: string[];
}

/** A group of an org. Members are names; nested groups are resolved by the caller. */
export interface GroupRecord {
  orgName: string;
  name: string;
  users: string[];
  clients: string[];
  groups: string[];
}

/** The member kinds of a group. */
export type GroupMemberType = 'user' | 'client' | 'group';

/** A Chef node object as stored (the protocol's shape). */
export type { NodeDocument };

/**
 * A change of one node of an org (schema version 4): written at `revision` (with its `node`
 * document), or deleted at `revision` (no `node`).
 */
export interface NodeChange {
  name: string;
  revision: number;
  node?: NodeDocument;
}

/** The optional parts of a job (the `job_options` row). Absent fields were not given. */
export interface JobOptions {
  user?: string;
  dir?: string;
  env?: Record<string, string>;
  capture?: boolean;
  /** The file with its `raw:` or `base64:` prefix. */
  file?: string;
  /** A rollout: at most this many nodes run at once (a count or `"N%"`, as given). */
  maxConcurrency?: RolloutSize;
  /** A rollout's error budget (a count or `"N%"`, as given). */
  maxErrors?: RolloutSize;
}

/** A job to insert, with its nodes (all `new`) and options, in one transaction. */
export interface NewJob {
  id: string;
  orgName: string;
  command: string;
  status: JobState;
  runTimeout: number;
  quorum: number;
  /** Who created it (the requestor). The original did not keep this; we do. */
  createdBy: string;
  createdAt: Date;
  nodes: string[];
  options: JobOptions;
  /** The search query the nodes were chosen by, when the job had one. */
  search?: string;
  /**
   * The id of the server that runs the job: only it marks the job `crashed` at its restart
   * ({@link Store.crashIncompleteJobs}). Undefined: no owner yet (the first status change sets it).
   */
  owner?: string;
}

/**
 * How the command ended on one node, as the node reported it with `succeeded`/`failed` (ours;
 * the original client reports none of it: all null).
 */
export interface NodeRunResult {
  exitStatus: number | null;
  signal: string | null;
  /** On the node's clock. */
  startedAt: Date | null;
  endedAt: Date | null;
}

/** One node of a job. */
export interface JobNodeRecord {
  name: string;
  status: NodeJobState;
  createdAt: Date;
  updatedAt: Date;
  /** Set once the node reported a result with any of its fields. */
  result?: NodeRunResult;
}

/** A job as listed (no nodes). */
export interface JobSummaryRecord {
  id: string;
  orgName: string;
  command: string;
  status: JobState;
  runTimeout: number;
  quorum: number;
  createdBy: string;
  lastUpdatedBy: string;
  createdAt: Date;
  updatedAt: Date;
  options: JobOptions;
  /** The search query the nodes were chosen by, when the job had one. */
  search?: string;
}

/** A job with its nodes. */
export interface JobRecord extends JobSummaryRecord {
  nodes: JobNodeRecord[];
}

/** Filter and page of {@link Store.listJobs}. Without `limit`, every job (the original shape). */
export interface JobListQuery {
  status?: JobState;
  /** Newest first when set; the original returned no particular order. */
  limit?: number;
  offset?: number;
}

/** Captured output of one node of a job. */
export interface JobOutputRecord {
  /** What the node printed, as bytes (any bytes, NUL included). */
  stdout: Buffer;
  stderr: Buffer;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

/** One chunk of a node's live output (see {@link Store.appendJobOutputChunks}). */
export interface JobOutputChunk {
  node: string;
  /** The agent's chunk number for this job, from 0, both channels together. */
  seq: number;
  channel: 'stdout' | 'stderr';
  /** The chunk's text as UTF-8 bytes. */
  data: Buffer;
  /** The node reached the job's output cap with this chunk: nothing more was streamed. */
  truncated: boolean;
}

/** Thrown by a store when a create would duplicate a unique name; carries what clashed. */
export class StoreConflictError extends PushJobsError {
  readonly entity: string;
  constructor(entity: string, name: string) {
    super(ERROR_CODES.CONFLICT, `${entity} '${name}' already exists`);
    this.name = 'StoreConflictError';
    this.entity = entity;
  }
}

/** Thrown by a store when an update names something that does not exist. */
export class StoreNotFoundError extends PushJobsError {
  readonly entity: string;
  constructor(entity: string, name: string) {
    super(ERROR_CODES.NOT_FOUND, `${entity} '${name}' does not exist`);
    this.name = 'StoreNotFoundError';
    this.entity = entity;
  }
}

/**
 * The persistence interface. Names are case-sensitive. Methods that read one thing resolve to
 * `undefined` when it does not exist; deletes resolve to whether something was deleted.
 * Deleting an org deletes everything in it (clients, groups, nodes, jobs, memberships).
 */
export interface Store {
  /** `sqlite` or `postgres`, for logs and `_status`. */
  readonly kind: 'sqlite' | 'postgres';

  /** Applies pending versioned migrations; safe to call on every start. Returns the schema version. */
  migrate(): Promise<number>;
  /** Releases the connection(s). */
  close(): Promise<void>;

  // Orgs
  createOrg(org: { name: string; guid: string; fullName: string }): Promise<OrgRecord>;
  getOrg(name: string): Promise<OrgRecord | undefined>;
  listOrgs(): Promise<OrgRecord[]>;
  deleteOrg(name: string): Promise<boolean>;

  // Users and membership
  createUser(user: { name: string; displayName: string; email: string }): Promise<UserRecord>;
  getUser(name: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  /** Also removes the user's keys, memberships and group entries. */
  deleteUser(name: string): Promise<boolean>;
  addOrgMember(org: string, user: string): Promise<void>;
  removeOrgMember(org: string, user: string): Promise<boolean>;
  listOrgMembers(org: string): Promise<string[]>;

  // Clients
  createClient(client: { orgName: string; name: string; validator: boolean }): Promise<ClientRecord>;
  getClient(org: string, name: string): Promise<ClientRecord | undefined>;
  listClients(org: string): Promise<ClientRecord[]>;
  /** Also removes the client's keys and group entries. */
  deleteClient(org: string, name: string): Promise<boolean>;

  // Keys
  addKey(
    principal: PrincipalRef,
    key: { name: string; publicKey: string; expiresAt: Date | null },
  ): Promise<KeyRecord>;
  listKeys(principal: PrincipalRef): Promise<KeyRecord[]>;
  deleteKey(principal: PrincipalRef, name: string): Promise<boolean>;

  /** Principals named `name` as seen from `org` (see {@link PrincipalRecord}); `now` filters expired keys. */
  findPrincipals(org: string, name: string, now: Date): Promise<PrincipalRecord[]>;

  // Groups
  createGroup(org: string, name: string): Promise<GroupRecord>;
  getGroup(org: string, name: string): Promise<GroupRecord | undefined>;
  listGroups(org: string): Promise<string[]>;
  deleteGroup(org: string, name: string): Promise<boolean>;
  /** Replaces the members in one transaction. */
  setGroupMembers(
    org: string,
    name: string,
    members: { users: string[]; clients: string[]; groups: string[] },
  ): Promise<GroupRecord>;
  addGroupMember(org: string, group: string, type: GroupMemberType, member: string): Promise<boolean>;
  removeGroupMember(org: string, group: string, type: GroupMemberType, member: string): Promise<boolean>;

  // Nodes
  createNode(org: string, node: NodeDocument): Promise<NodeDocument>;
  /** Creates or replaces. */
  putNode(org: string, node: NodeDocument): Promise<NodeDocument>;
  getNode(org: string, name: string): Promise<NodeDocument | undefined>;
  listNodeNames(org: string): Promise<string[]>;
  /** Every node document of the org, for search. */
  listNodes(org: string): Promise<NodeDocument[]>;
  deleteNode(org: string, name: string): Promise<boolean>;
  /**
   * The changes of the nodes of the org whose guid is `orgGuid` after revision `since` (0: every
   * node), oldest first, at most `limit` (see {@link NodeChange}). Every writer of the database
   * moves the revisions (triggers), so a reader current to revision R that reads until a page
   * comes back short is current.
   */
  nodeChanges(orgGuid: string, since: number, limit: number): Promise<NodeChange[]>;

  // Jobs
  /** Inserts the job, its nodes and its options in one transaction. */
  createJob(job: NewJob): Promise<JobRecord>;
  /** A job of this org, or undefined (a job of another org is not found). */
  getJob(org: string, id: string): Promise<JobRecord | undefined>;
  listJobs(org: string, query?: JobListQuery): Promise<JobSummaryRecord[]>;
  countJobs(org: string, query?: Pick<JobListQuery, 'status'>): Promise<number>;
  /**
   * Sets a job's status, `updated_at` and `last_updated_by`, and makes `owner` (when given) its
   * owner. A final status is final: false, and nothing changes, when the job does not exist or
   * already has a final status.
   */
  updateJobStatus(
    org: string,
    id: string,
    status: JobState,
    at: Date,
    by: string,
    owner?: string,
  ): Promise<boolean>;
  /**
   * Sets the status of some nodes of a job in one transaction; returns how many rows changed. A
   * node already in a final state keeps it.
   */
  updateJobNodes(org: string, id: string, nodes: string[], status: NodeJobState, at: Date): Promise<number>;
  /**
   * Stores how the command ended on some nodes of a job (one transaction); returns how many
   * rows changed. A result already stored is replaced.
   */
  updateJobNodeResults(org: string, id: string, results: ReadonlyMap<string, NodeRunResult>): Promise<number>;
  /** Stores a node's output once; a second call for the same (job, node) resolves false and changes nothing. */
  putJobOutput(org: string, id: string, node: string, output: JobOutputRecord): Promise<boolean>;
  getJobOutput(org: string, id: string, node: string): Promise<JobOutputRecord | undefined>;
  /**
   * Appends chunks of live output of a job (any nodes) in one transaction; a chunk whose (job,
   * node, seq) is stored already is skipped. Resolves how many were stored.
   * @throws StoreNotFoundError when the job is not in this org
   */
  appendJobOutputChunks(org: string, id: string, chunks: readonly JobOutputChunk[]): Promise<number>;
  /**
   * A node's stored chunks of a job of this org with `seq` above `afterSeq` (-1: all), in `seq`
   * order, at most `limit`.
   */
  getJobOutputChunks(
    org: string,
    id: string,
    node: string,
    afterSeq: number,
    limit: number,
  ): Promise<JobOutputChunk[]>;
  /**
   * A node's streamed output so far: its chunks of each channel joined in `seq` order, each
   * channel truncated when the node reached the cap; undefined when no chunk is stored.
   */
  getStreamedOutput(org: string, id: string, node: string): Promise<JobOutputRecord | undefined>;
  /**
   * At server start: every job of `owner` (or of no owner) in `new`, `voting` or `running` becomes
   * `crashed` (with `by` as `last_updated_by`), and their nodes still `new`, `ready` or `running`
   * become `crashed`, in one transaction. Jobs other servers own are left alone. Returns the ids
   * of the jobs changed.
   */
  crashIncompleteJobs(at: Date, by: string, owner: string, includeUnowned?: boolean): Promise<string[]>;
}
