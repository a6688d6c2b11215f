/**
 * `push-jobs-server group add|remove|show|list`.
 *
 * @module
 */
import { addToGroup } from '../identity/service.js';
import { StoreNotFoundError, type GroupMemberType, type GroupRecord, type Store } from '../store/types.js';
import {
  CommandError,
  loadConfig,
  output,
  parseCommand,
  PROGRAM,
  runVerbs,
  STORE_OPTIONS,
  STORE_OPTIONS_HELP,
  str,
  UsageError,
  verbList,
  withStore,
  type CommandSpec,
  type OptionValues,
  type Verb,
} from './context.js';
import { checkName } from './names.js';

const MEMBER_OPTIONS = {
  user: { type: 'string' },
  client: { type: 'string' },
  group: { type: 'string' },
} as const;

const MEMBER_HELP = `  --user NAME             a user (must exist)
  --client NAME           a client of ORG
  --group NAME            another group of ORG (nested)`;

const ADD: CommandSpec = {
  command: 'group add',
  options: { ...STORE_OPTIONS, ...MEMBER_OPTIONS },
  positionals: ['ORG', 'GROUP'],
  help: `Usage: ${PROGRAM} group add ORG GROUP (--user NAME | --client NAME | --group NAME) [store options]

Adds one member to a group of ORG, creating the group when it does not exist yet (for
example pushy_job_writers or pushy_job_readers, which restrict who may start or read jobs).
Adding a member twice changes nothing.

${MEMBER_HELP}
${STORE_OPTIONS_HELP}

Example:
  ${PROGRAM} group add acme pushy_job_writers --user alice`,
};

const REMOVE: CommandSpec = {
  command: 'group remove',
  options: { ...STORE_OPTIONS, ...MEMBER_OPTIONS },
  positionals: ['ORG', 'GROUP'],
  help: `Usage: ${PROGRAM} group remove ORG GROUP (--user NAME | --client NAME | --group NAME) [store options]

Removes one member from a group of ORG. Fails when it is not a member.

${MEMBER_HELP}
${STORE_OPTIONS_HELP}

Example:
  ${PROGRAM} group remove acme admins --user alice`,
};

const SHOW: CommandSpec = {
  command: 'group show',
  options: STORE_OPTIONS,
  positionals: ['ORG', 'GROUP'],
  help: `Usage: ${PROGRAM} group show ORG GROUP [store options]

Shows the members of a group: users, clients and nested groups.

${STORE_OPTIONS_HELP}

Example:
  ${PROGRAM} group show acme admins --json`,
};

const LIST: CommandSpec = {
  command: 'group list',
  options: STORE_OPTIONS,
  positionals: ['ORG'],
  help: `Usage: ${PROGRAM} group list ORG [store options]

Lists the group names of ORG.

${STORE_OPTIONS_HELP}

Example:
  ${PROGRAM} group list acme`,
};

/** The one member named by `--user`, `--client` or `--group`. */
function memberOf(values: OptionValues, command: string): { type: GroupMemberType; name: string } {
  const given = (['user', 'client', 'group'] as const)
    .map((type) => ({ type, name: str(values, type) }))
    .filter((m): m is { type: GroupMemberType; name: string } => m.name !== undefined);
  const [first, second] = given;
  if (first === undefined || second !== undefined) {
    throw new UsageError('give exactly one of --user, --client or --group', command);
  }
  return first;
}

async function requireOrg(store: Store, org: string): Promise<void> {
  if ((await store.getOrg(org)) === undefined) throw new StoreNotFoundError('org', org);
}

async function requireGroup(store: Store, org: string, group: string): Promise<GroupRecord> {
  await requireOrg(store, org);
  const record = await store.getGroup(org, group);
  if (record === undefined) throw new StoreNotFoundError('group', `${org}/${group}`);
  return record;
}

