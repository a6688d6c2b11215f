/**
 * The host steps of the push-jobs server after Node.js and the package are installed: config,
 * `push-jobs-server init`, the service (started and waited for), and reading the keys back.
 * Pure functions of resolved values, so they are unit-tested and replayed by the real test.
 *
 * @module
 */
import { posix } from 'node:path';
import { isPostgresUrl, type ServerConfig, type ServerLogLevel } from '@push-jobs/protocol';
import type { InitSystem, ServerLayout } from './layout.js';
import { removeService, serviceVars, startService, type ServiceSpec } from './service.js';
import {
  assignments,
  bashCommand,
  preamble,
  PROBE_JS,
  shellQuote,
  WRITE_FILES_JS,
  type RunAs,
} from './shell.js';
import type { HostCommands } from './types.js';

/** The server settings the component sets: keys of the server's config file. */
export type ServerConfigFile = Pick<
  ServerConfig,
  | 'server_name'
  | 'api_port'
  | 'server_heartbeat_port'
  | 'command_port'
  | 'heartbeat_interval'
  | 'data_dir'
  | 'database_url'
  | 'tls_cert'
  | 'tls_key'
  | 'log_level'
> &
  Partial<Pick<ServerConfig, 'cluster' | 'instance_name' | 'cluster_lease_seconds'>>;

/** A file the config step writes (it travels on standard input, as it may hold secrets). */
export interface HostFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

/** Cluster mode settings of one instance. */
export interface ServerClusterInput {
  /** `instance_name`; null: the server's default (host name and API port). */
  readonly instanceName: string | null;
  /** `cluster_lease_seconds`. */
  readonly leaseSeconds: number;
  /**
   * The label of the instance that ran `push-jobs-server init` against the shared database, when
   * it is another one: this instance joins (its init step only checks that the org is there, and
   * its delete leaves the org alone). Null: this instance initializes the database.
   */
  readonly initializedBy: string | null;
}

/** Resolved server settings. */
export interface ServerStepsInput {
  readonly layout: ServerLayout;
  readonly init: InitSystem;
  readonly serviceName: string;
  /** What agents connect to: the host name or address advertised in the config document. */
  readonly serverName: string;
  readonly apiPort: number;
  readonly heartbeatPort: number;
  readonly commandPort: number;
  /** Milliseconds. */
  readonly heartbeatInterval: number;
  /** SQLite path (relative to the data dir, or absolute on the host) or a PostgreSQL URL. */
  readonly databaseUrl: string;
  readonly tls: boolean;
  readonly logLevel: ServerLogLevel;
  /** Cluster mode (several instances on one PostgreSQL database); absent: a single server. */
  readonly cluster?: ServerClusterInput;
  readonly org: string;
  readonly admin: string;
  readonly validator: string;
  /** Prefix of the step labels (the component name). */
  readonly label: string;
  readonly runAs: RunAs;
}

/** The TLS file paths on the host. */
export function tlsPaths(layout: ServerLayout): { cert: string; key: string } {
  return { cert: posix.join(layout.tlsDir, 'server.crt'), key: posix.join(layout.tlsDir, 'server.key') };
}

/** The server's config file. */
export function serverConfigFile(input: ServerStepsInput): ServerConfigFile {
  const tls = tlsPaths(input.layout);
  return {
    server_name: input.serverName,
    api_port: input.apiPort,
    server_heartbeat_port: input.heartbeatPort,
    command_port: input.commandPort,
    heartbeat_interval: input.heartbeatInterval,
    data_dir: input.layout.dataDir,
    database_url: input.databaseUrl,
    tls_cert: input.tls ? tls.cert : null,
    tls_key: input.tls ? tls.key : null,
    log_level: input.logLevel,
    ...(input.cluster === undefined
      ? {}
      : {
          cluster: true,
          instance_name: input.cluster.instanceName,
          cluster_lease_seconds: input.cluster.leaseSeconds,
        }),
  };
}

/** The files of the config step: the config (mode 0600: it may hold a database password) and TLS. */
export function serverConfigFiles(
  input: ServerStepsInput,
  tls: { certificate: string; privateKey: string } | undefined,
): HostFile[] {
  const files: HostFile[] = [
    {
      path: input.layout.configFile,
      content: `${JSON.stringify(serverConfigFile(input), null, 2)}\n`,
      mode: 0o600,
    },
  ];
  if (tls !== undefined) {
    const paths = tlsPaths(input.layout);
    files.push({ path: paths.cert, content: tls.certificate, mode: 0o644 });
    files.push({ path: paths.key, content: tls.privateKey, mode: 0o600 });
  }
  return files;
}

