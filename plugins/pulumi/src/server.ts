/**
 * `PushJobsServer`: installs and runs a push-jobs server on a host over SSH, and sets up its
 * org, admin user and validator client.
 *
 * @module
 */
import * as pulumi from '@pulumi/pulumi';
import { SERVER_CONFIG_DEFAULTS, SERVER_LOG_LEVELS, type ServerLogLevel } from '@push-jobs/protocol';
import {
  after,
  hostCommand,
  installResources,
  resolveHostOptions,
  sha256,
  urlHost,
  type HostOptions,
} from './common.js';
import { commandConnection, connectionHost, usesSudo, type HostConnection } from './connection.js';
import { serverLayout } from './host/layout.js';
import {
  filesStdin,
  parseServerKeys,
  serverConfigFiles,
  serverConfigStep,
  serverInitStep,
  serverKeysStep,
  serverPublicKeyStep,
  serverServiceStep,
  type ServerStepsInput,
} from './host/server-steps.js';
import { resolvePackageSource, type PackageSource } from './package-source.js';
import {
  argumentError,
  checkDistinctPorts,
  checkName,
  checkNonEmpty,
  checkPort,
  checkPositiveInteger,
  isKnown,
  validatedInput,
  type Who,
} from './validate.js';

/** Where the server keeps its data: the embedded SQLite database, or PostgreSQL. */
export type ServerStorage =
  | {
      /** SQLite file, relative to the data directory (`/var/lib/push-jobs`) or absolute. */
      readonly sqlitePath: string;
    }
  | {
      /** `postgres://user:password@host:5432/db`. Kept as a Pulumi secret. */
      readonly postgresUrl: pulumi.Input<string>;
    };

/** TLS for the server's HTTP API (PEM text; the files are written on the host). */
export interface ServerTls {
  /** Certificate chain, PEM. */
  readonly certificate: pulumi.Input<string>;
  /** Private key, PEM. Kept as a Pulumi secret. */
  readonly privateKey: pulumi.Input<string>;
}

/** The server's log levels. */
export type { ServerLogLevel };

/**
 * Cluster mode of one server: it is an instance of a cluster, several servers that share one
 * PostgreSQL database and serve one fleet behind a load balancer ({@link PushJobsCluster} makes
 * the whole set).
 */
export interface ServerClusterOptions {
  /**
   * This instance's name (`instance_name`): letters, digits, `.`, `_`, `:`, `-` (starting with a
   * letter or digit), at most 64; unique among the live instances.
   * @default the server's own: its host name and API port
   */
  readonly instanceName?: pulumi.Input<string>;
  /** How long an instance's lease lasts without renewal (`cluster_lease_seconds`), 3 or more. @default 15 */
  readonly leaseSeconds?: pulumi.Input<number>;
  /**
   * The instance that created the org, admin user and validator in the shared database
   * (`push-jobs-server init` runs once per database). Absent: this instance does it. Given: this
   * instance starts after that one is up, checks the org is in its database, and takes the org,
   * admin and validator (names and keys) from it; deleting it leaves the org in the database.
   */
  readonly initializedBy?: PushJobsServer;
}

