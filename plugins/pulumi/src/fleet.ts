/**
 * `PushJobsFleet`: one push-jobs server (or a cluster of them) and an agent on each host of a
 * list, sharing a whitelist and attributes, with per-host overrides.
 *
 * @module
 */
import * as pulumi from '@pulumi/pulumi';
import { mergeAttributes, type PushJobsAttributesInput } from '@push-jobs/cookbook';
import { PushJobsAgent, type PushJobsAgentArgs, type Whitelist } from './agent.js';
import { PushJobsCluster, type PushJobsClusterArgs } from './cluster.js';
import type { HostConnection } from './connection.js';
import { PushJobsServer, type PushJobsServerArgs } from './server.js';
import { argumentError, checkPlainObject, type Who } from './validate.js';

/** One host of the fleet. */
export interface PushJobsFleetHost {
  /** The node name; also names the host's agent resource (`<fleet>-<nodeName>`). Required. */
  readonly nodeName: string;
  /** SSH connection to the host. Required. */
  readonly connection: pulumi.Input<HostConnection>;
  /** Whitelist entries merged over the fleet's (`null` removes one). */
  readonly whitelist?: pulumi.Input<Whitelist>;
  /** Cookbook attributes merged over the fleet's. */
  readonly attributes?: pulumi.Input<PushJobsAttributesInput>;
  /**
   * Any other agent argument for this host (platform family, root, init system, sudo, client
   * name), over the fleet's {@link PushJobsFleetArgs.agentDefaults}.
   */
  readonly agent?: Partial<
    Omit<PushJobsAgentArgs, 'connection' | 'nodeName' | 'server' | 'whitelist' | 'attributes'>
  >;
}

/** The arguments of {@link PushJobsFleet}. */
export interface PushJobsFleetArgs {
  /** The server. Required, unless `cluster` is given instead. */
  readonly server?: PushJobsServerArgs;
  /**
   * Several servers on one PostgreSQL database behind a load balancer, instead of `server`: the
   * agents use its `loadBalancerUrl`.
   */
  readonly cluster?: PushJobsClusterArgs;
  /** The hosts that get an agent. */
  readonly hosts: readonly PushJobsFleetHost[];
  /** Whitelist shared by every agent. @default the cookbook's */
  readonly whitelist?: pulumi.Input<Whitelist>;
  /** Cookbook attributes shared by every agent. */
  readonly attributes?: pulumi.Input<PushJobsAttributesInput>;
  /**
   * Agent arguments shared by every host (package source, root, init system, platform family,
   * ...). @default the server's (or the cluster's shared) root, init system, sudo and package source
   */
  readonly agentDefaults?: Partial<
    Omit<PushJobsAgentArgs, 'connection' | 'nodeName' | 'server' | 'whitelist' | 'attributes'>
  >;
}

/** A fleet-wide map overlaid with a host's (checked to be maps once known). */
function overlay<T extends object>(
  who: Who,
  arg: string,
  shared: pulumi.Input<T> | undefined,
  own: pulumi.Input<T> | undefined,
  merge: (a: T, b: T) => T,
): pulumi.Input<T> | undefined {
  if (own === undefined) return shared;
  if (shared === undefined) return own;
  return pulumi.all([shared, own]).apply(([a, b]) => {
    checkPlainObject(who, arg, a);
    checkPlainObject(who, `hosts[].${arg}`, b);
    return merge(a as T, b as T);
  }) as pulumi.Output<T>;
}

/**
 * The PushJobsFleet component stands up a {@link PushJobsServer} (`<name>-server`), or a
 * {@link PushJobsCluster} (`<name>-cluster`), and a {@link PushJobsAgent} per host
 * (`<name>-<nodeName>`), each registered with that server (or through the cluster's load
 * balancer). The fleet's whitelist and attributes apply to every agent; a host's own entries are
 * merged over them.
 *
 * @example
 * ```ts
 * const fleet = new PushJobsFleet('ops', {
 *   server: { connection: { host: 'push.internal', user: 'ubuntu', privateKey } },
 *   whitelist: { uptime: 'uptime' },
 *   hosts: [
 *     { nodeName: 'web1', connection: { host: 'web1.internal', user: 'ubuntu', privateKey } },
 *     { nodeName: 'db1', connection: { host: 'db1.internal', user: 'ubuntu', privateKey }, whitelist: { backup: '/usr/local/bin/backup' } },
 *   ],
 * });
 * ```
 */
export class PushJobsFleet extends pulumi.ComponentResource {
  /** The server; with `cluster`, the cluster's first instance. */
  public readonly server: PushJobsServer;
  /** The cluster (`<name>-cluster`), when the fleet has one. */
  public readonly cluster: PushJobsCluster | undefined;
  /** The agents, by node name. */
  public readonly agents: Readonly<Record<string, PushJobsAgent>>;
  /** The server's API URL; with `cluster`, the load balancer's. */
  public readonly apiUrl: pulumi.Output<string>;
  /** The agents' `chef_server_url`: the server's, or with `cluster` the load balancer's. */
  public readonly chefServerUrl: pulumi.Output<string>;
  /** The admin user's private key. Secret. */
  public readonly adminKey: pulumi.Output<string>;
  /** The node names, once every agent is converged. */
  public readonly nodeNames: pulumi.Output<string[]>;

