/**
 * Identity operations over the {@link Store}: organizations with their default groups, users
 * and clients with their keys, memberships. Used by the `push-jobs-server` admin commands and
 * by the REST routes.
 *
 * Errors: {@link InvalidArgumentError} for bad names or keys (checked before anything is
 * written); {@link StoreConflictError} and {@link StoreNotFoundError} from the store, or thrown
 * here when an org or user named in a call does not exist.
 *
 * @module
 */
import { InvalidArgumentError, makeOrgGuid } from '@push-jobs/protocol/internal';
import {
  StoreNotFoundError,
  type ClientRecord,
  type GroupMemberType,
  type OrgRecord,
  type Store,
  type UserRecord,
} from '../store/types.js';
import { generateRsaKeyPair, normalizePublicKey } from './keys.js';

/** Organization names: lowercase letters, digits, `_` and `-` (Chef's rule). */
export const ORG_NAME_PATTERN = /^[a-z0-9_-]+$/;
/** User names: lowercase letters, digits, `_` and `-` (Chef's rule). */
export const USER_NAME_PATTERN = /^[a-z0-9_-]+$/;
/** Client names: letters, digits, `_`, `.` and `-` (Chef's rule), 1 to 255 characters. */
export const CLIENT_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,255}$/;
/** Group names: like client names. */
export const GROUP_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,255}$/;

/** The groups every org gets. `pushy_job_readers`/`pushy_job_writers` are left out on purpose. */
export const DEFAULT_GROUPS: readonly string[] = Object.freeze(['admins', 'users', 'clients']);

/** The key name under which created users and clients get their key. */
export const DEFAULT_KEY_NAME = 'default';

const MAX_NAME_LENGTH = 255;

function check(kind: string, name: unknown, pattern: RegExp, rule: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH || !pattern.test(name)) {
    throw new InvalidArgumentError(`invalid ${kind} name ${JSON.stringify(name)}: ${rule}`);
  }
  return name;
}

/** @throws InvalidArgumentError unless `name` is a valid organization name. */
export function assertOrgName(name: unknown): string {
  return check('org', name, ORG_NAME_PATTERN, 'use lowercase letters, digits, "_" and "-"');
}

/** @throws InvalidArgumentError unless `name` is a valid user name. */
export function assertUserName(name: unknown): string {
  return check('user', name, USER_NAME_PATTERN, 'use lowercase letters, digits, "_" and "-"');
}

/** @throws InvalidArgumentError unless `name` is a valid client name. */
export function assertClientName(name: unknown): string {
  return check('client', name, CLIENT_NAME_PATTERN, 'use letters, digits, "_", "." and "-" (1 to 255)');
}

/** @throws InvalidArgumentError unless `name` is a valid group name. */
export function assertGroupName(name: unknown): string {
  return check('group', name, GROUP_NAME_PATTERN, 'use letters, digits, "_", "." and "-" (1 to 255)');
}

async function requireOrg(store: Store, org: string): Promise<OrgRecord> {
  const record = await store.getOrg(org);
  if (record === undefined) throw new StoreNotFoundError('org', org);
  return record;
}

/** Creates the group when missing; resolves to whether it was created. */
export async function ensureGroup(store: Store, org: string, group: string): Promise<boolean> {
  if ((await store.getGroup(org, group)) !== undefined) return false;
  await store.createGroup(org, group);
  return true;
}

/**
 * Adds a member to a group of an org, creating the group when missing; does nothing when
 * already a member. Resolves to whether the membership was added.
 */
export async function addToGroup(
  store: Store,
  org: string,
  group: string,
  type: GroupMemberType,
  member: string,
): Promise<boolean> {
  // One insert that ignores an existing membership: no read of the whole group (the `clients`
  // group of an org with 10,000 nodes), which made registering N clients O(N²).
  try {
    return await store.addGroupMember(org, group, type, member);
  } catch (err) {
    if (!(err instanceof StoreNotFoundError) || err.entity !== 'group') throw err;
  }
  await ensureGroup(store, org, group);
  return store.addGroupMember(org, group, type, member);
}

