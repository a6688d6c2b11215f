/**
 * `PushJobsCluster`: several push-jobs servers ("instances") on one PostgreSQL database, serving
 * one fleet behind a load balancer (cluster mode), and what that load balancer must do.
 *
 * @module
 */
import * as pulumi from '@pulumi/pulumi';
import { after, urlHost } from './common.js';
import type { HostConnection } from './connection.js';
import {
  checkInstanceName,
  checkLeaseSeconds,
  PushJobsServer,
  SERVER_DEFAULTS,
  type PushJobsServerArgs,
  type PushJobsServerEndpoint,
  type ServerStorage,
} from './server.js';
import { argumentError, checkNonEmpty, checkPort, isKnown, validatedInput, type Who } from './validate.js';

/**
 * What the load balancer health-checks on every instance's API port: the server's status
 * resource, which answers 200 with a JSON body while the instance serves.
 */
export const CLUSTER_HEALTH_CHECK_PATH = '/pushy/_status';

/** Server arguments every instance shares unless it gives its own. */
type SharedServerArgs = Omit<PushJobsServerArgs, 'connection' | 'publicAddress' | 'storage' | 'cluster'>;

/** One instance of a {@link PushJobsCluster}: its host, and any server argument of its own. */
export interface PushJobsClusterInstance extends Partial<
  Omit<PushJobsServerArgs, 'connection' | 'org' | 'adminName' | 'validatorName' | 'storage' | 'cluster'>
> {
  /** SSH connection to the instance's host. Required. */
  readonly connection: pulumi.Input<HostConnection>;
  /**
   * The instance's `instance_name` (letters, digits, `.`, `_`, `:`, `-`; at most 64), which also
   * names its resources (`<cluster>-<instanceName>`).
   * @default `<cluster>-<n>`, n counting from 1 (its resources: `<cluster>-<n>`)
   */
  readonly instanceName?: string;
}

/** The arguments of {@link PushJobsCluster}. */
export interface PushJobsClusterArgs extends SharedServerArgs {
  /**
   * The instances, at least one. The first creates the org, admin user and validator in the
   * database (`push-jobs-server init` runs once); the others join it. Instances on one host need
   * their own `root` and ports; on different hosts they may use the same ports.
   */
  readonly instances: readonly PushJobsClusterInstance[];
  /** The shared database: `{ postgresUrl }` (a secret). SQLite cannot be shared. Required. */
  readonly storage: ServerStorage;
  /**
   * The load balancer's URL, `http(s)://host[:port]` (no path): what agents use as their server
   * URL (`chef_server_url` is `<loadBalancerUrl>/organizations/<org>`). Required.
   */
  readonly loadBalancerUrl: pulumi.Input<string>;
  /** `cluster_lease_seconds` of every instance, 3 or more. @default 15 */
  readonly leaseSeconds?: pulumi.Input<number>;
}

/** What a load balancer in front of the instances must do (see {@link loadBalancerRequirements}). */
export interface LoadBalancerSpec {
  /** The cluster's name. */
  readonly cluster: string;
  /** The load balancer's URL (no trailing slash). */
  readonly loadBalancerUrl: string;
  /** The org agents use. */
  readonly org: string;
  /** `http` or `https`: what the instances' API ports speak. */
  readonly backendProtocol: 'http' | 'https';
  /** The health check path. */
  readonly healthCheckPath: string;
  /** Each instance: its name, API backend (`host:port`) and ZeroMQ addresses. */
  readonly instances: readonly {
    readonly instanceName: string;
    readonly apiBackend: string;
    readonly heartbeatAddress: string;
    readonly commandAddress: string;
  }[];
}

