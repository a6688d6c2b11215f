/**
 * Group-based authorization, as the original (spec 1.4): readers and writers groups with their
 * fallbacks, nested groups resolved recursively.
 *
 * @module
 */
import type { FastifyRequest } from 'fastify';
import type { OrgRecord, Store } from '../store/types.js';
import type { Access, Requestor } from './context.js';
import { forbidden } from './errors.js';

/** The group whose members may read jobs, node states and feeds. */
export const READERS_GROUP = 'pushy_job_readers';
/** The group whose members may start and abort jobs. */
export const WRITERS_GROUP = 'pushy_job_writers';
/** The org's administrators. */
export const ADMINS_GROUP = 'admins';

/**
 * Whether `who` is in the group, directly or through nested groups; `undefined` when the group
 * does not exist. Cycles between groups are tolerated.
 */
export async function isGroupMember(
  store: Store,
  org: string,
  group: string,
  who: Requestor,
  seen: Set<string> = new Set(),
): Promise<boolean | undefined> {
  if (seen.has(group)) return false;
  seen.add(group);
  const record = await store.getGroup(org, group);
  if (record === undefined) return undefined;
  const direct = who.type === 'user' ? record.users : record.clients;
  if (direct.includes(who.name)) return true;
  for (const nested of record.groups) {
    if ((await isGroupMember(store, org, nested, who, seen)) === true) return true;
  }
  return false;
}

/** The message of every authorization 403. */
export function accessDeniedMessage(name: string): string {
  return `User or client '${name}' does not have access to that action on this server.`;
}

async function allowed(
  access: Access,
  request: FastifyRequest,
  store: Store,
  org: OrgRecord,
  who: Requestor,
): Promise<boolean> {
  switch (access) {
    case 'public':
    case 'member':
      return true;
    case 'read':
      return (await isGroupMember(store, org.name, READERS_GROUP, who)) ?? true;
    case 'write': {
      const writer = await isGroupMember(store, org.name, WRITERS_GROUP, who);
      if (writer !== undefined) return writer;
      return (await isGroupMember(store, org.name, ADMINS_GROUP, who)) ?? false;
    }
    case 'admin':
      return (await isGroupMember(store, org.name, ADMINS_GROUP, who)) ?? false;
    default:
      return access(request, who, org);
  }
}

/** Throws the original's 403 unless `who` may call a route with this access policy. */
export async function authorize(
  access: Access,
  request: FastifyRequest,
  store: Store,
  org: OrgRecord,
  who: Requestor,
): Promise<void> {
  if (!(await allowed(access, request, store, org, who))) throw forbidden(accessDeniedMessage(who.name));
}

/** Whether `who` is an admin of the org (for routes that let admins do more). */
export async function isAdmin(store: Store, org: string, who: Requestor): Promise<boolean> {
  return (await isGroupMember(store, org, ADMINS_GROUP, who)) === true;
}
