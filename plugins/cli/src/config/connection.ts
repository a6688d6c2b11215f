/**
 * Where the CLI connects, as whom: each setting is taken from the first source that has it.
 *
 * 1. flags (`--server-url`, `--org`, `--user`, `--key`, ...) and their `PUSH_JOBS_*`
 *    environment variables;
 * 2. the `~/.chef/credentials` profile, when one was named (`--profile`/`PUSH_JOBS_PROFILE`);
 * 3. the CLI's config file (`~/.push-jobs/config.json` or `$PUSH_JOBS_CONFIG`);
 * 4. the default `~/.chef/credentials` profile (`$CHEF_PROFILE`, `~/.chef/context`, `default`);
 * 5. knife's `config.rb`/`knife.rb` (`$KNIFE_HOME`, `.chef/` here or above, `~/.chef/`).
 *
 * A server URL may carry the organization (`https://host/organizations/acme`, as Chef's
 * `chef_server_url` does); an `org` from the same or a higher source replaces it.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import {
  isSigningVersion,
  PushApiClient,
  SIGNING_VERSIONS,
  toSigningKey,
  type SigningVersion,
} from '@push-jobs/protocol';
import { CLI_ERROR_CODES, configError } from '../errors.js';
import { configFilePath, expandHome, readConfigFile } from './config-file.js';
import { credentialsPath, defaultProfileName, profileSettings, readCredentials } from './credentials.js';
import { findKnifeRb, readKnifeRb } from './knife-rb.js';
import type { KeySetting, SettingsSource, SourceSettings } from './types.js';

/** The connection flags, as parsed (environment variables already applied). */
export interface ConnectionFlags {
  'server-url'?: string;
  org?: string;
  user?: string;
  key?: string;
  profile?: string;
  'ca-file'?: string;
  insecure?: boolean;
  'sign-version'?: string;
  'request-timeout'?: number;
  /** Only the waiting commands have it (`push jobs start`, `push jobs watch`). */
  'reconnect-timeout'?: number;
}

/** Everything needed to build a client. The key is never printed. */
export interface ResolvedConnection {
  /** The server root, e.g. `https://push.example.com`. */
  serverUrl: string;
  org: string;
  /** The organization URL requests are relative to. */
  orgUrl: string;
  user: string;
  /** The private key PEM. */
  keyPem: string;
  /** Where the key came from: a file path, or `inline PEM in <source>`. */
  keySource: string;
  caFile?: string;
  ca?: string;
  insecure: boolean;
  signVersion: SigningVersion;
  timeoutMs: number;
  /** How long a waiting command retries while the server is unreachable; 0: never. */
  reconnectTimeoutMs: number;
  /** Which source gave each setting, for `--debug`. */
  origins: Record<string, string>;
}

/** The environment a resolution runs in (tests pass their own). */
export interface ResolveEnvironment {
  env?: NodeJS.ProcessEnv;
  home?: string;
  cwd?: string;
}

/** Default request timeout, in seconds. */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;

/** Default reconnect timeout of the waiting commands, in seconds. */
export const DEFAULT_RECONNECT_TIMEOUT_SECONDS = 60;