/** The plain-text requirements of the load balancer in front of a cluster. */
export function loadBalancerRequirements(spec: LoadBalancerSpec): string {
  const width = Math.max(...spec.instances.map((i) => i.instanceName.length));
  const pad = (s: string): string => s.padEnd(width);
  const n = spec.instances.length;
  return [
    `push-jobs cluster '${spec.cluster}': ${n} instance${n === 1 ? '' : 's'} sharing one PostgreSQL database, behind ${spec.loadBalancerUrl}`,
    '',
    `The load balancer at ${spec.loadBalancerUrl} must:`,
    `- forward (TCP, or HTTP) to the REST API port of every instance; these backends speak ${spec.backendProtocol}:`,
    ...spec.instances.map((i) => `    ${pad(i.instanceName)}  ${i.apiBackend}`),
    '- need no session stickiness: any instance answers any API request',
    '- as an HTTP proxy, pass the method, path, headers and body unchanged (requests are signed over them) and let responses stream (the job feeds are server-sent events)',
    `- health-check each backend with GET ${spec.healthCheckPath} (${spec.backendProtocol}); healthy when it answers 200 (a JSON body), out of rotation otherwise`,
    `- serve agents, knife and the push CLI: their server URL is ${spec.loadBalancerUrl}/organizations/${spec.org}`,
    '',
    'Not through the load balancer: each node connects straight to the instance whose config it',
    "fetched (the config document advertises that instance's server_name and ports), so every",
    'node must reach every instance directly at:',
    ...spec.instances.map(
      (i) => `    ${pad(i.instanceName)}  heartbeat ${i.heartbeatAddress}, command ${i.commandAddress}`,
    ),
    '',
  ].join('\n');
}

/** An instance's values that decide whether it clashes with another. */
interface Placement {
  readonly index: number;
  readonly sshHost: string;
  readonly root: string;
  readonly publicAddress: string;
  readonly ports: Readonly<Record<'apiPort' | 'heartbeatPort' | 'commandPort', number>>;
}

const lower = (s: string): string => s.toLowerCase();

/**
 * Checks that no instance advertises the load balancer's host as its `server_name`: nodes reach
 * each instance's ZeroMQ ports directly.
 *
 * @throws ArgumentError naming the instance.
 */
export function checkNotLoadBalancer(
  who: Who,
  placements: readonly Placement[],
  loadBalancerHost: string,
): void {
  for (const a of placements) {
    if (lower(a.publicAddress) === lower(loadBalancerHost)) {
      throw argumentError(
        who,
        `instances[${a.index}] advertises ${a.publicAddress}, the load balancer's host, as its server_name: nodes reach each instance's heartbeat and command ports directly, not through the load balancer; give instances[${a.index}].publicAddress`,
      );
    }
  }
}

/**
 * Checks that instances do not clash: two on one host need their own root (every server path is
 * under it) and ports; two advertising one address need their own ports.
 *
 * @throws ArgumentError naming the instances and what to change.
 */
export function checkPlacements(who: Who, placements: readonly Placement[]): void {
  for (const [j, b] of placements.entries()) {
    for (const a of placements.slice(0, j)) {
      const sameSsh = lower(a.sshHost) === lower(b.sshHost);
      if (sameSsh && a.root === b.root) {
        throw argumentError(
          who,
          `instances[${a.index}] and instances[${b.index}] are both on ${b.sshHost} under root ${b.root}: give each its own root (every server path is under it) and its own ports`,
        );
      }
      if (!sameSsh && lower(a.publicAddress) !== lower(b.publicAddress)) continue;
      const where = sameSsh ? `both on ${b.sshHost}` : `both at ${b.publicAddress}`;
      for (const [argA, portA] of Object.entries(a.ports)) {
        for (const [argB, portB] of Object.entries(b.ports)) {
          if (portA === portB) {
            throw argumentError(
              who,
              `instances[${a.index}].${argA} and instances[${b.index}].${argB} are both ${portA}, ${where}: instances on one host need their own ports`,
            );
          }
        }
      }
    }
  }
}

/** `http(s)://host[:port]` without a trailing slash. @throws ArgumentError otherwise. */
export function checkLoadBalancerUrl(who: Who, value: unknown): string {
  const fail = (): never => {
    throw argumentError(
      who,
      `loadBalancerUrl must be the load balancer's http(s)://host[:port], without a path, got ${JSON.stringify(value)}`,
    );
  };
  if (typeof value !== 'string') return fail();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail();
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.hostname === '' ||
    url.username !== '' ||
    url.password !== '' ||
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    !/^https?:\/\/[^/?#]+\/?$/iu.test(value)
  ) {
    return fail();
  }
  return value.replace(/\/+$/u, '');
}

/** The host of a URL checked by {@link checkLoadBalancerUrl}, without IPv6 brackets. */
function urlHostname(url: string): string {
  return new URL(url).hostname.replace(/^\[|\]$/gu, '');
}