/** Standard input of the config step. */
export function filesStdin(files: readonly HostFile[]): string {
  return JSON.stringify({ files });
}

function header(input: ServerStepsInput): string {
  return `${preamble(input.layout.nodeHome)}
${assignments({
  SERVER_BIN: input.layout.serverBin,
  CONFIG_FILE: input.layout.configFile,
  DATA_DIR: input.layout.dataDir,
})}`;
}

/** Writes the config file (and TLS files) from standard input. */
export function serverConfigStep(input: ServerStepsInput): HostCommands {
  const create = `${header(input)}
mkdir -p "$DATA_DIR" "$(dirname "$CONFIG_FILE")"
chmod 700 "$DATA_DIR"
node -e ${shellQuote(WRITE_FILES_JS)}
echo "wrote $CONFIG_FILE"
`;
  const del = `${header(input)}
${assignments({ TLS_DIR: input.layout.tlsDir })}
rm -f "$CONFIG_FILE"
rm -rf "$TLS_DIR"
rmdir "$(dirname "$CONFIG_FILE")" 2>/dev/null || true
echo "removed $CONFIG_FILE"
`;
  return {
    create: bashCommand(create, `${input.label}-config`, input.runAs),
    delete: bashCommand(del, `${input.label}-config-delete`, input.runAs),
  };
}

/**
 * `push-jobs-server init` (database, org, admin user, validator client), once: skipped when
 * both key files exist. Delete removes the data directory (and, on PostgreSQL, the org and the
 * admin user).
 */
export function serverInitStep(input: ServerStepsInput): HostCommands {
  if (input.cluster?.initializedBy != null) return serverJoinStep(input, input.cluster.initializedBy);
  const names = assignments({ ORG: input.org, ADMIN: input.admin, VALIDATOR: input.validator });
  const create = `${header(input)}
${names}
if [ -f "$DATA_DIR/keys/$ADMIN.pem" ] && [ -f "$DATA_DIR/keys/$VALIDATOR.pem" ]; then
  echo "org $ORG is already set up (keys in $DATA_DIR/keys)"
else
  node "$SERVER_BIN" init --config "$CONFIG_FILE" --org "$ORG" --admin "$ADMIN" --validator "$VALIDATOR" --json
fi
`;
  const postgres = isPostgresUrl(input.databaseUrl)
    ? `if [ -f "$SERVER_BIN" ] && [ -f "$CONFIG_FILE" ]; then
  node "$SERVER_BIN" org delete "$ORG" --config "$CONFIG_FILE" --yes || true
  node "$SERVER_BIN" user delete "$ADMIN" --config "$CONFIG_FILE" --yes || true
fi
`
    : '';
  const del = `${header(input)}
${names}
${postgres}rm -rf "$DATA_DIR"
echo "removed $DATA_DIR"
`;
  return {
    create: bashCommand(create, `${input.label}-init`, input.runAs),
    delete: bashCommand(del, `${input.label}-init-delete`, input.runAs),
  };
}

/**
 * The init step of a cluster instance that joins a database another instance initialized:
 * `push-jobs-server init` runs once per database, so this one only checks that the org is in
 * the database its config names (the same one, or the instances would not share anything).
 * Delete removes this instance's data directory (its server key) and leaves the org alone: the
 * other instances still serve it.
 */
function serverJoinStep(input: ServerStepsInput, initializedBy: string): HostCommands {
  const names = assignments({ ORG: input.org, INITIALIZED_BY: initializedBy });
  const create = `${header(input)}
${names}
mkdir -p "$DATA_DIR"
chmod 700 "$DATA_DIR"
if ! orgs="$(node "$SERVER_BIN" org list --config "$CONFIG_FILE")"; then
  echo "$0: cannot list the orgs of the database in $CONFIG_FILE (database_url)" >&2
  exit 1
fi
if ! printf '%s\n' "$orgs" | grep -qxF "$ORG"; then
  echo "$0: org $ORG is not in the database in $CONFIG_FILE (database_url); the instances of a cluster share the database $INITIALIZED_BY initialized" >&2
  exit 1
fi
echo "joins the cluster: org $ORG is in the shared database (initialized by $INITIALIZED_BY)"
`;
  const del = `${header(input)}
rm -rf "$DATA_DIR"
echo "removed $DATA_DIR (the org stays in the shared database)"
`;
  return {
    create: bashCommand(create, `${input.label}-init`, input.runAs),
    delete: bashCommand(del, `${input.label}-init-delete`, input.runAs),
  };
}