const ORG_IN_URL = /^(.*?)\/organizations\/([^/]+)\/*$/;

function flagSettings(flags: ConnectionFlags, home: string): SourceSettings {
  const out: SourceSettings = {};
  if (flags['server-url'] !== undefined) out.serverUrl = flags['server-url'];
  if (flags.org !== undefined) out.org = flags.org;
  if (flags.user !== undefined) out.user = flags.user;
  if (flags.key !== undefined) out.key = { path: expandHome(flags.key, home) };
  if (flags['ca-file'] !== undefined) out.caFile = expandHome(flags['ca-file'], home);
  if (flags.insecure !== undefined) out.insecure = flags.insecure;
  if (flags['sign-version'] !== undefined) out.signVersion = flags['sign-version'];
  if (flags['request-timeout'] !== undefined) out.requestTimeout = flags['request-timeout'];
  if (flags['reconnect-timeout'] !== undefined) out.reconnectTimeout = flags['reconnect-timeout'];
  return out;
}

/** Every source of settings, highest priority first (see the module notes). */
export function gatherSources(flags: ConnectionFlags, where: ResolveEnvironment = {}): SettingsSource[] {
  const env = where.env ?? process.env;
  const home = where.home ?? homedir();
  const cwd = where.cwd ?? process.cwd();
  const sources: SettingsSource[] = [
    { name: 'flags and PUSH_JOBS_* environment variables', settings: flagSettings(flags, home) },
  ];
  const credsPath = credentialsPath(home);
  const creds = readCredentials(credsPath);
  const explicitProfile = flags.profile !== undefined && flags.profile !== '';
  if (explicitProfile) {
    if (creds === undefined) {
      throw configError(
        `--profile ${flags.profile} was given, but ${credsPath} does not exist; create it or drop --profile`,
      );
    }
    sources.push({
      name: `${credsPath} [${flags.profile}]`,
      settings: profileSettings(creds, flags.profile!, true),
    });
  }
  const config = configFilePath(env, home);
  sources.push({ name: config.path, settings: readConfigFile(config.path, config.explicit, home) });
  if (!explicitProfile && creds !== undefined) {
    const profile = defaultProfileName(env, home);
    sources.push({
      name: `${credsPath} [${profile}]`,
      settings: profileSettings(creds, profile, profile !== 'default'),
    });
  }
  const knife = findKnifeRb(cwd, home, env);
  if (knife !== undefined) sources.push({ name: knife, settings: readKnifeRb(knife, env) });
  return sources;
}

function pick<K extends keyof SourceSettings>(
  sources: SettingsSource[],
  key: K,
): { value: SourceSettings[K]; source: string } | undefined {
  for (const s of sources) {
    const value = s.settings[key];
    if (value !== undefined) return { value, source: s.name };
  }
  return undefined;
}

function readKey(key: KeySetting, source: string): { pem: string; where: string } {
  if ('pem' in key) return { pem: key.pem, where: `inline PEM in ${source}` };
  try {
    return { pem: readFileSync(key.path, 'utf8'), where: key.path };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw configError(
      `cannot read the client key ${key.path} (${why}); pass --key (or PUSH_JOBS_KEY) with the path to your private key`,
      CLI_ERROR_CODES.KEY,
      err,
    );
  }
}

/**
 * Resolves the connection settings from every source.
 *
 * @throws CliError (exit 3) when a setting is missing or malformed, or the key or CA file
 *   cannot be read or is not what it should be.
 */