/**
 * The PushJobsCluster component provisions several push-jobs servers on one PostgreSQL database
 * (cluster mode): one {@link PushJobsServer} per instance (`<name>-<instanceName>`), each with
 * `cluster: true`, its own `instance_name` and the shared `database_url` (a secret). The first
 * instance creates the org, admin user and validator; the others join once it is up.
 *
 * The load balancer is yours: the outputs say what it must do (`apiBackends`,
 * `healthCheckPath`, `loadBalancerRequirements`). Agents use the load balancer
 * (`chefServerUrl`); pass the cluster as an agent's `server`.
 *
 * @example
 * ```ts
 * const cluster = new PushJobsCluster('push', {
 *   storage: { postgresUrl: config.requireSecret('databaseUrl') },
 *   loadBalancerUrl: 'https://push.example.com',
 *   org: 'acme',
 *   instances: [
 *     { connection: { host: '10.0.0.11', user: 'ubuntu', privateKey } },
 *     { connection: { host: '10.0.0.12', user: 'ubuntu', privateKey } },
 *   ],
 * });
 * export const backends = cluster.apiBackends; // ['10.0.0.11:10003', '10.0.0.12:10003']
 * export const lb = cluster.loadBalancerRequirements;
 * ```
 */
export class PushJobsCluster extends pulumi.ComponentResource implements PushJobsServerEndpoint {
  /** The instances, in the order given (the first initialized the database). */
  public readonly instances: readonly PushJobsServer[];
  /** Each instance's `instance_name`, in order. */
  public readonly instanceNames: pulumi.Output<string[]>;
  /** The load balancer's URL (no trailing slash), once every instance is up. */
  public readonly loadBalancerUrl: pulumi.Output<string>;
  /** `<loadBalancerUrl>/organizations/ORG`: what agents, knife and the push CLI use. */
  public readonly chefServerUrl: pulumi.Output<string>;
  /** The load balancer's backends: each instance's API `host:port` (its `publicAddress` and `apiPort`). */
  public readonly apiBackends: pulumi.Output<string[]>;
  /** `http` or `https`: what the backends speak (TLS on the instances or not). */
  public readonly backendProtocol: pulumi.Output<'http' | 'https'>;
  /** The path the load balancer health-checks on each backend (200 when healthy). */
  public readonly healthCheckPath: pulumi.Output<string>;
  /** `tcp://host:port` of each instance's heartbeats: nodes reach them directly. */
  public readonly heartbeatAddresses: pulumi.Output<string[]>;
  /** `tcp://host:port` of each instance's command port: nodes reach them directly. */
  public readonly commandAddresses: pulumi.Output<string[]>;
  /** What the load balancer must do, as plain text. */
  public readonly loadBalancerRequirements: pulumi.Output<string>;
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

