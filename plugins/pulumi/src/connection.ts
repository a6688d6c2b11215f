/**
 * The SSH connection to a host, as the components take it, and what `remote.Command` gets.
 *
 * @module
 */
import type * as pulumi from '@pulumi/pulumi';
import * as pulumiRuntime from '@pulumi/pulumi';
import { argumentError, checkNonEmpty, checkPort, isKnown, validatedInput, type Who } from './validate.js';

/** How to reach a host over SSH. */
export interface HostConnection {
  /** Host name or address to connect to. Required. */
  readonly host: pulumi.Input<string>;
  /** SSH port. @default 22 */
  readonly port?: pulumi.Input<number>;
  /** SSH user; a user other than `root` runs the host steps with `sudo -n`. @default 'root' */
  readonly user?: pulumi.Input<string>;
  /** The SSH private key (OpenSSH or PEM text). Kept as a Pulumi secret. */
  readonly privateKey?: pulumi.Input<string>;
  /** The SSH password, when there is no key. Kept as a Pulumi secret. */
  readonly password?: pulumi.Input<string>;
}

/** A connection with every value known: what `remote.Command` receives. */
export interface ResolvedConnection {
  host: string;
  port: number;
  user: string;
  privateKey?: string;
  password?: string;
}

/** The SSH user when none is given. */
export const DEFAULT_SSH_USER = 'root';

/** The SSH port when none is given. */
export const DEFAULT_SSH_PORT = 22;

/**
 * Checks a connection (what is known now at once, the rest when it resolves) and returns the
 * `remote.Command` connection; one with a private key or password is secret as a whole.
 *
 * @throws ArgumentError for a missing connection or host, a bad port or an empty user.
 */
export function commandConnection(
  who: Who,
  connection: pulumi.Input<HostConnection> | undefined,
): pulumi.Output<ResolvedConnection> {
  if (connection === undefined || connection === null) {
    throw argumentError(
      who,
      'connection is missing: give the SSH connection ({ host, port, user, privateKey })',
    );
  }
  const checked = validatedInput(connection, (c) => {
    if (typeof c !== 'object' || c === null) {
      throw argumentError(who, 'connection must be an object ({ host, port, user, privateKey })');
    }
    const host = c.host;
    if (host === undefined || host === null || (isKnown(host) && host === '')) {
      throw argumentError(who, 'connection.host is missing: give the SSH host name or address');
    }
    // Fields known now are checked now; the others once resolved (below).
    if (isKnown(host)) checkNonEmpty(who, 'connection.host', host);
    if (c.port !== undefined && isKnown(c.port)) checkPort(who, 'connection.port', c.port);
    if (c.user !== undefined && isKnown(c.user)) checkNonEmpty(who, 'connection.user', c.user);
  });
  return pulumiRuntime.output(checked).apply((c) => {
    checkNonEmpty(who, 'connection.host', c.host);
    const port = c.port ?? DEFAULT_SSH_PORT;
    checkPort(who, 'connection.port', port);
    const user = c.user ?? DEFAULT_SSH_USER;
    checkNonEmpty(who, 'connection.user', user);
    const args: ResolvedConnection = { host: c.host, port, user };
    if (c.privateKey !== undefined) args.privateKey = c.privateKey;
    if (c.password !== undefined) args.password = c.password;
    // The key or password makes the whole connection secret (state, diffs, logs).
    return c.privateKey !== undefined || c.password !== undefined
      ? pulumiRuntime.secret(args)
      : pulumiRuntime.output(args);
  });
}

/** Whether the host steps use `sudo`: explicitly given, or when the SSH user is not root. */
export function usesSudo(
  connection: pulumi.Output<ResolvedConnection>,
  sudo: boolean | undefined,
): pulumi.Output<boolean> {
  return pulumiRuntime.unsecret(connection.apply((c) => sudo ?? c.user !== 'root'));
}

/** The host name of a connection, not secret (only the key and password are). */
export function connectionHost(connection: pulumi.Output<ResolvedConnection>): pulumi.Output<string> {
  return pulumiRuntime.unsecret(connection.apply((c) => c.host));
}