/** The service description of the server. */
export function serverService(input: ServerStepsInput): ServiceSpec {
  return {
    init: input.init,
    serviceName: input.serviceName,
    description: 'Chef Push Jobs Server',
    execArgs: `${shellQuote(input.layout.serverBin)} start --config ${shellQuote(input.layout.configFile)}`,
    unitFile: input.layout.unitFile,
    pidFile: input.layout.pidFile,
    logFile: input.layout.logFile,
  };
}

/** The status URL the service step waits for (on the loopback address). */
export function localStatusUrl(input: Pick<ServerStepsInput, 'tls' | 'apiPort'>): string {
  return `${input.tls ? 'https' : 'http'}://127.0.0.1:${input.apiPort}/pushy/_status`;
}

/** Seconds the service step waits for `/pushy/_status`. */
export const STATUS_WAIT_SECONDS = 120;

/**
 * Installs and (re)starts the service, then waits until `/pushy/_status` answers.
 * `configHash` goes into the script, so a changed config restarts the server.
 */
export function serverServiceStep(input: ServerStepsInput, configHash: string): HostCommands {
  const spec = serverService(input);
  const vars = assignments({ ...serviceVars(spec), STATUS_URL: localStatusUrl(input) });
  const create = `${header(input)}
${vars}
# config sha256 ${configHash}
${startService(spec)}
ok=
for _ in $(seq 1 ${STATUS_WAIT_SECONDS * 4}); do
  if node -e ${shellQuote(PROBE_JS)} "$STATUS_URL"; then ok=1; break; fi
  if ! service_running; then
    echo "$0: ${spec.serviceName} stopped before $STATUS_URL answered; last log lines:" >&2
    service_log
    exit 1
  fi
  sleep 0.25
done
if [ -z "$ok" ]; then
  echo "$0: $STATUS_URL did not answer within ${STATUS_WAIT_SECONDS} s; last log lines:" >&2
  service_log
  exit 1
fi
echo "${spec.serviceName} answers at $STATUS_URL"
`;
  const del = `${header(input)}
${vars}
${removeService(spec)}
echo "stopped and removed ${spec.serviceName}"
`;
  return {
    create: bashCommand(create, `${input.label}-service`, input.runAs),
    delete: bashCommand(del, `${input.label}-service-delete`, input.runAs),
  };
}

/** Node.js that prints `{ "admin_key", "validator_key" }` read from the two key files. */
const READ_KEYS_JS = [
  "const fs = require('fs');",
  'const [admin, validator] = process.argv.slice(1);',
  "process.stdout.write(JSON.stringify({ admin_key: fs.readFileSync(admin, 'utf8'), validator_key: fs.readFileSync(validator, 'utf8') }));",
].join('\n');

/** Node.js that prints the public half (SPKI PEM) of the private key file in argv[1]. */
const PUBLIC_KEY_JS = [
  "const crypto = require('crypto'), fs = require('fs');",
  "process.stdout.write(crypto.createPublicKey(fs.readFileSync(process.argv[1])).export({ type: 'spki', format: 'pem' }));",
].join('\n');

/** Prints the admin and validator private keys as JSON (the resource's stdout is secret). */
export function serverKeysStep(input: ServerStepsInput): HostCommands {
  const create = `${header(input)}
${assignments({ ADMIN: input.admin, VALIDATOR: input.validator })}
node -e ${shellQuote(READ_KEYS_JS)} "$DATA_DIR/keys/$ADMIN.pem" "$DATA_DIR/keys/$VALIDATOR.pem"
`;
  return { create: bashCommand(create, `${input.label}-keys`, input.runAs) };
}

/** Prints the server's public key (created at its first start). */
export function serverPublicKeyStep(input: ServerStepsInput): HostCommands {
  const create = `${header(input)}
node -e ${shellQuote(PUBLIC_KEY_JS)} "$DATA_DIR/keys/server.pem"
`;
  return { create: bashCommand(create, `${input.label}-public-key`, input.runAs) };
}

/** The keys printed by {@link serverKeysStep}. */
export interface ServerKeys {
  adminKey: string;
  validatorKey: string;
}

/** Parses the output of {@link serverKeysStep}. @throws Error when it is not that JSON. */
export function parseServerKeys(stdout: string): ServerKeys {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw new Error('the keys step printed something other than JSON; run it again (pulumi up --refresh)');
  }
  const d = doc as { admin_key?: unknown; validator_key?: unknown };
  if (typeof d.admin_key !== 'string' || typeof d.validator_key !== 'string') {
    throw new Error('the keys step printed JSON without admin_key and validator_key');
  }
  return { adminKey: d.admin_key, validatorKey: d.validator_key };
}