/** The arguments of {@link PushJobsServer}. */
export interface PushJobsServerArgs extends HostOptions {
  /** SSH connection to the host to install the server on. Required. */
  readonly connection: pulumi.Input<HostConnection>;
  /** The organization to create. @default 'push' */
  readonly org?: pulumi.Input<string>;
  /** The admin user to create. @default 'admin' */
  readonly adminName?: pulumi.Input<string>;
  /** The validator client to create (agents register with it). @default '<org>-validator' */
  readonly validatorName?: pulumi.Input<string>;
  /**
   * The host name or address agents use to reach the server (its `server_name`).
   * @default connection.host
   */
  readonly publicAddress?: pulumi.Input<string>;
  /** HTTP API port (`api_port`). @default 10003 */
  readonly apiPort?: pulumi.Input<number>;
  /** ZeroMQ PUB port of the server heartbeats (`server_heartbeat_port`). @default 10000 */
  readonly heartbeatPort?: pulumi.Input<number>;
  /** ZeroMQ ROUTER port for commands (`command_port`). @default 10002 */
  readonly commandPort?: pulumi.Input<number>;
  /** Milliseconds between heartbeats (`heartbeat_interval`). @default 1000 */
  readonly heartbeatInterval?: pulumi.Input<number>;
  /** Storage. @default { sqlitePath: 'push-jobs.sqlite' } */
  readonly storage?: ServerStorage;
  /** HTTPS on the API port. @default plain HTTP */
  readonly tls?: ServerTls;
  /** The server's log level. @default 'info' */
  readonly logLevel?: pulumi.Input<ServerLogLevel>;
  /** Where `@push-jobs/server` comes from. @default the registry, at this package's version */
  readonly packageSource?: PackageSource;
  /** systemd unit name. @default 'push-jobs-server' */
  readonly serviceName?: string;
  /**
   * Run as an instance of a cluster (`cluster: true`): needs `storage.postgresUrl`.
   * @default a single server
   */
  readonly cluster?: ServerClusterOptions;
}

/** Defaults of {@link PushJobsServerArgs}. */
export const SERVER_DEFAULTS = Object.freeze({
  org: 'push',
  adminName: 'admin',
  apiPort: SERVER_CONFIG_DEFAULTS.api_port,
  heartbeatPort: SERVER_CONFIG_DEFAULTS.server_heartbeat_port,
  commandPort: SERVER_CONFIG_DEFAULTS.command_port,
  heartbeatInterval: SERVER_CONFIG_DEFAULTS.heartbeat_interval,
  sqlitePath: SERVER_CONFIG_DEFAULTS.database_url,
  logLevel: SERVER_CONFIG_DEFAULTS.log_level,
  serviceName: 'push-jobs-server',
  leaseSeconds: SERVER_CONFIG_DEFAULTS.cluster_lease_seconds,
});

/** `instance_name`: the server's pattern and length. */
export const INSTANCE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/u;
/** The longest `instance_name`. */
export const INSTANCE_NAME_MAX_LENGTH = 64;
/** The shortest `cluster_lease_seconds`. */
export const MIN_LEASE_SECONDS = 3;

