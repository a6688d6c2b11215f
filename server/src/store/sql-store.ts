/**
 * The store logic shared by both implementations: every {@link Store} method as a program
 * (from `identity.ts` and `jobs.ts`), run by the subclass's driver, in a transaction for
 * writes.
 *
 * @module
 */
import type { JobState, NodeJobState } from '@push-jobs/protocol/internal';
import * as identity from './identity.js';
import * as jobs from './jobs.js';
import { nodeChanges } from './node-changes.js';
import type { Program } from './program.js';
import type {
  ClientRecord,
  GroupMemberType,
  GroupRecord,
  JobListQuery,
  JobOutputChunk,
  JobOutputRecord,
  NodeRunResult,
  JobRecord,
  JobSummaryRecord,
  KeyRecord,
  NewJob,
  NodeChange,
  NodeDocument,
  OrgRecord,
  PrincipalRecord,
  PrincipalRef,
  Store,
  UserRecord,
} from './types.js';

/** A {@link Store} over SQL: subclasses supply the driver, migrations and connection handling. */
export abstract class SqlStore implements Store {
  /** `sqlite` or `postgres`. */
  abstract readonly kind: 'sqlite' | 'postgres';
  /** Applies pending migrations; returns the schema version. */
  abstract migrate(): Promise<number>;
  /** Releases the connection(s). */
  abstract close(): Promise<void>;

  /** Runs a read-only program (no transaction needed). */
  protected abstract read<T>(program: Program<T>): Promise<T>;
  /** Runs a program in one transaction: all of its writes happen, or none. */
  protected abstract write<T>(program: Program<T>): Promise<T>;

  /** The time recorded as `created_at` of identity rows. */
  protected now(): Date {
    return new Date();
  }

  // Orgs

  createOrg(org: { name: string; guid: string; fullName: string }): Promise<OrgRecord> {
    return this.write(identity.createOrg(org, this.now()));
  }
  getOrg(name: string): Promise<OrgRecord | undefined> {
    return this.read(identity.getOrg(name));
  }
  listOrgs(): Promise<OrgRecord[]> {
    return this.read(identity.listOrgs());
  }
  deleteOrg(name: string): Promise<boolean> {
    return this.write(identity.deleteOrg(name));
  }

  // Users and membership

  createUser(user: { name: string; displayName: string; email: string }): Promise<UserRecord> {
    return this.write(identity.createUser(user, this.now()));
  }
  getUser(name: string): Promise<UserRecord | undefined> {
    return this.read(identity.getUser(name));
  }
  listUsers(): Promise<UserRecord[]> {
    return this.read(identity.listUsers());
  }
  deleteUser(name: string): Promise<boolean> {
    return this.write(identity.deleteUser(name));
  }
  addOrgMember(org: string, user: string): Promise<void> {
    return this.write(identity.addOrgMember(org, user, this.now()));
  }
  removeOrgMember(org: string, user: string): Promise<boolean> {
    return this.write(identity.removeOrgMember(org, user));
  }
  listOrgMembers(org: string): Promise<string[]> {
    return this.read(identity.listOrgMembers(org));
  }

  // Clients

  createClient(client: { orgName: string; name: string; validator: boolean }): Promise<ClientRecord> {
    return this.write(identity.createClient(client, this.now()));
  }
  getClient(org: string, name: string): Promise<ClientRecord | undefined> {
    return this.read(identity.getClient(org, name));
  }
  listClients(org: string): Promise<ClientRecord[]> {
    return this.read(identity.listClients(org));
  }
  deleteClient(org: string, name: string): Promise<boolean> {
    return this.write(identity.deleteClient(org, name));
  }

  // Keys

  addKey(
    principal: PrincipalRef,
    key: { name: string; publicKey: string; expiresAt: Date | null },
  ): Promise<KeyRecord> {
    return this.write(identity.addKey(principal, key, this.now()));
  }
  listKeys(principal: PrincipalRef): Promise<KeyRecord[]> {
    return this.read(identity.listKeys(principal));
  }
  deleteKey(principal: PrincipalRef, name: string): Promise<boolean> {
    return this.write(identity.deleteKey(principal, name));
  }
  findPrincipals(org: string, name: string, now: Date): Promise<PrincipalRecord[]> {
    return this.read(identity.findPrincipals(org, name, now));
  }

  // Groups