async function requireMember(
  store: Store,
  org: string,
  member: { type: GroupMemberType; name: string },
): Promise<void> {
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

function describeGroup(group: GroupRecord): string[] {
  const list = (names: string[]): string => (names.length === 0 ? '(none)' : names.join(', '));
  return [
    `group ${group.orgName}/${group.name}`,
    `users:   ${list(group.users)}`,
    `clients: ${list(group.clients)}`,
    `groups:  ${list(group.groups)}`,
  ];
}

const VERBS: Record<string, Verb> = {
  add: {
    summary: 'add a user, client or group to a group',
    async run(args) {
      const parsed = parseCommand(args, ADD);
      if (parsed === undefined) return 0;
      const { values, positionals } = parsed;
      const org = positionals[0] ?? '';
      const group = checkName('group', positionals[1] ?? '', ADD.command);
      const member = memberOf(values, ADD.command);
      if (member.type === 'group' && member.name === group) {
        throw new UsageError('a group cannot contain itself', ADD.command);
      }
      const config = loadConfig(values, ADD.command);
      const result = await withStore(config, async (store) => {
        await requireOrg(store, org);
        await requireMember(store, org, member);
        const createdGroup = (await store.getGroup(org, group)) === undefined;
        const added = await addToGroup(store, org, group, member.type, member.name);
        return { group: await requireGroup(store, org, group), added, createdGroup };
      });
      const what = `${member.type} ${member.name}`;
      output(values, result, [
        result.added
          ? `added ${what} to group ${org}/${group}${result.createdGroup ? ' (group created)' : ''}`
          : `${what} is already in group ${org}/${group}`,
      ]);
      return 0;
    },
  },
  remove: {
    summary: 'remove a user, client or group from a group',
    async run(args) {
      const parsed = parseCommand(args, REMOVE);
      if (parsed === undefined) return 0;
      const { values, positionals } = parsed;
      const org = positionals[0] ?? '';
      const group = positionals[1] ?? '';
      const member = memberOf(values, REMOVE.command);
      const config = loadConfig(values, REMOVE.command);
      const record = await withStore(config, async (store) => {
        await requireGroup(store, org, group);
        const removed = await store.removeGroupMember(org, group, member.type, member.name);
        if (!removed) throw new CommandError(`${member.type} ${member.name} is not in group ${org}/${group}`);
        return requireGroup(store, org, group);
      });
      output(
        values,
        { group: record, removed: true },
        `removed ${member.type} ${member.name} from group ${org}/${group}`,
      );
      return 0;
    },
  },
  show: {
    summary: 'show the members of a group',
    async run(args) {
      const parsed = parseCommand(args, SHOW);
      if (parsed === undefined) return 0;
      const { values, positionals } = parsed;
      const config = loadConfig(values, SHOW.command);
      const record = await withStore(config, (store) =>
        requireGroup(store, positionals[0] ?? '', positionals[1] ?? ''),
      );
      output(values, record, describeGroup(record));
      return 0;
    },
  },
  list: {
    summary: 'list the groups of an org',
    async run(args) {
      const parsed = parseCommand(args, LIST);
      if (parsed === undefined) return 0;
      const { values, positionals } = parsed;
      const org = positionals[0] ?? '';
      const config = loadConfig(values, LIST.command);
      const groups = await withStore(config, async (store) => {
        await requireOrg(store, org);
        return store.listGroups(org);
      });
      output(values, groups, groups);
      return 0;
    },
  },
};

/** Help of the `group` command group. */
export const GROUP_HELP = `Usage: ${PROGRAM} group <add|remove|show|list> ORG ... [--json]

Manages the groups of an organization (admins, users, clients, pushy_job_readers,
pushy_job_writers, ...).

${verbList('group', VERBS)}

Run '${PROGRAM} group <command> --help' for a command's options.

Example:
  ${PROGRAM} group add acme pushy_job_writers --user alice`;

/** Runs `group ...`; resolves to the exit status. */
export function runGroup(args: readonly string[]): Promise<number> {
  return runVerbs('group', args, VERBS, GROUP_HELP);
}
