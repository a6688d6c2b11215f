/**
 * What the components share: host options, resolving them, the Node.js and install steps as
 * child resources, and small output helpers.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { remote, type types } from '@pulumi/command';
import { installStep } from './host/install.js';
import { underRoot, type InitSystem } from './host/layout.js';
import { nodeStep } from './host/node.js';
import type { ResolvedConnection } from './connection.js';
import type { HostCommands } from './host/types.js';
import type { ResolvedPackageSource } from './package-source.js';
import { argumentError, checkInitSystem, checkPositiveInteger, checkRoot, type Who } from './validate.js';

/** Options of where and how the host steps run; shared by the server and the agent. */
export interface HostOptions {
  /**
   * Directory every host path is under. `/` on a real host; a scratch directory lets the
   * scripts run side by side with others (tests). @default '/'
   */
  readonly root?: string;
  /**
   * How services run: `systemd` (a unit, enabled and started), or `none` (a background
   * process with a pid file, for hosts without systemd). @default 'systemd'
   */
  readonly initSystem?: InitSystem;
  /** Run the host steps with `sudo -n`. @default true unless the SSH user is root */
  readonly sudo?: boolean;
  /** Node.js major version installed when the host has none this recent. @default 20 */
  readonly nodeMajor?: number;
  /** Where Node.js is downloaded from. @default 'https://nodejs.org/dist' */
  readonly nodeDistUrl?: string;
}

/** Host options with defaults filled in. */
export interface ResolvedHostOptions {
  readonly root: string;
  readonly initSystem: InitSystem;
  readonly sudo: boolean | undefined;
  readonly nodeMajor: number;
  readonly nodeDistUrl: string;
}

/** The Node.js major version installed by default. */
export const DEFAULT_NODE_MAJOR = 20;

/** The default Node.js download site. */
export const DEFAULT_NODE_DIST_URL = 'https://nodejs.org/dist';

/** Checks the host options and fills the defaults. @throws ArgumentError */
export function resolveHostOptions(who: Who, args: HostOptions): ResolvedHostOptions {
  const nodeMajor = checkPositiveInteger(who, 'nodeMajor', args.nodeMajor ?? DEFAULT_NODE_MAJOR);
  if (nodeMajor < DEFAULT_NODE_MAJOR) {
    throw argumentError(who, `nodeMajor must be ${DEFAULT_NODE_MAJOR} or later, got ${nodeMajor}`);
  }
  if (args.sudo !== undefined && typeof args.sudo !== 'boolean') {
    throw argumentError(who, 'sudo must be true or false');
  }
  return {
    root: checkRoot(who, args.root ?? '/'),
    initSystem: checkInitSystem(who, args.initSystem ?? 'systemd'),
    sudo: args.sudo,
    nodeMajor,
    nodeDistUrl: args.nodeDistUrl ?? DEFAULT_NODE_DIST_URL,
  };
}

/** SHA-256 of `text`, hex. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `host` ready for a URL (IPv6 addresses in brackets). */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** A remote command's inputs built from resolved values. */
export interface StepSpec {
  readonly connection: pulumi.Input<types.input.remote.ConnectionArgs>;
  readonly commands: pulumi.Output<HostCommands>;
  readonly stdin?: pulumi.Input<string>;
}

/** Creates a `remote.Command` for a host step, parented to `parent`. */
export function hostCommand(
  name: string,
  spec: StepSpec,
  parent: pulumi.Resource,
  dependsOn: pulumi.Resource[],
  extra: pulumi.CustomResourceOptions = {},
): remote.Command {
  const args: remote.CommandArgs = {
    connection: spec.connection,
    create: spec.commands.apply((c) => c.create),
    ...(spec.stdin === undefined ? {} : { stdin: spec.stdin }),
  };
  const withDelete = spec.commands.apply((c) => c.delete);
  return new remote.Command(
    name,
    { ...args, delete: withDelete as pulumi.Output<string> },
    {
      parent,
      dependsOn,
      ...extra,
    },
  );
}

/** The Node.js and package steps of a component (copy tarballs, `npm install`). */
export interface InstallResources {
  readonly node: remote.Command;
  readonly copies: remote.CopyFile[];
  readonly install: remote.Command;
}

/** Creates the Node.js step, the tarball copies and the install step. */
export function installResources(opts: {
  readonly name: string;
  readonly parent: pulumi.Resource;
  readonly connection: pulumi.Output<ResolvedConnection>;
  readonly sudo: pulumi.Output<boolean>;
  readonly host: ResolvedHostOptions;
  readonly nodeHome: string;
  readonly prefix: string;
  readonly cacheDir: string;
  readonly source: ResolvedPackageSource;
  /** Packages of the source not to install in this step. */
  readonly exclude?: readonly string[];
}): InstallResources {
  const { name, parent, connection, source } = opts;
  const node = hostCommand(
    `${name}-node`,
    {
      connection,
      commands: opts.sudo.apply((sudo) =>
        nodeStep({
          nodeHome: opts.nodeHome,
          linkDir: underRoot(opts.host.root, '/usr/local/bin'),
          nodeMajor: opts.host.nodeMajor,
          nodeDistUrl: opts.host.nodeDistUrl,
          user: name,
          uploadDirs: source.copies.length > 0 ? [opts.cacheDir] : [],
          label: `${name}-node`,
          runAs: { sudo },
        }),
      ),
    },
    parent,
    [],
  );
  const copies = source.copies.map(
    (copy, i) =>
      new remote.CopyFile(
        `${name}-tarball-${i}`,
        {
          connection,
          localPath: copy.localPath,
          remotePath: posix.join(opts.cacheDir, copy.fileName),
          triggers: [copy.sha256],
        },
        { parent, dependsOn: [node] },
      ),
  );
  const install = hostCommand(
    `${name}-install`,
    {
      connection,
      commands: opts.sudo.apply((sudo) =>
        installStep({
          nodeHome: opts.nodeHome,
          prefix: opts.prefix,
          cacheDir: opts.cacheDir,
          specs: source.specs(opts.cacheDir, opts.exclude),
          ...(source.registry === undefined ? {} : { registry: source.registry }),
          tarballHashes: source.copies.map((c) => `${c.fileName} ${c.sha256}`),
          label: `${name}-install`,
          runAs: { sudo },
        }),
      ),
    },
    parent,
    [node, ...copies],
  );
  return { node, copies, install };
}

/** `value` once `after` has resolved: an output that carries the dependency on `after`. */
export function after<T>(after: pulumi.Output<unknown>, value: pulumi.Input<T>): pulumi.Output<T> {
  return pulumi.all([after, value]).apply(([, v]) => v as T) as pulumi.Output<T>;
}
