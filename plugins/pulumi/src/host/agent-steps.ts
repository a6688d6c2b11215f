/**
 * The host steps of a push-jobs agent after Node.js and the cookbook are installed: register
 * the node's client, converge with the `push-jobs-cookbook` binary (which installs the agent,
 * renders its config and manages its service), and (init system `none`) start the agent in the
 * background. Pure functions of resolved values.
 *
 * @module
 */
import { posix } from 'node:path';
import {
  agentCommand,
  CONFIG_PATH,
  INIT_SYSTEMS as COOKBOOK_INIT_SYSTEMS,
  INSTALL_STATE_FILE,
  LOG_FILE_NAME,
  renderFiles,
  serviceDefinitionPath,
  STATE_DIR,
  type PlatformFamily,
  type PushJobsAttributes,
} from '@push-jobs/cookbook';
import type { AgentLayout, InitSystem } from './layout.js';
import { underRoot } from './layout.js';
import { REGISTER_CLIENT_JS, UNREGISTER_CLIENT_JS } from './register-client.js';
import { removeService, serviceVars, startService, type ServiceSpec } from './service.js';
import { assignments, bashCommand, heredoc, preamble, shellQuote, type RunAs } from './shell.js';
import type { HostCommands } from './types.js';

/** Resolved agent settings. */
export interface AgentStepsInput {
  readonly layout: AgentLayout;
  readonly init: InitSystem;
  /** The cookbook's platform family (`debian`, `rhel`, `suse`, `amazon`). */
  readonly platformFamily: PlatformFamily;
  /** The validated `push_jobs` attributes (node paths, as on a real host). */
  readonly attributes: PushJobsAttributes;
  /** The client name (the node name unless given). */
  readonly clientName: string;
  readonly label: string;
  readonly runAs: RunAs;
}

/** The attributes file the converge step writes (`chef-solo -j` shape). */
export function attributesDocument(attributes: PushJobsAttributes): string {
  return `${JSON.stringify({ push_jobs: attributes }, null, 2)}\n`;
}

/** The host path of a node path. */
function host(input: AgentStepsInput, path: string): string {
  return underRoot(input.layout.root, path);
}

/** The client key on the host. */
export function clientKeyHostPath(input: AgentStepsInput): string {
  return host(input, input.attributes.chef.client_key_path);
}

/** The agent's config file on the host. */
export function configHostPath(root: string): string {
  return underRoot(root, CONFIG_PATH);
}

/** The node object's normal attributes: the whitelist (what search and knife show). */
export function nodeNormalAttributes(attributes: PushJobsAttributes): Record<string, unknown> {
  return { push_jobs: { whitelist: attributes.whitelist } };
}

/**
 * Registers the client with the validator (key generated on the host, the validator key on
 * standard input), and writes the node object. Delete removes both and the key.
 */
export function agentClientStep(input: AgentStepsInput): HostCommands {
  const { chef } = input.attributes;
  const vars = `${preamble(input.layout.nodeHome)}
${assignments({
  TOOLS_PREFIX: input.layout.toolsPrefix,
  SERVER_URL: chef.chef_server_url ?? '',
  CLIENT: input.clientName,
  NODE: chef.node_name ?? '',
  KEY_FILE: clientKeyHostPath(input),
})}
export PUSH_JOBS_STEP="$0"
${chef.verify_api_cert ? '' : 'export NODE_TLS_REJECT_UNAUTHORIZED=0 # push_jobs.chef.verify_api_cert is false\n'}`;
  const create = `${vars}${assignments({ NORMAL: JSON.stringify(nodeNormalAttributes(input.attributes)) })}
cd "$TOOLS_PREFIX"
node --input-type=module -e ${shellQuote(REGISTER_CLIENT_JS)} "$SERVER_URL" "$CLIENT" "$NODE" "$KEY_FILE" "$NORMAL"
`;
  const del = `${vars}if [ -d "$TOOLS_PREFIX/node_modules/@push-jobs/protocol" ]; then
  cd "$TOOLS_PREFIX"
  node --input-type=module -e ${shellQuote(UNREGISTER_CLIENT_JS)} "$SERVER_URL" "$CLIENT" "$NODE" "$KEY_FILE"
fi
rm -f "$KEY_FILE"
`;
  return {
    create: bashCommand(create, `${input.label}-client`, input.runAs),
    delete: bashCommand(del, `${input.label}-client-delete`, input.runAs),
  };
}

