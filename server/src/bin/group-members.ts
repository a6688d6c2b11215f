/**
 * What the `group` commands share: the one member named by `--user`, `--client` or `--group`,
 * and lookups that fail with "does not exist".
 *
 * @module
 */
import { Args, Flags } from '@oclif/core';
import { StoreNotFoundError, type GroupMemberType, type GroupRecord, type Store } from '../store/types.js';
import type { CommandOutput } from './base-command.js';

/** `ORG GROUP` arguments. */
export const orgGroupArgs = {
  ORG: Args.string({ description: 'The organization.', required: true }),
  GROUP: Args.string({ description: 'The group.', required: true }),
};

/** `--user`, `--client`, `--group`: the member to add or remove. */
export const memberFlags = {
  user: Flags.string({ description: 'A user (must exist).', helpValue: 'NAME' }),
  client: Flags.string({ description: 'A client of ORG.', helpValue: 'NAME' }),
  group: Flags.string({ description: 'Another group of ORG (nested).', helpValue: 'NAME' }),
};

/** A group member. */
export interface Member {
  type: GroupMemberType;
  name: string;
}

/** The one member named by `--user`, `--client` or `--group`. @throws UsageError otherwise. */
export function memberOf(
  command: CommandOutput,
  values: { user?: string | undefined; client?: string | undefined; group?: string | undefined },
): Member {
  const given = (['user', 'client', 'group'] as const)
    .map((type) => ({ type, name: values[type] }))
    .filter((m): m is Member => m.name !== undefined);
  const [first, second] = given;
  if (first === undefined || second !== undefined) {
    throw command.usage('give exactly one of --user, --client or --group');
  }
  return first;
}

/** @throws StoreNotFoundError when the org does not exist. */
export async function requireOrg(store: Store, org: string): Promise<void> {
  if ((await store.getOrg(org)) === undefined) throw new StoreNotFoundError('org', org);
}

/** The group. @throws StoreNotFoundError when the org or the group does not exist. */
export async function requireGroup(store: Store, org: string, group: string): Promise<GroupRecord> {
  await requireOrg(store, org);
  const record = await store.getGroup(org, group);
  if (record === undefined) throw new StoreNotFoundError('group', `${org}/${group}`);
  return record;
}

/** @throws StoreNotFoundError when the member does not exist. */
export async function requireMember(store: Store, org: string, member: Member): Promise<void> {
  const found =
    member.type === 'user'
      ? await store.getUser(member.name)
      : member.type === 'client'
        ? await store.getClient(org, member.name)
        : await store.getGroup(org, member.name);
  if (found === undefined) {
    throw new StoreNotFoundError(member.type, member.type === 'user' ? member.name : `${org}/${member.name}`);
  }
}
