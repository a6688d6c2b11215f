/**
 * `PushJobsAgent`: installs a push-jobs agent on a host over SSH, registers the node's client
 * with the server's validator, and converges it with the push-jobs cookbook.
 *
 * @module
 */
import * as pulumi from '@pulumi/pulumi';
import {
  CookbookError,
  isPlatformFamily,
  mergeAttributes,
  PLATFORM_FAMILIES,
  validateAttributes,
  type PlatformFamily,
  type PushJobsAttributes,
  type PushJobsAttributesInput,
  type WhitelistValue,
} from '@push-jobs/cookbook';
import {
  after,
  hostCommand,
  installResources,
  resolveHostOptions,
  sha256,
  type HostOptions,
} from './common.js';
import { commandConnection, usesSudo, type HostConnection } from './connection.js';
import {
  agentClientStep,
  agentConvergeStep,
  agentServiceStep,
  attributesDocument,
  configHostPath,
  renderedFilesText,
  type AgentStepsInput,
} from './host/agent-steps.js';
import { agentLayout } from './host/layout.js';
import { resolvePackageSource, type PackageSource, type ResolvedPackageSource } from './package-source.js';
import type { PushJobsServerEndpoint } from './server.js';
import { argumentError, checkNonEmpty, isKnown, validatedInput, type Who } from './validate.js';

/**
 * The whitelist: job name → command line (or `{ command_line, lock }`). It merges over the
 * cookbook's default (`{ 'chef-client': 'chef-client' }`) as Chef attributes do; `null`
 * removes an entry.
 */
export type Whitelist = Record<string, WhitelistValue | null>;

/** The arguments of {@link PushJobsAgent}. */
export interface PushJobsAgentArgs extends HostOptions {
  /** SSH connection to the host. Required. */
  readonly connection: pulumi.Input<HostConnection>;
  /** The node's name (`push_jobs.chef.node_name`). Required. */
  readonly nodeName: pulumi.Input<string>;
  /** The client the node authenticates as. @default nodeName */
  readonly clientName?: pulumi.Input<string>;
  /**
   * The server: a {@link PushJobsServer}, a {@link PushJobsCluster} (the agent then uses its load
   * balancer's URL), or a server URL (`chef_server_url`, ending in `/organizations/ORG`; for a
   * cluster, the load balancer's) with the validator's name and key. Required.
   */
  readonly server: PushJobsServerEndpoint;
  /** Allowed commands (`push_jobs.whitelist`). @default the cookbook's */
  readonly whitelist?: pulumi.Input<Whitelist>;
  /**
   * Other `push_jobs` cookbook attributes (`logging_level`, `environment_variables`,
   * `install_prefix`, `service_name`, `file_dir`, ...). The server URL, node name and package
   * attributes come from the other arguments and win.
   */
  readonly attributes?: pulumi.Input<PushJobsAttributesInput>;
  /** The host's platform family, for the cookbook. @default 'debian' */
  readonly platformFamily?: PlatformFamily;
  /** Where `@push-jobs/agent` and `@push-jobs/cookbook` come from. @default the registry, at this package's version */
  readonly packageSource?: PackageSource;
}

/** Packages an agent host needs. */
const AGENT_PACKAGES = ['@push-jobs/cookbook', '@push-jobs/agent'] as const;

function hasUnknown(value: unknown): boolean {
  if (!isKnown(value as pulumi.Input<unknown>)) return true;
  if (Array.isArray(value)) return value.some(hasUnknown);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(hasUnknown);
  return false;
}

/**
 * The `push_jobs` attributes of an agent: the user's attributes, the whitelist over them, and
 * what the component decides (server URL, node name, package source) on top; validated by the
 * cookbook.
 *
 * @throws ArgumentError with the cookbook's message (naming the attribute) when invalid.
 */
export function agentAttributes(
  who: Who,
  parts: {
    readonly attributes: PushJobsAttributesInput | undefined;
    readonly whitelist: Whitelist | undefined;
    readonly chefServerUrl: string | null;
    readonly nodeName: string | null;
    readonly package: Record<string, unknown>;
  },
  platformFamily: PlatformFamily,
): PushJobsAttributes {
  try {
    const input = mergeAttributes(
      parts.attributes,
      parts.whitelist === undefined
        ? undefined
        : { whitelist: parts.whitelist as Record<string, WhitelistValue> },
      { chef: { chef_server_url: parts.chefServerUrl, node_name: parts.nodeName }, ...parts.package },
    );
    return validateAttributes(input, platformFamily);
  } catch (err) {
    if (err instanceof CookbookError) throw argumentError(who, err.message);
    throw err;
  }
}

/** The package attributes for a source: tarballs copied to `cacheDir`, or a registry version. */
export function packageAttributes(source: ResolvedPackageSource, cacheDir: string): Record<string, unknown> {
  if (source.copies.length > 0) {
    return {
      package_source: 'tarball',
      local_package_path: source.tarballPaths(cacheDir, ['@push-jobs/cookbook']),
      package_version: null,
    };
  }
  return {
    package_source: 'registry',
    package_version: source.version ?? null,
    npm_registry: source.registry ?? null,
  };
}

/**
 * The PushJobsAgent component installs a push-jobs agent on a host over SSH: Node.js and the
 * `@push-jobs/cookbook` converge tool; it registers the node's client with the server's
 * validator (the client key is generated on the host and never leaves it) and writes the node
 * object; then `push-jobs-cookbook apply` installs the agent, renders
 * `/etc/chef/push-jobs-client.rb` and enables and starts the service. Deleting it stops the
 * agent, deletes the client and node from the server and removes what it installed.
 *
 * @example
 * ```ts
 * const agent = new PushJobsAgent('web1', {
 *   connection: { host: '10.0.0.11', user: 'ubuntu', privateKey: sshKey },
 *   nodeName: 'web1',
 *   server, // a PushJobsServer
 *   whitelist: { uptime: 'uptime' },
 * });
 * ```
 */