/** The init system the cookbook is told to use (`--init-system`), if any. */
function cookbookInitSystem(input: AgentStepsInput): string | undefined {
  if (input.init !== 'systemd' || input.attributes.init_style !== null) return undefined;
  return 'systemd';
}

/** The recipes the converge runs: all three, but not `service` when the step starts the agent itself. */
export function convergeRecipes(init: InitSystem): string[] {
  return init === 'none' ? ['install', 'config'] : ['install', 'config', 'service'];
}

/**
 * Writes the attributes file and runs `push-jobs-cookbook apply` (under `--root` unless the
 * root is `/`). Delete stops the service and removes what the converge laid down: the service
 * definition, the agent's install, its config, log and the cookbook's state.
 */
export function agentConvergeStep(input: AgentStepsInput): HostCommands {
  const attrs = input.attributes;
  const init = cookbookInitSystem(input);
  const args = [
    'apply',
    '--attributes',
    '"$ATTRIBUTES_FILE"',
    '--platform-family',
    shellQuote(input.platformFamily),
    '--recipe',
    convergeRecipes(input.init).join(','),
    ...(input.layout.root === '/' ? [] : ['--root', shellQuote(input.layout.root)]),
    ...(init === undefined ? [] : ['--init-system', init]),
  ];
  const header = `${preamble(input.layout.nodeHome)}
${assignments({ COOKBOOK_BIN: input.layout.cookbookBin, ATTRIBUTES_FILE: input.layout.attributesFile })}`;
  const create = `${header}
mkdir -p "$(dirname "$ATTRIBUTES_FILE")"
${heredoc('"$ATTRIBUTES_FILE"', attributesDocument(attrs))}
node "$COOKBOOK_BIN" ${args.join(' ')}
`;

  const name = shellQuote(attrs.service_name);
  const definitions = COOKBOOK_INIT_SYSTEMS.map((s) => host(input, serviceDefinitionPath(attrs, s)));
  const prefix = host(input, attrs.install_prefix);
  const logDir = attrs.logging_dir === null ? undefined : host(input, attrs.logging_dir);
  const realHost = input.layout.root === '/';
  const stopReal = realHost
    ? `# Stop the service, whichever init system runs it.
if [ -f ${shellQuote(definitions[0]!)} ] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now ${name} || true
fi
if [ -x ${shellQuote(definitions[1]!)} ]; then
  ${shellQuote(definitions[1]!)} stop || true
  if command -v update-rc.d >/dev/null 2>&1; then update-rc.d -f ${name} remove || true; fi
  if command -v chkconfig >/dev/null 2>&1; then chkconfig --del ${name} || true; fi
fi
if [ -d /etc/service/${attrs.service_name} ] || [ -L /etc/service/${attrs.service_name} ]; then
  sv down ${name} 2>/dev/null || true
  rm -f /etc/service/${attrs.service_name}
fi
`
    : '';
  const del = `${header}
${stopReal}rm -f ${definitions.map(shellQuote).join(' ')}
rm -rf ${shellQuote(posix.dirname(definitions[2]!))}
${realHost ? 'if command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload || true; fi\n' : ''}# The agent's install (only what the cookbook put in the prefix).
${assignments({ PREFIX: prefix })}
if [ -f "$PREFIX/${INSTALL_STATE_FILE}" ]; then
  rm -rf "$PREFIX/node_modules" "$PREFIX/package.json" "$PREFIX/package-lock.json" "$PREFIX/${INSTALL_STATE_FILE}"
  rmdir "$PREFIX" 2>/dev/null || true
fi
rm -f ${shellQuote(configHostPath(input.layout.root))} "$ATTRIBUTES_FILE"
${logDir === undefined ? '' : `rm -f ${shellQuote(posix.join(logDir, LOG_FILE_NAME))}\nrmdir ${shellQuote(logDir)} 2>/dev/null || true\n`}rm -rf ${shellQuote(host(input, STATE_DIR))}
rmdir ${shellQuote(host(input, attrs.chef.trusted_certs_path))} 2>/dev/null || true
rmdir ${shellQuote(host(input, posix.dirname(CONFIG_PATH)))} 2>/dev/null || true
echo "removed the push jobs agent"
`;
  return {
    create: bashCommand(create, `${input.label}-converge`, input.runAs),
    delete: bashCommand(del, `${input.label}-converge-delete`, input.runAs),
  };
}