  constructor(name: string, args: PushJobsFleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super('push-jobs:index:Fleet', name, {}, opts);
    const who: Who = { component: 'PushJobsFleet', name };
    if (args === undefined || args === null) throw argumentError(who, 'args are missing');
    const hasServer = args.server !== undefined && args.server !== null;
    const hasCluster = args.cluster !== undefined && args.cluster !== null;
    if (hasServer === hasCluster) {
      throw argumentError(
        who,
        hasServer
          ? 'give server or cluster, not both'
          : 'server is missing: give server (one server) or cluster (several)',
      );
    }
    if (!Array.isArray(args.hosts))
      throw argumentError(who, 'hosts must be a list of { nodeName, connection }');
    const seen = new Set<string>();
    args.hosts.forEach((h, i) => {
      if (typeof h !== 'object' || h === null)
        throw argumentError(who, `hosts[${i}] must be { nodeName, connection }`);
      if (typeof h.nodeName !== 'string' || h.nodeName === '') {
        throw argumentError(who, `hosts[${i}].nodeName must be a non-empty string`);
      }
      if (seen.has(h.nodeName))
        throw argumentError(who, `hosts[${i}].nodeName ${h.nodeName} is listed twice`);
      seen.add(h.nodeName);
      if (h.nodeName === 'server')
        throw argumentError(who, `hosts[${i}].nodeName 'server' would clash with ${name}-server`);
      if (hasCluster && h.nodeName === 'cluster')
        throw argumentError(who, `hosts[${i}].nodeName 'cluster' would clash with ${name}-cluster`);
      for (const arg of ['whitelist', 'attributes'] as const) {
        const value = h[arg];
        if (value !== undefined && !pulumi.Output.isInstance(value))
          checkPlainObject(who, `hosts[${i}].${arg}`, value);
      }
    });
    for (const [arg, value] of [
      ['whitelist', args.whitelist],
      ['attributes', args.attributes],
    ] as const) {
      if (value !== undefined && pulumi.Output.isInstance(value) === false) checkPlainObject(who, arg, value);
    }

    let endpoint: PushJobsServer | PushJobsCluster;
    let hostDefaults: Pick<PushJobsServerArgs, 'root' | 'initSystem' | 'sudo' | 'packageSource'>;
    if (hasCluster) {
      const cluster = new PushJobsCluster(`${name}-cluster`, args.cluster!, { parent: this });
      this.cluster = cluster;
      this.server = cluster.instances[0]!;
      endpoint = cluster;
      hostDefaults = args.cluster!;
    } else {
      this.cluster = undefined;
      this.server = new PushJobsServer(`${name}-server`, args.server!, { parent: this });
      endpoint = this.server;
      hostDefaults = args.server!;
    }
    const serverHost = {
      ...(hostDefaults.root === undefined ? {} : { root: hostDefaults.root }),
      ...(hostDefaults.initSystem === undefined ? {} : { initSystem: hostDefaults.initSystem }),
      ...(hostDefaults.sudo === undefined ? {} : { sudo: hostDefaults.sudo }),
      ...(hostDefaults.packageSource === undefined ? {} : { packageSource: hostDefaults.packageSource }),
    };
    const agents: Record<string, PushJobsAgent> = {};
    for (const h of args.hosts) {
      const whitelist = overlay<Whitelist>(who, 'whitelist', args.whitelist, h.whitelist, (a, b) => ({
        ...a,
        ...b,
      }));
      const attributes = overlay<PushJobsAttributesInput>(
        who,
        'attributes',
        args.attributes,
        h.attributes,
        (a, b) => mergeAttributes(a, b),
      );
      agents[h.nodeName] = new PushJobsAgent(
        `${name}-${h.nodeName}`,
        {
          ...serverHost,
          ...args.agentDefaults,
          ...h.agent,
          connection: h.connection,
          nodeName: h.nodeName,
          server: endpoint,
          ...(whitelist === undefined ? {} : { whitelist }),
          ...(attributes === undefined ? {} : { attributes }),
        },
        { parent: this },
      );
    }
    this.agents = agents;
    this.apiUrl = this.cluster === undefined ? this.server.apiUrl : this.cluster.loadBalancerUrl;
    this.chefServerUrl = endpoint.chefServerUrl;
    this.adminKey = endpoint.adminKey;
    this.nodeNames = pulumi.all(Object.values(agents).map((a) => a.nodeName));
    this.registerOutputs({
      apiUrl: this.apiUrl,
      chefServerUrl: this.chefServerUrl,
      adminKey: this.adminKey,
      nodeNames: this.nodeNames,
    });
  }
}
