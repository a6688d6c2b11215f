/**
 * Chef's `~/.chef/credentials`: TOML with one table per profile, e.g.
 *
 * ```toml
 * [default]
 * client_name = "alice"
 * client_key = "alice.pem"            # relative to ~/.chef, or inline PEM
 * chef_server_url = "https://chef.example.com/organizations/acme"
 * ```
 *
 * The profile is `--profile`, else `$CHEF_PROFILE`, else the name in `~/.chef/context`, else
 * `default` (as Chef chooses it). The file is read with `smol-toml` (all of TOML 1.0, as Chef's
 * own reader); its errors are reported by line, column and kind only, never quoting the file,
 * which may hold an inline key.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { configError } from '../errors.js';
import { parse as parseToml, TomlError, type TomlTable, type TomlValue } from 'smol-toml';
import type { KeySetting, SourceSettings } from './types.js';

/** A parsed credentials file. */
export interface CredentialsFile {
  path: string;
  profiles: TomlTable;
}

/** `~/.chef/credentials` of `home`. */
export function credentialsPath(home: string): string {
  return join(home, '.chef', 'credentials');
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw configError(`cannot read ${path}: ${(err as Error).message}; fix its permissions`, undefined, err);
  }
}

/**
 * Where and what a TOML syntax error is: `line 3, column 9: invalid value`. The library's
 * message goes on with the lines around the error, which are left out: they may be a key's.
 */
export function tomlProblem(err: TomlError): string {
  const what = err.message.split('\n', 1)[0]!.replace(/^Invalid TOML document: /, '');
  return `line ${err.line}, column ${err.column}: ${what}`;
}

/** Reads and parses a credentials file; `undefined` when there is none. */
export function readCredentials(path: string): CredentialsFile | undefined {
  const raw = readOptional(path);
  if (raw === undefined) return undefined;
  const text = raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
  try {
    return { path, profiles: parseToml(text) };
  } catch (err) {
    if (err instanceof TomlError) {
      throw configError(
        `${path} is not valid TOML (${tomlProblem(err)}); fix the file or pass settings as flags`,
      );
    }
    throw err;
  }
}

/** A TOML table (a profile), not an array, date or plain value. */
function isTable(value: TomlValue | undefined): value is TomlTable {
  return typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

/**
 * The profile to use when none was asked for: `$CHEF_PROFILE`, else the first line of
 * `~/.chef/context`, else `default`.
 */
export function defaultProfileName(env: NodeJS.ProcessEnv, home: string): string {
  const fromEnv = env['CHEF_PROFILE']?.trim();
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const context = readOptional(join(home, '.chef', 'context'))
    ?.split(/\r?\n/)[0]
    ?.trim();
  return context !== undefined && context !== '' ? context : 'default';
}

function str(table: TomlTable, key: string): string | undefined {
  const v = table[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A `client_key` value: inline PEM, or a path relative to `~/.chef`. */
function keySetting(value: string, chefDir: string): KeySetting {
  if (value.trimStart().startsWith('-----BEGIN')) return { pem: value };
  const path = value.startsWith('~/') ? join(chefDir, '..', value.slice(2)) : value;
  return { path: isAbsolute(path) ? path : resolve(chefDir, path) };
}

/**
 * The settings of one profile. A missing profile is an error when it was asked for by name
 * (`required`), and no settings otherwise.
 */
export function profileSettings(file: CredentialsFile, profile: string, required: boolean): SourceSettings {
  const table = file.profiles[profile];
  if (!isTable(table)) {
    if (!required) return {};
    const known = Object.keys(file.profiles).filter((k) => isTable(file.profiles[k]));
    throw configError(
      `profile '${profile}' is not in ${file.path} (profiles: ${known.length === 0 ? 'none' : known.join(', ')}); pass --profile with one of them`,
    );
  }
  const chefDir = join(file.path, '..');
  const out: SourceSettings = {};
  const url = str(table, 'chef_server_url');
  if (url !== undefined) out.serverUrl = url;
  const user = str(table, 'client_name') ?? str(table, 'node_name');
  if (user !== undefined) out.user = user;
  const key = str(table, 'client_key');
  if (key !== undefined) out.key = keySetting(key, chefDir);
  const ca = str(table, 'ssl_ca_file');
  if (ca !== undefined) out.caFile = isAbsolute(ca) ? ca : resolve(chefDir, ca);
  const verify = str(table, 'ssl_verify_mode')?.replace(/^:/, '');
  if (verify === 'verify_none') out.insecure = true;
  else if (verify === 'verify_peer') out.insecure = false;
  return out;
}