export function resolveConnection(
  flags: ConnectionFlags,
  where: ResolveEnvironment = {},
): ResolvedConnection {
  const sources = gatherSources(flags, where);
  const origins: Record<string, string> = {};

  // The org of each source: its own `org`, else the one in its server URL.
  let org: { value: string; source: string } | undefined;
  for (const s of sources) {
    const own =
      s.settings.org ??
      (s.settings.serverUrl === undefined ? undefined : ORG_IN_URL.exec(s.settings.serverUrl)?.[2]);
    if (own !== undefined && own !== '') {
      org = { value: decodeURIComponent(own), source: s.name };
      break;
    }
  }
  const server = pick(sources, 'serverUrl');
  if (server === undefined) {
    throw configError(
      'no push jobs server configured; pass --server-url (or set PUSH_JOBS_SERVER_URL, server_url in ~/.push-jobs/config.json, or chef_server_url in ~/.chef/credentials or knife.rb)',
    );
  }
  let root: URL;
  try {
    root = new URL(server.value!);
  } catch {
    throw configError(
      `invalid server URL '${server.value}' (from ${server.source}); give a URL such as https://push.example.com`,
    );
  }
  if (root.protocol !== 'http:' && root.protocol !== 'https:') {
    throw configError(
      `invalid server URL '${server.value}' (from ${server.source}); it must start with https:// or http://`,
    );
  }
  origins['server-url'] = server.source;
  const serverUrl = (ORG_IN_URL.exec(root.href.replace(/[?#].*$/, ''))?.[1] ?? root.href).replace(/\/+$/, '');
  if (org === undefined) {
    throw configError(
      'no organization configured; pass --org (or set PUSH_JOBS_ORG, or use a server URL ending in /organizations/ORG)',
    );
  }
  origins.org = org.source;

  const user = pick(sources, 'user');
  if (user === undefined) {
    throw configError(
      'no user configured; pass --user (or set PUSH_JOBS_USER, user in ~/.push-jobs/config.json, or client_name/node_name in ~/.chef/credentials or knife.rb)',
    );
  }
  origins.user = user.source;

  const keySetting = pick(sources, 'key');
  if (keySetting === undefined) {
    throw configError(
      'no client key configured; pass --key with the path to your private key (or set PUSH_JOBS_KEY, or client_key in ~/.chef/credentials or knife.rb)',
      CLI_ERROR_CODES.KEY,
    );
  }
  const key = readKey(keySetting.value!, keySetting.source);
  if (toSigningKey(key.pem) === null) {
    throw configError(
      `the client key ${key.where} is not an RSA private key in PEM format; pass --key with the private key of '${user.value}'`,
      CLI_ERROR_CODES.KEY,
    );
  }
  origins.key = keySetting.source;

  const out: ResolvedConnection = {
    serverUrl,
    org: org.value,
    orgUrl: `${serverUrl}/organizations/${encodeURIComponent(org.value)}`,
    user: user.value!,
    keyPem: key.pem,
    keySource: key.where,
    insecure: false,
    signVersion: '1.3',
    timeoutMs: DEFAULT_REQUEST_TIMEOUT_SECONDS * 1000,
    reconnectTimeoutMs: DEFAULT_RECONNECT_TIMEOUT_SECONDS * 1000,
    origins,
  };

  const ca = pick(sources, 'caFile');
  if (ca !== undefined) {
    try {
      out.ca = readFileSync(ca.value!, 'utf8');
    } catch (err) {
      throw configError(
        `cannot read the CA file ${ca.value} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); fix --ca-file`,
        undefined,
        err,
      );
    }
    if (!out.ca.includes('-----BEGIN CERTIFICATE-----')) {
      throw configError(`the CA file ${ca.value} holds no PEM certificate; fix --ca-file`);
    }
    out.caFile = ca.value!;
    origins['ca-file'] = ca.source;
  }
  const insecure = pick(sources, 'insecure');
  if (insecure !== undefined) {
    out.insecure = insecure.value === true;
    origins.insecure = insecure.source;
  }
  const version = pick(sources, 'signVersion');
  if (version !== undefined) {
    if (!isSigningVersion(version.value)) {
      throw configError(
        `unsupported signing version '${version.value}' (from ${version.source}); use one of ${SIGNING_VERSIONS.join(', ')}`,
      );
    }
    out.signVersion = version.value;
    origins['sign-version'] = version.source;
  }
  const timeout = pick(sources, 'requestTimeout');
  if (timeout !== undefined) {
    if (!(typeof timeout.value === 'number' && timeout.value > 0)) {
      throw configError(
        `invalid request timeout '${String(timeout.value)}' (from ${timeout.source}); give seconds > 0`,
      );
    }
    out.timeoutMs = Math.round(timeout.value * 1000);
    origins['request-timeout'] = timeout.source;
  }
  const reconnect = pick(sources, 'reconnectTimeout');
  if (reconnect !== undefined) {
    if (!(typeof reconnect.value === 'number' && Number.isFinite(reconnect.value) && reconnect.value >= 0)) {
      throw configError(
        `invalid reconnect timeout '${String(reconnect.value)}' (from ${reconnect.source}); give seconds >= 0 (0: do not retry)`,
      );
    }
    out.reconnectTimeoutMs = Math.round(reconnect.value * 1000);
    origins['reconnect-timeout'] = reconnect.source;
  }
  return out;
}

/** A client for a resolved connection. */
export function createClient(conn: ResolvedConnection, userAgent: string): PushApiClient {
  return new PushApiClient({
    serverUrl: conn.orgUrl,
    userId: conn.user,
    privateKey: conn.keyPem,
    signingVersion: conn.signVersion,
    timeoutMs: conn.timeoutMs,
    rejectUnauthorized: !conn.insecure,
    userAgent,
    ...(conn.ca === undefined ? {} : { ca: conn.ca }),
  });
}