/**
 * Creates an organization with a fresh GUID and its default groups (`admins`, `users`,
 * `clients`).
 *
 * @throws InvalidArgumentError for a bad name; StoreConflictError when it exists.
 */
export async function createOrgWithDefaults(
  store: Store,
  opts: { name: string; fullName?: string },
): Promise<OrgRecord> {
  const name = assertOrgName(opts.name);
  const org = await store.createOrg({ name, guid: makeOrgGuid(), fullName: opts.fullName ?? name });
  for (const group of DEFAULT_GROUPS) await ensureGroup(store, name, group);
  return org;
}

/** The public key to store and, when generated, the private half. */
function keyFor(publicKey: string | undefined): { publicKey: string; privateKey?: string } {
  if (publicKey !== undefined) return { publicKey: normalizePublicKey(publicKey) };
  return generateRsaKeyPair();
}

/**
 * Creates a user with a `default` key: the given public key (SPKI or PKCS#1 PEM), or a new key
 * pair whose private half is returned. `displayName` defaults to the name, `email` to empty.
 *
 * @throws InvalidArgumentError for a bad name or key; StoreConflictError when the user exists.
 */
export async function createUserWithKey(
  store: Store,
  opts: { name: string; displayName?: string; email?: string; publicKey?: string },
): Promise<{ user: UserRecord; privateKey?: string }> {
  const name = assertUserName(opts.name);
  const key = keyFor(opts.publicKey);
  const user = await store.createUser({
    name,
    displayName: opts.displayName ?? name,
    email: opts.email ?? '',
  });
  try {
    await store.addKey(
      { type: 'user', name },
      { name: DEFAULT_KEY_NAME, publicKey: key.publicKey, expiresAt: null },
    );
  } catch (err) {
    await store.deleteUser(name).catch(() => undefined);
    throw err;
  }
  return key.privateKey === undefined ? { user } : { user, privateKey: key.privateKey };
}

/**
 * Makes a user a member of an org and of its `users` group, and of `admins` when `admin`.
 * Idempotent; missing default groups are created.
 *
 * @throws StoreNotFoundError when the org or the user does not exist.
 */
export async function associateUser(
  store: Store,
  org: string,
  user: string,
  opts: { admin?: boolean } = {},
): Promise<void> {
  await requireOrg(store, org);
  if ((await store.getUser(user)) === undefined) throw new StoreNotFoundError('user', user);
  const members = await store.listOrgMembers(org);
  if (!members.includes(user)) await store.addOrgMember(org, user);
  await addToGroup(store, org, 'users', 'user', user);
  if (opts.admin === true) await addToGroup(store, org, 'admins', 'user', user);
}

/**
 * Creates a client of an org with a `default` key (given, or generated and returned) and adds
 * it to the org's `clients` group.
 *
 * @throws InvalidArgumentError for a bad name or key; StoreNotFoundError when the org does not
 *   exist; StoreConflictError when the client exists.
 */
export async function createClientWithKey(
  store: Store,
  opts: { org: string; name: string; validator?: boolean; publicKey?: string },
): Promise<{ client: ClientRecord; privateKey?: string }> {
  const name = assertClientName(opts.name);
  const key = keyFor(opts.publicKey);
  await requireOrg(store, opts.org);
  const client = await store.createClient({ orgName: opts.org, name, validator: opts.validator ?? false });
  try {
    await store.addKey(
      { type: 'client', org: opts.org, name },
      { name: DEFAULT_KEY_NAME, publicKey: key.publicKey, expiresAt: null },
    );
    await addToGroup(store, opts.org, 'clients', 'client', name);
  } catch (err) {
    await store.deleteClient(opts.org, name).catch(() => undefined);
    throw err;
  }
  return key.privateKey === undefined ? { client } : { client, privateKey: key.privateKey };
}