/** @throws ArgumentError unless `value` is a valid `instance_name`. */
export function checkInstanceName(who: Who, arg: string, value: unknown): string {
  if (
    typeof value !== 'string' ||
    value.length > INSTANCE_NAME_MAX_LENGTH ||
    !INSTANCE_NAME_PATTERN.test(value)
  ) {
    throw argumentError(
      who,
      `${arg} must be 1 to ${INSTANCE_NAME_MAX_LENGTH} letters, digits, '.', '_', ':' or '-', starting with a letter or digit (instance_name), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** @throws ArgumentError unless `value` is a whole number of seconds, 3 or more. */
export function checkLeaseSeconds(who: Who, arg: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < MIN_LEASE_SECONDS) {
    throw argumentError(
      who,
      `${arg} must be an integer of ${MIN_LEASE_SECONDS} or more (cluster_lease_seconds), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** Packages of other hosts, left out of a shared tarball list. */
const OTHER_PACKAGES = ['@push-jobs/agent', '@push-jobs/cookbook', '@push-jobs/cli'];

const LOG_LEVELS: readonly string[] = SERVER_LOG_LEVELS;

/** The server endpoint and validator an agent registers with. {@link PushJobsServer} is one. */
export interface PushJobsServerEndpoint {
  /** `https://host:port/organizations/ORG`: the agents' `chef_server_url`. */
  readonly chefServerUrl: pulumi.Input<string>;
  /** The validator client's name. */
  readonly validatorName: pulumi.Input<string>;
  /** The validator client's private key (PEM). */
  readonly validatorKey: pulumi.Input<string>;
}

/**
 * The PushJobsServer component installs a push-jobs server on a host over SSH: Node.js, the
 * `@push-jobs/server` package, its config file and a systemd unit (or a background process);
 * it starts the server, waits until `/pushy/_status` answers, and creates the org, an admin
 * user and a validator client. Deleting it stops the server and removes what it installed,
 * data included.
 *
 * @example
 * ```ts
 * const server = new PushJobsServer('push', {
 *   connection: { host: '10.0.0.5', user: 'ubuntu', privateKey: sshKey },
 *   org: 'acme',
 * });
 * export const adminKey = server.adminKey; // a secret
 * ```
 */
export class PushJobsServer extends pulumi.ComponentResource implements PushJobsServerEndpoint {
  /** `http(s)://host:apiPort`, once the server answers. */
  public readonly apiUrl: pulumi.Output<string>;
  /** `http(s)://host:apiPort/organizations/ORG`: what agents and knife use. */
  public readonly chefServerUrl: pulumi.Output<string>;
  /** `tcp://host:commandPort`. */
  public readonly commandAddress: pulumi.Output<string>;
  /** `tcp://host:heartbeatPort`. */
  public readonly heartbeatAddress: pulumi.Output<string>;
  /** The server's public key (PEM), which signs its heartbeats. */
  public readonly serverPublicKey: pulumi.Output<string>;
  /** The org name. */
  public readonly org: pulumi.Output<string>;
  /** The admin user's name. */
  public readonly adminName: pulumi.Output<string>;
  /** The admin user's private key (PEM). Secret. */
  public readonly adminKey: pulumi.Output<string>;
  /** The validator client's name. */
  public readonly validatorName: pulumi.Output<string>;
  /** The validator client's private key (PEM). Secret. */
  public readonly validatorKey: pulumi.Output<string>;
  /** The `instance_name` in cluster mode (null: the server's default); undefined for a single server. */
  public readonly instanceName: pulumi.Output<string | null> | undefined;
  /** The host steps, in order (for inspection). */
  public readonly steps: readonly pulumi.CustomResource[];
  /** The step that starts the server and waits for it (other instances of a cluster wait for it). */
  private readonly serviceStep: pulumi.CustomResource;
  /** The component's name, in the host scripts' messages. */
  private readonly label: string;

  constructor(name: string, args: PushJobsServerArgs, opts?: pulumi.ComponentResourceOptions) {
    // The args are not recorded as the component's inputs: they may hold keys in plain text.
    super('push-jobs:index:Server', name, {}, opts);
    const who: Who = { component: 'PushJobsServer', name };
    if (args === undefined || args === null) throw argumentError(who, 'args are missing');

    const host = resolveHostOptions(who, args);
    const connection = commandConnection(who, args.connection);
    const sudo = usesSudo(connection, host.sudo);
    const serviceName = checkName(who, 'serviceName', args.serviceName ?? SERVER_DEFAULTS.serviceName);
    const layout = serverLayout(host.root, serviceName);
    const source = resolvePackageSource(who, args.packageSource, ['@push-jobs/server'], OTHER_PACKAGES);

    const cluster = checkCluster(who, args.cluster);
    const initializer = cluster?.initializedBy;
    if (initializer !== undefined) {
      for (const arg of ['org', 'adminName', 'validatorName'] as const) {
        if (args[arg] !== undefined) {
          throw argumentError(
            who,
            `${arg} comes from cluster.initializedBy (the instance that initialized the database); leave it out`,
          );
        }
      }
    }
    const org =
      initializer?.org ?? validatedInput(args.org ?? SERVER_DEFAULTS.org, (v) => checkName(who, 'org', v));
    const admin =
      initializer?.adminName ??
      validatedInput(args.adminName ?? SERVER_DEFAULTS.adminName, (v) => checkName(who, 'adminName', v));
    const validator =
      initializer?.validatorName ??
      validatedInput(args.validatorName ?? pulumi.output(org).apply((o) => `${o}-validator`), (v) =>
        checkName(who, 'validatorName', v),
      );
    const port = (
      arg: string,
      value: pulumi.Input<number> | undefined,
      fallback: number,
    ): pulumi.Input<number> => validatedInput(value ?? fallback, (v) => checkPort(who, arg, v));
    const ports = {
      apiPort: port('apiPort', args.apiPort, SERVER_DEFAULTS.apiPort),
      heartbeatPort: port('heartbeatPort', args.heartbeatPort, SERVER_DEFAULTS.heartbeatPort),
      commandPort: port('commandPort', args.commandPort, SERVER_DEFAULTS.commandPort),
    };
    if (Object.values(ports).every((p) => isKnown(p)))
      checkDistinctPorts(who, ports as Record<string, number>);
    const heartbeatInterval = validatedInput(
      args.heartbeatInterval ?? SERVER_DEFAULTS.heartbeatInterval,
      (v) => checkPositiveInteger(who, 'heartbeatInterval', v),
    );
    const logLevel = validatedInput(args.logLevel ?? SERVER_DEFAULTS.logLevel, (v) => {
      if (!LOG_LEVELS.includes(v))
        throw argumentError(who, `logLevel must be one of ${LOG_LEVELS.join(', ')}`);
    });
    const databaseUrl = storageUrl(who, args.storage, host.root);
    if (cluster !== undefined && !isPostgresStorage(args.storage)) {
      throw argumentError(
        who,
        `cluster needs storage.postgresUrl: the instances of a cluster share one PostgreSQL database (database_url postgres://...); the server refuses cluster mode on SQLite (storage.sqlitePath${args.storage === undefined ? ', the default' : ''})`,
      );
    }
    const tls = args.tls === undefined ? undefined : checkTls(who, args.tls);
    const publicAddress = pulumi.output(
      args.publicAddress === undefined
        ? connectionHost(connection)
        : validatedInput(args.publicAddress, (v) => checkNonEmpty(who, 'publicAddress', v)),
    );

    const input: pulumi.Output<ServerStepsInput> = pulumi
      .all([sudo, publicAddress, ports.apiPort, ports.heartbeatPort, ports.commandPort, heartbeatInterval])
      .apply(([sudo, serverName, apiPort, heartbeatPort, commandPort, interval]) => {
        checkDistinctPorts(who, { apiPort, heartbeatPort, commandPort });
        return { sudo, serverName, apiPort, heartbeatPort, commandPort, interval };
      })
      .apply((p) =>
        pulumi
          .all([
            org,
            admin,
            validator,
            logLevel,
            pulumi.unsecret(databaseUrl),
            cluster?.instanceName ?? null,
            cluster?.leaseSeconds ?? SERVER_DEFAULTS.leaseSeconds,
          ])
          .apply(([org, admin, validator, logLevel, url, instanceName, leaseSeconds]): ServerStepsInput => ({
            layout,
            init: host.initSystem,
            serviceName,
            serverName: p.serverName,
            apiPort: p.apiPort,
            heartbeatPort: p.heartbeatPort,
            commandPort: p.commandPort,
            heartbeatInterval: p.interval,
            // The URL itself goes in the config file only (on standard input); the scripts
            // need to know whether it is PostgreSQL.
            databaseUrl: /^postgres(?:ql)?:\/\//iu.test(url) ? 'postgres://' : url,
            tls: tls !== undefined,
            logLevel,
            ...(cluster === undefined
              ? {}
              : {
                  cluster: {
                    instanceName,
                    leaseSeconds,
                    initializedBy: initializer === undefined ? null : initializer.label,
                  },
                }),
            org,
            admin,
            validator,
            label: name,
            runAs: { sudo: p.sudo },
          })),
      );

    const { node, copies, install } = installResources({
      name,
      parent: this,
      connection,
      sudo,
      host,
      nodeHome: layout.nodeHome,
      prefix: layout.prefix,
      cacheDir: layout.cacheDir,
      source,
    });

    const files = pulumi
      .all([input, databaseUrl, tls?.certificate ?? '', tls?.privateKey ?? ''])
      .apply(([i, url, certificate, privateKey]) =>
        filesStdin(
          serverConfigFiles(
            { ...i, databaseUrl: url },
            tls === undefined ? undefined : { certificate, privateKey },
          ),
        ),
      );
    const configHash = pulumi.unsecret(files.apply(sha256));

    const config = hostCommand(
      `${name}-config`,
      { connection, commands: input.apply(serverConfigStep), stdin: files },
      this,
      [install],
    );
    // A joining instance of a cluster starts once the instance that initialized the database is up.
    const init = hostCommand(`${name}-init`, { connection, commands: input.apply(serverInitStep) }, this, [
      config,
      ...(initializer === undefined ? [] : [initializer.serviceStep]),
    ]);
    const service = hostCommand(
      `${name}-service`,
      {
        connection,
        commands: pulumi.all([input, configHash]).apply(([i, hash]) => serverServiceStep(i, hash)),
      },
      this,
      [init],
    );
    // The admin and validator keys are on the host that ran init: a joining instance has none.
    const keys =
      initializer === undefined
        ? hostCommand(
            `${name}-keys`,
            { connection, commands: input.apply(serverKeysStep) },
            this,
            [service],
            {
              additionalSecretOutputs: ['stdout'],
            },
          )
        : undefined;
    const publicKey = hostCommand(
      `${name}-public-key`,
      { connection, commands: input.apply(serverPublicKeyStep) },
      this,
      [service],
    );
    this.steps = [
      node,
      ...copies,
      install,
      config,
      init,
      service,
      ...(keys === undefined ? [] : [keys]),
      publicKey,
    ];
    this.serviceStep = service;
    this.label = name;

    const ready = service.stdout;
    const scheme = tls === undefined ? 'http' : 'https';
    const apiPort = pulumi.output(ports.apiPort);
    this.apiUrl = after(
      ready,
      pulumi.all([publicAddress, apiPort]).apply(([h, p]) => `${scheme}://${urlHost(h)}:${p}`),
    );
    this.org = after(ready, org);
    this.chefServerUrl = pulumi.all([this.apiUrl, this.org]).apply(([u, o]) => `${u}/organizations/${o}`);
    const tcp = (p: pulumi.Input<number>): pulumi.Output<string> =>
      after(
        ready,
        pulumi.all([publicAddress, p]).apply(([h, port]) => `tcp://${urlHost(h)}:${port}`),
      );
    this.commandAddress = tcp(ports.commandPort);
    this.heartbeatAddress = tcp(ports.heartbeatPort);
    this.serverPublicKey = publicKey.stdout;
    this.adminName = after(ready, admin);
    this.validatorName = after(ready, validator);
    if (keys === undefined) {
      this.adminKey = pulumi.secret(after(ready, initializer!.adminKey));
      this.validatorKey = pulumi.secret(after(ready, initializer!.validatorKey));
    } else {
      const parsed = pulumi.secret(keys.stdout).apply(parseServerKeys);
      this.adminKey = pulumi.secret(parsed.apply((k) => k.adminKey));
      this.validatorKey = pulumi.secret(parsed.apply((k) => k.validatorKey));
    }
    this.instanceName =
      cluster === undefined ? undefined : after(ready, pulumi.output(cluster.instanceName ?? null));

    this.registerOutputs({
      apiUrl: this.apiUrl,
      chefServerUrl: this.chefServerUrl,
      commandAddress: this.commandAddress,
      heartbeatAddress: this.heartbeatAddress,
      serverPublicKey: this.serverPublicKey,
      org: this.org,
      adminName: this.adminName,
      adminKey: this.adminKey,
      validatorName: this.validatorName,
      validatorKey: this.validatorKey,
      ...(this.instanceName === undefined ? {} : { instanceName: this.instanceName }),
    });
  }
}

/** Cluster options, checked (what is known now at once, the rest when it resolves). */
function checkCluster(who: Who, cluster: ServerClusterOptions | undefined): ServerClusterOptions | undefined {
  if (cluster === undefined) return undefined;
  if (typeof cluster !== 'object' || cluster === null) {
    throw argumentError(who, 'cluster must be { instanceName?, leaseSeconds?, initializedBy? }');
  }
  if (cluster.initializedBy !== undefined && !(cluster.initializedBy instanceof PushJobsServer)) {
    throw argumentError(who, 'cluster.initializedBy must be a PushJobsServer (the instance that ran init)');
  }
  return {
    ...(cluster.instanceName === undefined || cluster.instanceName === null
      ? {}
      : {
          instanceName: validatedInput(cluster.instanceName, (v) =>
            checkInstanceName(who, 'cluster.instanceName', v),
          ),
        }),
    ...(cluster.leaseSeconds === undefined
      ? {}
      : {
          leaseSeconds: validatedInput(cluster.leaseSeconds, (v) =>
            checkLeaseSeconds(who, 'cluster.leaseSeconds', v),
          ),
        }),
    ...(cluster.initializedBy === undefined ? {} : { initializedBy: cluster.initializedBy }),
  };
}

/** Whether `storage` is PostgreSQL. */
function isPostgresStorage(storage: ServerStorage | undefined): boolean {
  return (
    typeof storage === 'object' && storage !== null && 'postgresUrl' in storage && !('sqlitePath' in storage)
  );
}

/** The `database_url`: a SQLite path (absolute ones under the host root) or a secret PostgreSQL URL. */
function storageUrl(who: Who, storage: ServerStorage | undefined, root: string): pulumi.Output<string> {
  if (storage === undefined) return pulumi.output(SERVER_DEFAULTS.sqlitePath);
  if (typeof storage !== 'object' || storage === null) {
    throw argumentError(who, 'storage must be { sqlitePath } or { postgresUrl }');
  }
  const hasSqlite = 'sqlitePath' in storage;
  const hasPostgres = 'postgresUrl' in storage;
  if (hasSqlite === hasPostgres) {
    throw argumentError(who, 'storage must have exactly one of sqlitePath and postgresUrl');
  }
  if ('sqlitePath' in storage) {
    const path = checkNonEmpty(who, 'storage.sqlitePath', storage.sqlitePath);
    if (/^postgres(?:ql)?:/iu.test(path)) {
      throw argumentError(who, 'storage.sqlitePath is a PostgreSQL URL; give it as storage.postgresUrl');
    }
    return pulumi.output(path.startsWith('/') ? `${root.replace(/\/+$/, '')}${path}` : path);
  }
  const url = validatedInput(storage.postgresUrl, (u) => {
    if (typeof u !== 'string' || !/^postgres(?:ql)?:\/\/\S+$/iu.test(u)) {
      throw argumentError(who, 'storage.postgresUrl must be a postgres:// or postgresql:// URL');
    }
  });
  return pulumi.secret(url);
}

function checkTls(who: Who, tls: ServerTls): ServerTls {
  if (typeof tls !== 'object' || tls === null)
    throw argumentError(who, 'tls must be { certificate, privateKey }');
  if (tls.certificate === undefined || tls.privateKey === undefined) {
    throw argumentError(who, 'tls needs both certificate and privateKey (PEM text)');
  }
  const pem = (arg: string) => (v: string) => {
    if (typeof v !== 'string' || !v.includes('-----BEGIN '))
      throw argumentError(who, `${arg} must be PEM text`);
  };
  return {
    certificate: validatedInput(tls.certificate, pem('tls.certificate')),
    privateKey: pulumi.secret(validatedInput(tls.privateKey, pem('tls.privateKey'))),
  };
}