export class PushJobsAgent extends pulumi.ComponentResource {
  /** The node name, once the agent is converged. */
  public readonly nodeName: pulumi.Output<string>;
  /** The client name the agent authenticates as. */
  public readonly clientName: pulumi.Output<string>;
  /** The agent's config file on the host. */
  public readonly configPath: pulumi.Output<string>;
  /** The host steps, in order (for inspection). */
  public readonly steps: readonly pulumi.CustomResource[];

  constructor(name: string, args: PushJobsAgentArgs, opts?: pulumi.ComponentResourceOptions) {
    // The args are not recorded as the component's inputs: they may hold keys in plain text.
    super('push-jobs:index:Agent', name, {}, opts);
    const who: Who = { component: 'PushJobsAgent', name };
    if (args === undefined || args === null) throw argumentError(who, 'args are missing');

    const host = resolveHostOptions(who, args);
    const connection = commandConnection(who, args.connection);
    const sudo = usesSudo(connection, host.sudo);
    const family = args.platformFamily ?? 'debian';
    if (!isPlatformFamily(family)) {
      throw argumentError(
        who,
        `platformFamily must be one of ${PLATFORM_FAMILIES.join(', ')}, got ${JSON.stringify(family)}`,
      );
    }
    if (args.nodeName === undefined || args.nodeName === null) {
      throw argumentError(who, 'nodeName is missing: give the node name the agent registers as');
    }
    const nodeName = validatedInput(args.nodeName, (v) => checkNonEmpty(who, 'nodeName', v));
    const clientName = validatedInput(args.clientName ?? nodeName, (v) =>
      checkNonEmpty(who, 'clientName', v),
    );
    const server = args.server;
    if (server === undefined || server === null || typeof server !== 'object') {
      throw argumentError(
        who,
        'server is missing: give a PushJobsServer, a PushJobsCluster or { chefServerUrl, validatorName, validatorKey }',
      );
    }
    for (const key of ['chefServerUrl', 'validatorName', 'validatorKey'] as const) {
      if (server[key] === undefined || server[key] === null)
        throw argumentError(who, `server.${key} is missing`);
    }
    const source = resolvePackageSource(who, args.packageSource, AGENT_PACKAGES, [
      '@push-jobs/server',
      '@push-jobs/cli',
    ]);
    const layout = agentLayout(host.root);
    const cacheDir = layout.cacheDir;
    const pkg = packageAttributes(source, cacheDir);

    // What is known now is checked now (a whitelist that is not a map fails here).
    if (!hasUnknown(args.attributes) && !hasUnknown(args.whitelist)) {
      agentAttributes(
        who,
        {
          attributes: args.attributes as PushJobsAttributesInput | undefined,
          whitelist: args.whitelist as Whitelist | undefined,
          chefServerUrl: isKnown(server.chefServerUrl) ? (server.chefServerUrl as string) : null,
          nodeName: isKnown(args.nodeName) ? (args.nodeName as string) : null,
          package: pkg,
        },
        family,
      );
    }
    const attributes: pulumi.Output<PushJobsAttributes> = pulumi
      .all([
        pulumi.output(args.attributes) as pulumi.Output<unknown>,
        pulumi.output(args.whitelist) as pulumi.Output<unknown>,
        pulumi.output(server.chefServerUrl),
        pulumi.output(nodeName),
      ])
      .apply(([attributes, whitelist, url, node]) =>
        agentAttributes(
          who,
          {
            attributes: attributes as PushJobsAttributesInput | undefined,
            whitelist: whitelist as Whitelist | undefined,
            chefServerUrl: url,
            nodeName: node,
            package: pkg,
          },
          family,
        ),
      );

    const input: pulumi.Output<AgentStepsInput> = pulumi
      .all([attributes, clientName, sudo])
      .apply(([attrs, client, sudo]) => ({
        layout,
        init: host.initSystem,
        platformFamily: family,
        attributes: attrs,
        clientName: client,
        label: name,
        runAs: { sudo },
      }));

    const { node, copies, install } = installResources({
      name,
      parent: this,
      connection,
      sudo,
      host,
      nodeHome: layout.nodeHome,
      prefix: layout.toolsPrefix,
      cacheDir,
      source,
      exclude: ['@push-jobs/agent'],
    });
    const client = hostCommand(
      `${name}-client`,
      {
        connection,
        commands: input.apply(agentClientStep),
        stdin: pulumi.secret(
          pulumi
            .all([server.validatorName, server.validatorKey])
            .apply(([validator_name, validator_key]) => JSON.stringify({ validator_name, validator_key })),
        ),
      },
      this,
      [install],
    );
    const converge = hostCommand(
      `${name}-converge`,
      { connection, commands: input.apply(agentConvergeStep) },
      this,
      [client],
    );
    const steps: pulumi.CustomResource[] = [node, ...copies, install, client, converge];
    let ready = converge.stdout;
    if (host.initSystem === 'none') {
      const service = hostCommand(
        `${name}-service`,
        {
          connection,
          commands: input.apply((i) =>
            agentServiceStep(i, sha256(renderedFilesText(i) + attributesDocument(i.attributes))),
          ),
        },
        this,
        [converge],
      );
      steps.push(service);
      ready = service.stdout;
    }
    this.steps = steps;

    this.nodeName = after(ready, nodeName);
    this.clientName = after(ready, clientName);
    this.configPath = after(ready, configHostPath(host.root));
    this.registerOutputs({
      nodeName: this.nodeName,
      clientName: this.clientName,
      configPath: this.configPath,
    });
  }
}
