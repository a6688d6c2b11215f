/**
 * Store programs for identity: orgs, users and membership, clients, keys, groups and nodes.
 * Dialect-neutral SQL (see {@link Program}); each store runs them with its own driver.
 *
 * @module
 */
import { all, get, run, type Program } from './program.js';
import {
  clientFromRow,
  groupFromRows,
  keyFromRow,
  nodeFromColumn,
  orgFromRow,
  rethrowConflict,
  sortNames,
  toBool,
  userFromRow,
  type ClientRow,
  type DbBool,
  type GroupMemberRow,
  type KeyRow,
  type OrgRow,
  type UserRow,
} from './rows.js';
import {
  StoreNotFoundError,
  type ClientRecord,
  type GroupMemberType,
  type GroupRecord,
  type KeyRecord,
  type NodeDocument,
  type OrgRecord,
  type PrincipalRecord,
  type PrincipalRef,
  type UserRecord,
} from './types.js';

// ---------------------------------------------------------------------------------------------
// Orgs
// ---------------------------------------------------------------------------------------------

const ORG_COLUMNS = 'guid, name, full_name, created_at';

/** The org row named `name`, or undefined. */
export function* findOrg(name: string): Program<OrgRow | undefined> {
  return yield* get<OrgRow>(`SELECT ${ORG_COLUMNS} FROM orgs WHERE name = ?`, name);
}

/** The org row named `name`; throws {@link StoreNotFoundError} when there is none. */
export function* requireOrg(name: string): Program<OrgRow> {
  const row = yield* findOrg(name);
  if (row === undefined) throw new StoreNotFoundError('org', name);
  return row;
}

/** Inserts an org. */
export function* createOrg(
  org: { name: string; guid: string; fullName: string },
  now: Date,
): Program<OrgRecord> {
  try {
    yield* run(
      'INSERT INTO orgs (guid, name, full_name, created_at) VALUES (?, ?, ?, ?)',
      org.guid,
      org.name,
      org.fullName,
      now,
    );
  } catch (error) {
    rethrowConflict(error, 'org', org.name);
  }
  return { name: org.name, guid: org.guid, fullName: org.fullName, createdAt: new Date(now.getTime()) };
}

/** One org, or undefined. */
export function* getOrg(name: string): Program<OrgRecord | undefined> {
  const row = yield* findOrg(name);
  return row && orgFromRow(row);
}

/** Every org, by name. */
export function* listOrgs(): Program<OrgRecord[]> {
  return (yield* all<OrgRow>(`SELECT ${ORG_COLUMNS} FROM orgs ORDER BY name`)).map(orgFromRow);
}

/** Deletes an org and, by cascade, everything in it. */
export function* deleteOrg(name: string): Program<boolean> {
  return (yield* run('DELETE FROM orgs WHERE name = ?', name)) > 0;
}

// ---------------------------------------------------------------------------------------------
// Users and membership
// ---------------------------------------------------------------------------------------------

const USER_COLUMNS = 'id, name, display_name, email, created_at';

function* findUser(name: string): Program<UserRow | undefined> {
  return yield* get<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE name = ?`, name);
}

function* requireUser(name: string): Program<UserRow> {
  const row = yield* findUser(name);
  if (row === undefined) throw new StoreNotFoundError('user', name);
  return row;
}

/** Inserts a user. */
export function* createUser(
  user: { name: string; displayName: string; email: string },
  now: Date,
): Program<UserRecord> {
  try {
    yield* run(
      'INSERT INTO users (name, display_name, email, created_at) VALUES (?, ?, ?, ?)',
      user.name,
      user.displayName,
      user.email,
      now,
    );
  } catch (error) {
    rethrowConflict(error, 'user', user.name);
  }
  return {
    name: user.name,
    displayName: user.displayName,
    email: user.email,
    createdAt: new Date(now.getTime()),
  };
}

/** One user, or undefined. */
export function* getUser(name: string): Program<UserRecord | undefined> {
  const row = yield* findUser(name);
  return row && userFromRow(row);
}

/** Every user, by name. */
export function* listUsers(): Program<UserRecord[]> {
  return (yield* all<UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY name`)).map(userFromRow);
}