/**
 * The agent's command line for init system `none`: the cookbook's service command, with node
 * paths moved under the root, the key given with `-k` and the job file directory with `-d`.
 */
export function agentExecArgs(input: AgentStepsInput): string {
  const argv = agentCommand(input.attributes);
  const moved = argv.map((word, i) =>
    i === 0 || argv[i - 1] === '-L' || argv[i - 1] === '-c' ? host(input, word) : word,
  );
  moved.push('-k', clientKeyHostPath(input));
  moved.push('-d', host(input, input.attributes.file_dir ?? '/tmp/chef-push'));
  return moved.map(shellQuote).join(' ');
}

/** The agent as a background service (init system `none`). */
export function agentService(input: AgentStepsInput): ServiceSpec {
  const attrs = input.attributes;
  const logDir = attrs.logging_dir ?? '/var/log/push-jobs';
  return {
    init: 'none',
    serviceName: attrs.service_name,
    description: 'Chef Push Jobs Client',
    execArgs: agentExecArgs(input),
    unitFile: host(input, serviceDefinitionPath(attrs, 'systemd')),
    pidFile: posix.join(input.layout.runDir, `${attrs.service_name}.pid`),
    logFile: host(
      input,
      posix.join(logDir, attrs.logging_dir === null ? `${attrs.service_name}.log` : LOG_FILE_NAME),
    ),
  };
}

/** The rendered config and service files' hash input: what a restart depends on. */
export function renderedFilesText(input: AgentStepsInput): string {
  const files = renderFiles(input.attributes, {
    platformFamily: input.platformFamily,
    initSystem: input.attributes.init_style ?? 'systemd',
  });
  return JSON.stringify(files);
}

/**
 * Init system `none` only: starts the agent in the background (restarting it when `hash`, of
 * its config and install, changes) and checks that it is still running a second later.
 */
export function agentServiceStep(input: AgentStepsInput, hash: string): HostCommands {
  const spec = agentService(input);
  const env = Object.entries(input.attributes.environment_variables)
    .map(([k, v]) => `export ${k}=${shellQuote(v)}`)
    .join('\n');
  const header = `${preamble(input.layout.nodeHome)}
${assignments(serviceVars(spec))}`;
  const create = `${header}
# config and install sha256 ${hash}
${env}
mkdir -p ${shellQuote(host(input, input.attributes.file_dir ?? '/tmp/chef-push'))}
${startService(spec)}
sleep 1
if ! service_running; then
  echo "$0: the push jobs agent stopped right after starting; last log lines:" >&2
  service_log
  exit 1
fi
echo "push jobs agent running (pid $(cat "$PID_FILE"))"
`;
  const del = `${header}
${removeService(spec)}
rm -rf ${shellQuote(host(input, input.attributes.file_dir ?? '/tmp/chef-push'))}
echo "stopped the push jobs agent"
`;
  return {
    create: bashCommand(create, `${input.label}-service`, input.runAs),
    delete: bashCommand(del, `${input.label}-service-delete`, input.runAs),
  };
}
