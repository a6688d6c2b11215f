/**
 * `push-jobs-server org create|list|delete`.
 *
 * @module
 */
import { createOrgWithDefaults, DEFAULT_GROUPS } from '../identity/service.js';
import {
  deleteVerb,
  loadConfig,
  output,
  parseCommand,
  PROGRAM,
  runVerbs,
  STORE_OPTIONS,
  STORE_OPTIONS_HELP,
  str,
  verbList,
  withStore,
  type CommandSpec,
  type Verb,
} from './context.js';
import { checkName } from './names.js';

const CREATE: CommandSpec = {
  command: 'org create',
  options: { ...STORE_OPTIONS, 'full-name': { type: 'string' } },
  positionals: ['NAME'],
  help: `Usage: ${PROGRAM} org create NAME [--full-name TEXT] [store options]

Creates an organization with a new GUID and its groups ${DEFAULT_GROUPS.join(', ')}.
(No pushy_job_readers/pushy_job_writers groups: without them every org member may read and
start jobs; create them with 'group add' to restrict that.)

  --full-name TEXT        the organization's full name (default: NAME)
${STORE_OPTIONS_HELP}

Example:
  ${PROGRAM} org create acme --full-name "Acme Corp" --data-dir /var/lib/push-jobs`,
};

const LIST: CommandSpec = {
  command: 'org list',
  options: STORE_OPTIONS,
  help: `Usage: ${PROGRAM} org list [store options]

Lists the organizations: one name per line, or a JSON array of {name, guid, fullName, createdAt}.

${STORE_OPTIONS_HELP}

Example:
  ${PROGRAM} org list --json`,
};

const DELETE: CommandSpec = {
  command: 'org delete',
  options: { ...STORE_OPTIONS, yes: { type: 'boolean' } },
  positionals: ['NAME'],
  help: `Usage: ${PROGRAM} org delete NAME --yes [store options]

Deletes an organization and everything in it (clients, groups, nodes, jobs, memberships).
Users stay. --yes is required.

${STORE_OPTIONS_HELP}

Example:
  ${PROGRAM} org delete acme --yes`,
};

const VERBS: Record<string, Verb> = {
  create: {
    summary: 'create an organization with its default groups',
    async run(args) {
      const parsed = parseCommand(args, CREATE);
      if (parsed === undefined) return 0;
      const { values, positionals } = parsed;
      const name = checkName('org', positionals[0] ?? '', CREATE.command);
      const config = loadConfig(values, CREATE.command);
      const fullName = str(values, 'full-name');
      const org = await withStore(config, (store) =>
        createOrgWithDefaults(store, { name, ...(fullName === undefined ? {} : { fullName }) }),
      );
      output(values, org, `created org ${org.name} (guid ${org.guid})`);
      return 0;
    },
  },
  list: {
    summary: 'list the organizations',
    async run(args) {
      const parsed = parseCommand(args, LIST);
      if (parsed === undefined) return 0;
      const config = loadConfig(parsed.values, LIST.command);
      const orgs = await withStore(config, (store) => store.listOrgs());
      output(
        parsed.values,
        orgs,
        orgs.map((o) => o.name),
      );
      return 0;
    },
  },
  delete: deleteVerb({
    entity: 'org',
    summary: 'delete an organization and everything in it',
    spec: DELETE,
    remove: (store, name) => store.deleteOrg(name),
  }),
};

/** Help of the `org` command group. */
export const ORG_HELP = `Usage: ${PROGRAM} org <create|list|delete> ... [--json]

Manages organizations.

${verbList('org', VERBS)}

Run '${PROGRAM} org <command> --help' for a command's options.

Example:
  ${PROGRAM} org create acme --full-name "Acme Corp"`;

/** Runs `org ...`; resolves to the exit status. */
export function runOrg(args: readonly string[]): Promise<number> {
  return runVerbs('org', args, VERBS, ORG_HELP);
}