  createGroup(org: string, name: string): Promise<GroupRecord> {
    return this.write(identity.createGroup(org, name, this.now()));
  }
  getGroup(org: string, name: string): Promise<GroupRecord | undefined> {
    return this.read(identity.getGroup(org, name));
  }
  listGroups(org: string): Promise<string[]> {
    return this.read(identity.listGroups(org));
  }
  deleteGroup(org: string, name: string): Promise<boolean> {
    return this.write(identity.deleteGroup(org, name));
  }
  setGroupMembers(
    org: string,
    name: string,
    members: { users: string[]; clients: string[]; groups: string[] },
  ): Promise<GroupRecord> {
    return this.write(identity.setGroupMembers(org, name, members));
  }
  addGroupMember(org: string, group: string, type: GroupMemberType, member: string): Promise<boolean> {
    return this.write(identity.addGroupMember(org, group, type, member));
  }
  removeGroupMember(org: string, group: string, type: GroupMemberType, member: string): Promise<boolean> {
    return this.write(identity.removeGroupMember(org, group, type, member));
  }

  // Nodes

  createNode(org: string, node: NodeDocument): Promise<NodeDocument> {
    return this.write(identity.createNode(org, node, this.now()));
  }
  putNode(org: string, node: NodeDocument): Promise<NodeDocument> {
    return this.write(identity.putNode(org, node, this.now()));
  }
  getNode(org: string, name: string): Promise<NodeDocument | undefined> {
    return this.read(identity.getNode(org, name));
  }
  listNodeNames(org: string): Promise<string[]> {
    return this.read(identity.listNodeNames(org));
  }
  listNodes(org: string): Promise<NodeDocument[]> {
    return this.read(identity.listNodes(org));
  }
  deleteNode(org: string, name: string): Promise<boolean> {
    return this.write(identity.deleteNode(org, name));
  }
  nodeChanges(orgGuid: string, since: number, limit: number): Promise<NodeChange[]> {
    return this.read(nodeChanges(orgGuid, since, limit));
  }

  // Jobs

  createJob(job: NewJob): Promise<JobRecord> {
    return this.write(jobs.createJob(job));
  }
  getJob(org: string, id: string): Promise<JobRecord | undefined> {
    return this.read(jobs.getJob(org, id));
  }
  listJobs(org: string, query?: JobListQuery): Promise<JobSummaryRecord[]> {
    return this.read(jobs.listJobs(org, query));
  }
  countJobs(org: string, query?: Pick<JobListQuery, 'status'>): Promise<number> {
    return this.read(jobs.countJobs(org, query));
  }
  updateJobStatus(
    org: string,
    id: string,
    status: JobState,
    at: Date,
    by: string,
    owner?: string,
  ): Promise<boolean> {
    return this.write(jobs.updateJobStatus(org, id, status, at, by, owner));
  }
  updateJobNodes(org: string, id: string, nodes: string[], status: NodeJobState, at: Date): Promise<number> {
    return this.write(jobs.updateJobNodes(org, id, nodes, status, at));
  }
  updateJobNodeResults(
    org: string,
    id: string,
    results: ReadonlyMap<string, NodeRunResult>,
  ): Promise<number> {
    return this.write(jobs.updateJobNodeResults(org, id, results));
  }
  putJobOutput(org: string, id: string, node: string, output: JobOutputRecord): Promise<boolean> {
    return this.write(jobs.putJobOutput(org, id, node, output));
  }
  getJobOutput(org: string, id: string, node: string): Promise<JobOutputRecord | undefined> {
    return this.read(jobs.getJobOutput(org, id, node));
  }
  appendJobOutputChunks(org: string, id: string, chunks: readonly JobOutputChunk[]): Promise<number> {
    return this.write(jobs.appendJobOutputChunks(org, id, chunks));
  }
  getJobOutputChunks(
    org: string,
    id: string,
    node: string,
    afterSeq: number,
    limit: number,
  ): Promise<JobOutputChunk[]> {
    return this.read(jobs.getJobOutputChunks(org, id, node, afterSeq, limit));
  }
  getStreamedOutput(org: string, id: string, node: string): Promise<JobOutputRecord | undefined> {
    return this.read(jobs.getStreamedOutput(org, id, node));
  }
  crashIncompleteJobs(at: Date, by: string, owner: string, includeUnowned = true): Promise<string[]> {
    return this.write(jobs.crashIncompleteJobs(at, by, owner, includeUnowned));
  }
}