  constructor(name: string, args: PushJobsClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    // The args are not recorded as the component's inputs: they may hold keys in plain text.
    super('push-jobs:index:Cluster', name, {}, opts);
    const who: Who = { component: 'PushJobsCluster', name };
    if (args === undefined || args === null) throw argumentError(who, 'args are missing');
    const { instances: list, storage, loadBalancerUrl: lbInput, leaseSeconds: leaseInput, ...shared } = args;
    if (!Array.isArray(list) || list.length === 0) {
      throw argumentError(who, 'instances must be a non-empty list of { connection, instanceName? }');
    }
    const storageKind =
      typeof storage === 'object' && storage !== null
        ? 'postgresUrl' in storage
          ? 'postgres'
          : 'sqlitePath' in storage
            ? 'sqlite'
            : 'other'
        : 'none';
    if (storageKind !== 'postgres') {
      throw argumentError(
        who,
        storageKind === 'sqlite'
          ? 'storage.sqlitePath cannot be shared: cluster mode needs one PostgreSQL database_url for every instance; give storage: { postgresUrl }'
          : `storage ${storageKind === 'none' ? 'is missing' : 'must be { postgresUrl }'}: cluster mode needs one PostgreSQL database_url for every instance; give storage: { postgresUrl }`,
      );
    }
    if (lbInput === undefined || lbInput === null) {
      throw argumentError(
        who,
        "loadBalancerUrl is missing: give the load balancer's http(s)://host[:port] (agents use it as their server URL)",
      );
    }
    const lbUrl = pulumi
      .output(validatedInput(lbInput, (v) => checkLoadBalancerUrl(who, v)))
      .apply((v) => checkLoadBalancerUrl(who, v));
    const leaseSeconds = validatedInput(leaseInput ?? SERVER_DEFAULTS.leaseSeconds, (v) =>
      checkLeaseSeconds(who, 'leaseSeconds', v),
    );

    const names = new Map<string, number>();
    const resourceNames = new Map<string, number>();
    const resolved = list.map((instance, i) => {
      if (typeof instance !== 'object' || instance === null) {
        throw argumentError(who, `instances[${i}] must be { connection, instanceName? }`);
      }
      if (instance.connection === undefined || instance.connection === null) {
        throw argumentError(
          who,
          `instances[${i}].connection is missing: give the SSH connection of its host`,
        );
      }
      const own = instance.instanceName !== undefined;
      const instanceName = checkInstanceName(
        who,
        own
          ? `instances[${i}].instanceName`
          : `the default instanceName of instances[${i}] (${name}-${i + 1})`,
        instance.instanceName ?? `${name}-${i + 1}`,
      );
      const twin = names.get(instanceName);
      if (twin !== undefined) {
        throw argumentError(
          who,
          `instances[${twin}] and instances[${i}] are both named ${instanceName}: each instance_name must be unique`,
        );
      }
      names.set(instanceName, i);
      const resourceName = `${name}-${own ? instanceName : String(i + 1)}`;
      const sameResource = resourceNames.get(resourceName);
      if (sameResource !== undefined) {
        throw argumentError(
          who,
          `instances[${sameResource}] and instances[${i}] would both make the resources ${resourceName}: give ${own ? `instances[${sameResource}]` : `instances[${i}]`} an instanceName of its own`,
        );
      }
      resourceNames.set(resourceName, i);
      const { instanceName: _name, ...serverArgs } = instance;
      const merged: Omit<PushJobsServerArgs, 'storage' | 'cluster'> = { ...shared, ...serverArgs };
      return {
        resourceName,
        instanceName,
        merged,
        tls: merged.tls !== undefined,
      };
    });
    if (resolved.some((r) => r.tls) && !resolved.every((r) => r.tls)) {
      const plain = resolved.findIndex((r) => !r.tls);
      throw argumentError(
        who,
        `instances[${plain}] has no tls while others have: give every instance tls or none (the load balancer checks every backend alike)`,
      );
    }
    const protocol: 'http' | 'https' = resolved[0]!.tls ? 'https' : 'http';

    // Where each instance is, checked for clashes: at once when known, else when it resolves.
    const placementOf = (r: (typeof resolved)[number], i: number) => {
      const connection = pulumi.output(r.merged.connection);
      const sshHost = pulumi.unsecret(
        connection.apply((c) => checkNonEmpty(who, `instances[${i}].connection.host`, c.host)),
      );
      const port = (arg: 'apiPort' | 'heartbeatPort' | 'commandPort'): pulumi.Output<number> =>
        pulumi
          .output(r.merged[arg] ?? SERVER_DEFAULTS[arg])
          .apply((p) => checkPort(who, `instances[${i}].${arg}`, p));
      return pulumi
        .all([
          sshHost,
          r.merged.publicAddress ?? sshHost,
          port('apiPort'),
          port('heartbeatPort'),
          port('commandPort'),
        ])
        .apply(([host, publicAddress, apiPort, heartbeatPort, commandPort]): Placement => ({
          index: i,
          sshHost: host,
          root: r.merged.root ?? '/',
          publicAddress,
          ports: { apiPort, heartbeatPort, commandPort },
        }));
    };
    const knownNow = resolved.every(
      (r) =>
        isKnown(r.merged.connection) &&
        isKnown((r.merged.connection as HostConnection).host) &&
        isKnown(r.merged.publicAddress) &&
        isKnown(r.merged.apiPort) &&
        isKnown(r.merged.heartbeatPort) &&
        isKnown(r.merged.commandPort),
    );
    if (knownNow) {
      const now = resolved.map((r, i): Placement => {
        const c = r.merged.connection as HostConnection;
        return {
          index: i,
          sshHost: c.host as string,
          root: r.merged.root ?? '/',
          publicAddress: (r.merged.publicAddress as string | undefined) ?? (c.host as string),
          ports: {
            apiPort: (r.merged.apiPort as number | undefined) ?? SERVER_DEFAULTS.apiPort,
            heartbeatPort: (r.merged.heartbeatPort as number | undefined) ?? SERVER_DEFAULTS.heartbeatPort,
            commandPort: (r.merged.commandPort as number | undefined) ?? SERVER_DEFAULTS.commandPort,
          },
        };
      });
      checkPlacements(who, now);
      if (isKnown(lbInput)) checkNotLoadBalancer(who, now, urlHostname(checkLoadBalancerUrl(who, lbInput)));
    }
    // The backends do not wait for the load balancer's URL (nor for the instances): a load
    // balancer made in the same program from apiBackends may give that URL.
    const placements = pulumi.all(resolved.map(placementOf)).apply((p) => {
      checkPlacements(who, p);
      return p;
    });
    const checkedLbUrl = pulumi.all([placements, lbUrl]).apply(([p, lb]) => {
      checkNotLoadBalancer(who, p, urlHostname(lb));
      return lb;
    });

    const servers: PushJobsServer[] = [];
    for (const [i, r] of resolved.entries()) {
      const first = servers[0];
      servers.push(
        new PushJobsServer(
          r.resourceName,
          {
            ...r.merged,
            ...(first === undefined
              ? {}
              : { org: undefined, adminName: undefined, validatorName: undefined }),
            // The checked placement: a clash found only now fails the instance's steps.
            publicAddress: placements.apply((p) => p[i]!.publicAddress),
            storage,
            cluster: {
              instanceName: r.instanceName,
              leaseSeconds,
              ...(first === undefined ? {} : { initializedBy: first }),
            },
          },
          { parent: this },
        ),
      );
    }
    this.instances = servers;
    const initializer = servers[0]!;
    const ready = pulumi.all(servers.map((s) => s.apiUrl));

    this.instanceNames = after(
      ready,
      resolved.map((r) => r.instanceName),
    );
    this.loadBalancerUrl = after(ready, checkedLbUrl);
    this.org = initializer.org;
    this.adminName = initializer.adminName;
    this.validatorName = initializer.validatorName;
    this.adminKey = initializer.adminKey;
    this.validatorKey = initializer.validatorKey;
    this.chefServerUrl = pulumi
      .all([this.loadBalancerUrl, this.org])
      .apply(([url, org]) => `${url}/organizations/${org}`);
    this.backendProtocol = pulumi.output(protocol);
    this.healthCheckPath = pulumi.output(CLUSTER_HEALTH_CHECK_PATH);
    this.apiBackends = placements.apply((p) =>
      p.map((x) => `${urlHost(x.publicAddress)}:${x.ports.apiPort}`),
    );
    this.heartbeatAddresses = pulumi.all(servers.map((s) => s.heartbeatAddress));
    this.commandAddresses = pulumi.all(servers.map((s) => s.commandAddress));
    this.loadBalancerRequirements = pulumi
      .all([checkedLbUrl, initializer.org, this.apiBackends, this.heartbeatAddresses, this.commandAddresses])
      .apply(([url, org, backends, heartbeats, commands]) =>
        loadBalancerRequirements({
          cluster: name,
          loadBalancerUrl: url,
          org,
          backendProtocol: protocol,
          healthCheckPath: CLUSTER_HEALTH_CHECK_PATH,
          instances: resolved.map((r, i) => ({
            instanceName: r.instanceName,
            apiBackend: backends[i]!,
            heartbeatAddress: heartbeats[i]!,
            commandAddress: commands[i]!,
          })),
        }),
      );

    this.registerOutputs({
      instanceNames: this.instanceNames,
      loadBalancerUrl: this.loadBalancerUrl,
      chefServerUrl: this.chefServerUrl,
      apiBackends: this.apiBackends,
      backendProtocol: this.backendProtocol,
      healthCheckPath: this.healthCheckPath,
      heartbeatAddresses: this.heartbeatAddresses,
      commandAddresses: this.commandAddresses,
      loadBalancerRequirements: this.loadBalancerRequirements,
      org: this.org,
      adminName: this.adminName,
      adminKey: this.adminKey,
      validatorName: this.validatorName,
      validatorKey: this.validatorKey,
    });
  }
}