/** Deletes a user; keys, memberships and group entries go by cascade. */
export function* deleteUser(name: string): Program<boolean> {
  return (yield* run('DELETE FROM users WHERE name = ?', name)) > 0;
}

/** Makes a user a member of an org (no change when it already is). */
export function* addOrgMember(org: string, user: string, now: Date): Program<void> {
  const orgRow = yield* requireOrg(org);
  const userRow = yield* requireUser(user);
  yield* run(
    'INSERT INTO org_members (org_id, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    orgRow.guid,
    userRow.id,
    now,
  );
}

/** Removes a user from an org. */
export function* removeOrgMember(org: string, user: string): Program<boolean> {
  const changed = yield* run(
    `DELETE FROM org_members
      WHERE org_id = (SELECT guid FROM orgs WHERE name = ?) AND user_id = (SELECT id FROM users WHERE name = ?)`,
    org,
    user,
  );
  return changed > 0;
}

/** The names of an org's members. */
export function* listOrgMembers(org: string): Program<string[]> {
  const orgRow = yield* requireOrg(org);
  const rows = yield* all<{ name: string }>(
    'SELECT u.name FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? ORDER BY u.name',
    orgRow.guid,
  );
  return rows.map((row) => row.name);
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

const CLIENT_COLUMNS = 'id, name, validator, created_at';

function* findClient(orgGuid: string, name: string): Program<ClientRow | undefined> {
  return yield* get<ClientRow>(
    `SELECT ${CLIENT_COLUMNS} FROM clients WHERE org_id = ? AND name = ?`,
    orgGuid,
    name,
  );
}

/** Inserts a client. */
export function* createClient(
  client: { orgName: string; name: string; validator: boolean },
  now: Date,
): Program<ClientRecord> {
  const org = yield* requireOrg(client.orgName);
  try {
    yield* run(
      'INSERT INTO clients (org_id, name, validator, created_at) VALUES (?, ?, ?, ?)',
      org.guid,
      client.name,
      client.validator,
      now,
    );
  } catch (error) {
    rethrowConflict(error, 'client', client.name);
  }
  return {
    orgName: org.name,
    name: client.name,
    validator: client.validator,
    createdAt: new Date(now.getTime()),
  };
}

/** One client, or undefined. */
export function* getClient(org: string, name: string): Program<ClientRecord | undefined> {
  const orgRow = yield* findOrg(org);
  const row = orgRow && (yield* findClient(orgRow.guid, name));
  return row && clientFromRow(org, row);
}

/** Every client of an org, by name. */
export function* listClients(org: string): Program<ClientRecord[]> {
  const orgRow = yield* requireOrg(org);
  const rows = yield* all<ClientRow>(
    `SELECT ${CLIENT_COLUMNS} FROM clients WHERE org_id = ? ORDER BY name`,
    orgRow.guid,
  );
  return rows.map((row) => clientFromRow(org, row));
}

/** Deletes a client; keys and group entries go by cascade. */
export function* deleteClient(org: string, name: string): Program<boolean> {
  const changed = yield* run(
    'DELETE FROM clients WHERE org_id = (SELECT guid FROM orgs WHERE name = ?) AND name = ?',
    org,
    name,
  );
  return changed > 0;
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/** Where a principal's keys are: the owner column and the owner's id. */
interface KeyOwner {
  column: 'user_id' | 'client_id';
  id: number;
  orgGuid: string | null;
}

function* findKeyOwner(principal: PrincipalRef): Program<KeyOwner | undefined> {
  if (principal.type === 'user') {
    const user = yield* findUser(principal.name);
    return user && { column: 'user_id', id: user.id, orgGuid: null };
  }
  const org = yield* findOrg(principal.org);
  const client = org && (yield* findClient(org.guid, principal.name));
  return client && org && { column: 'client_id', id: client.id, orgGuid: org.guid };
}

function* requireKeyOwner(principal: PrincipalRef): Program<KeyOwner> {
  if (principal.type === 'client') yield* requireOrg(principal.org);
  const owner = yield* findKeyOwner(principal);
  if (owner === undefined) throw new StoreNotFoundError(principal.type, principal.name);
  return owner;
}

/** Adds a named key to a principal. */
export function* addKey(
  principal: PrincipalRef,
  key: { name: string; publicKey: string; expiresAt: Date | null },
  now: Date,
): Program<KeyRecord> {
  const owner = yield* requireKeyOwner(principal);
  try {
    yield* run(
      `INSERT INTO principal_keys
         (principal_type, org_id, user_id, client_id, key_name, public_key, expires_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      principal.type,
      owner.orgGuid,
      owner.column === 'user_id' ? owner.id : null,
      owner.column === 'client_id' ? owner.id : null,
      key.name,
      key.publicKey,
      key.expiresAt,
      now,
    );
  } catch (error) {
    rethrowConflict(error, 'key', key.name);
  }
  return {
    name: key.name,
    publicKey: key.publicKey,
    expiresAt: key.expiresAt && new Date(key.expiresAt.getTime()),
    createdAt: new Date(now.getTime()),
  };
}

/** A principal's keys, by name. */
export function* listKeys(principal: PrincipalRef): Program<KeyRecord[]> {
  const owner = yield* requireKeyOwner(principal);
  const rows = yield* all<KeyRow>(
    `SELECT key_name, public_key, expires_at, created_at FROM principal_keys WHERE ${owner.column} = ? ORDER BY key_name`,
    owner.id,
  );
  return rows.map(keyFromRow);
}

/** Deletes a principal's key. */
export function* deleteKey(principal: PrincipalRef, name: string): Program<boolean> {
  const owner = yield* findKeyOwner(principal);
  if (owner === undefined) return false;
  return (
    (yield* run(`DELETE FROM principal_keys WHERE ${owner.column} = ? AND key_name = ?`, owner.id, name)) > 0
  );
}

function* unexpiredKeys(column: KeyOwner['column'], id: number, now: Date): Program<string[]> {
  const rows = yield* all<{ public_key: string }>(
    `SELECT public_key FROM principal_keys
      WHERE ${column} = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY key_name`,
    id,
    now,
  );
  return rows.map((row) => row.public_key);
}

/** The client of `org` and the user named `name`, client first, with their unexpired keys. */
export function* findPrincipals(org: string, name: string, now: Date): Program<PrincipalRecord[]> {
  const orgRow = yield* requireOrg(org);
  const found: PrincipalRecord[] = [];
  const client = yield* findClient(orgRow.guid, name);
  if (client !== undefined) {
    found.push({
      type: 'client',
      name,
      orgMember: true,
      validator: toBool(client.validator),
      publicKeys: yield* unexpiredKeys('client_id', client.id, now),
    });
  }
  const user = yield* get<{ id: number; member: DbBool }>(
    `SELECT u.id, EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = ? AND m.user_id = u.id) AS member
       FROM users u WHERE u.name = ?`,
    orgRow.guid,
    name,
  );
  if (user !== undefined) {
    found.push({
      type: 'user',
      name,
      orgMember: toBool(user.member),
      validator: false,
      publicKeys: yield* unexpiredKeys('user_id', user.id, now),
    });
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------------------------

const MEMBER_COLUMN: Readonly<Record<GroupMemberType, string>> = {
  user: 'user_id',
  client: 'client_id',
  group: 'member_group_id',
};

function* findGroupId(orgGuid: string, name: string): Program<number | undefined> {
  const row = yield* get<{ id: number }>(
    'SELECT id FROM groups WHERE org_id = ? AND name = ?',
    orgGuid,
    name,
  );
  return row?.id;
}

function* requireGroupId(orgGuid: string, name: string): Program<number> {
  const id = yield* findGroupId(orgGuid, name);
  if (id === undefined) throw new StoreNotFoundError('group', name);
  return id;
}

/** The id of a member as stored, or undefined when there is no such user, client or group. */
function* findMemberId(orgGuid: string, type: GroupMemberType, name: string): Program<number | undefined> {
  if (type === 'group') return yield* findGroupId(orgGuid, name);
  const row =
    type === 'user'
      ? yield* get<{ id: number }>('SELECT id FROM users WHERE name = ?', name)
      : yield* get<{ id: number }>('SELECT id FROM clients WHERE org_id = ? AND name = ?', orgGuid, name);
  return row?.id;
}

function* requireMemberId(orgGuid: string, type: GroupMemberType, name: string): Program<number> {
  const id = yield* findMemberId(orgGuid, type, name);
  if (id === undefined) throw new StoreNotFoundError(type, name);
  return id;
}

function* insertMember(groupId: number, type: GroupMemberType, memberId: number): Program<boolean> {
  const changed = yield* run(
    `INSERT INTO group_members (group_id, member_type, ${MEMBER_COLUMN[type]}) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
    groupId,
    type,
    memberId,
  );
  return changed > 0;
}

function* readGroup(orgName: string, name: string, groupId: number): Program<GroupRecord> {
  const rows = yield* all<GroupMemberRow>(
    `SELECT gm.member_type, COALESCE(u.name, c.name, g.name) AS name
       FROM group_members gm
       LEFT JOIN users u ON u.id = gm.user_id
       LEFT JOIN clients c ON c.id = gm.client_id
       LEFT JOIN groups g ON g.id = gm.member_group_id
      WHERE gm.group_id = ?`,
    groupId,
  );
  return groupFromRows(orgName, name, rows);
}

/** Inserts an empty group. */
export function* createGroup(org: string, name: string, now: Date): Program<GroupRecord> {
  const orgRow = yield* requireOrg(org);
  try {
    yield* run('INSERT INTO groups (org_id, name, created_at) VALUES (?, ?, ?)', orgRow.guid, name, now);
  } catch (error) {
    rethrowConflict(error, 'group', name);
  }
  return { orgName: org, name, users: [], clients: [], groups: [] };
}

/** One group with its members, or undefined. */
export function* getGroup(org: string, name: string): Program<GroupRecord | undefined> {
  const orgRow = yield* findOrg(org);
  const id = orgRow && (yield* findGroupId(orgRow.guid, name));
  return id === undefined ? undefined : yield* readGroup(org, name, id);
}

/** The names of an org's groups. */
export function* listGroups(org: string): Program<string[]> {
  const orgRow = yield* requireOrg(org);
  const rows = yield* all<{ name: string }>(
    'SELECT name FROM groups WHERE org_id = ? ORDER BY name',
    orgRow.guid,
  );
  return rows.map((row) => row.name);
}

/** Deletes a group; its entries in other groups go by cascade. */
export function* deleteGroup(org: string, name: string): Program<boolean> {
  const changed = yield* run(
    'DELETE FROM groups WHERE org_id = (SELECT guid FROM orgs WHERE name = ?) AND name = ?',
    org,
    name,
  );
  return changed > 0;
}

/** Replaces a group's members (run in one transaction). */
export function* setGroupMembers(
  org: string,
  name: string,
  members: { users: string[]; clients: string[]; groups: string[] },
): Program<GroupRecord> {
  const orgRow = yield* requireOrg(org);
  const groupId = yield* requireGroupId(orgRow.guid, name);
  const wanted: [GroupMemberType, number][] = [];
  for (const [type, names] of [
    ['user', members.users],
    ['client', members.clients],
    ['group', members.groups],
  ] as const) {
    for (const member of sortNames(names))
      wanted.push([type, yield* requireMemberId(orgRow.guid, type, member)]);
  }
  yield* run('DELETE FROM group_members WHERE group_id = ?', groupId);
  for (const [type, id] of wanted) yield* insertMember(groupId, type, id);
  return yield* readGroup(org, name, groupId);
}

/** Adds one member to a group (no change when it already is one). */
export function* addGroupMember(
  org: string,
  group: string,
  type: GroupMemberType,
  member: string,
): Program<boolean> {
  const orgRow = yield* requireOrg(org);
  const groupId = yield* requireGroupId(orgRow.guid, group);
  return yield* insertMember(groupId, type, yield* requireMemberId(orgRow.guid, type, member));
}

/** Removes one member from a group. */
export function* removeGroupMember(
  org: string,
  group: string,
  type: GroupMemberType,
  member: string,
): Program<boolean> {
  const orgRow = yield* findOrg(org);
  if (orgRow === undefined) return false;
  const groupId = yield* findGroupId(orgRow.guid, group);
  const memberId = yield* findMemberId(orgRow.guid, type, member);
  if (groupId === undefined || memberId === undefined) return false;
  const changed = yield* run(
    `DELETE FROM group_members WHERE group_id = ? AND ${MEMBER_COLUMN[type]} = ?`,
    groupId,
    memberId,
  );
  return changed > 0;
}

// ---------------------------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------------------------

/** Inserts a node document. */
export function* createNode(org: string, node: NodeDocument, now: Date): Program<NodeDocument> {
  const orgRow = yield* requireOrg(org);
  const document = JSON.stringify(node);
  try {
    yield* run(
      'INSERT INTO nodes (org_id, name, document, updated_at) VALUES (?, ?, ?, ?)',
      orgRow.guid,
      node.name,
      document,
      now,
    );
  } catch (error) {
    rethrowConflict(error, 'node', node.name);
  }
  return nodeFromColumn(document);
}

/** Creates or replaces a node document. */
export function* putNode(org: string, node: NodeDocument, now: Date): Program<NodeDocument> {
  const orgRow = yield* requireOrg(org);
  const document = JSON.stringify(node);
  yield* run(
    `INSERT INTO nodes (org_id, name, document, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (org_id, name) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at`,
    orgRow.guid,
    node.name,
    document,
    now,
  );
  return nodeFromColumn(document);
}

/** One node document, or undefined. */
export function* getNode(org: string, name: string): Program<NodeDocument | undefined> {
  const row = yield* get<{ document: string | NodeDocument }>(
    'SELECT n.document FROM nodes n JOIN orgs o ON o.guid = n.org_id WHERE o.name = ? AND n.name = ?',
    org,
    name,
  );
  return row && nodeFromColumn(row.document);
}

/** The names of an org's nodes. */
export function* listNodeNames(org: string): Program<string[]> {
  const orgRow = yield* requireOrg(org);
  const rows = yield* all<{ name: string }>(
    'SELECT name FROM nodes WHERE org_id = ? ORDER BY name',
    orgRow.guid,
  );
  return rows.map((row) => row.name);
}

/** Every node document of an org, by name. */
export function* listNodes(org: string): Program<NodeDocument[]> {
  const orgRow = yield* requireOrg(org);
  const rows = yield* all<{ document: string | NodeDocument }>(
    'SELECT document FROM nodes WHERE org_id = ? ORDER BY name',
    orgRow.guid,
  );
  return rows.map((row) => nodeFromColumn(row.document));
}

/** Deletes a node document. */
export function* deleteNode(org: string, name: string): Program<boolean> {
  const changed = yield* run(
    'DELETE FROM nodes WHERE org_id = (SELECT guid FROM orgs WHERE name = ?) AND name = ?',
    org,
    name,
  );
  return changed > 0;
}
