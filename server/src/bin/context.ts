/**
 * What every `push-jobs-server` command shares: configuration (`--config`, setting flags,
 * environment), opening the store, key files, and the exit-code policy.
 *
 * @module
 */
import { constants as fsConstants } from 'node:fs';
import { access, chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  ERROR_CODES,
  errorMessage,
  EXIT_CODES,
  isPostgresUrl,
  PushJobsError,
  UsageError,
} from '@push-jobs/protocol/internal';
import { SERVER_SETTING_NAMES } from '../config/defaults.js';
import { compileServerConfig, resolveDatabaseUrl } from '../config/load.js';
import type { ServerConfig } from '../config/types.js';
import { normalizePublicKey } from '../identity/keys.js';
import type { Store } from '../store/types.js';

/** The program name, as users type it. */
export const PROGRAM = 'push-jobs-server';

/** Environment variable naming the config file when `--config` is not given. */
export const CONFIG_ENV = 'PUSH_JOBS_CONFIG';

/**
 * The exit codes `push-jobs-server` promises: 0 success, 2 usage error, 1 any other failure
 * (bad configuration, conflict, not found, I/O). See the protocol package's exit-code table.
 */
export const SERVER_EXIT_POLICY = { distinct: [EXIT_CODES.USAGE] } as const;

/** Flag values as a command parsed them (settings, `--config`, `--key-out`, ...). */
export type FlagValues = Readonly<Record<string, unknown>>;

/** A string flag's value. */
export function str(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * The setting values given as flags, by setting name; either spelling (`--api-port`,
 * `--api_port`) counts.
 *
 * @throws UsageError when a setting is given in both spellings.
 */
export function settingFlags(
  values: FlagValues,
  command: string,
): Partial<Record<keyof ServerConfig, unknown>> {
  const flags: Partial<Record<keyof ServerConfig, unknown>> = {};
  for (const name of SERVER_SETTING_NAMES) {
    const kebab = name.replace(/_/g, '-');
    const a = str(values, kebab);
    const b = kebab === name ? undefined : str(values, name);
    if (a !== undefined && b !== undefined) {
      throw new UsageError(`--${kebab} and --${name} are the same setting: give it once`, { command });
    }
    const value = a ?? b;
    if (value !== undefined) flags[name] = value;
  }
  return flags;
}

/**
 * Compiles the configuration from `--config` (or `$PUSH_JOBS_CONFIG`), the environment and the
 * setting flags present in `values`.
 *
 * @throws ConfigError for any bad setting.
 */
export function loadConfig(values: FlagValues, command: string): ServerConfig {
  const file = str(values, 'config') ?? nonEmpty(process.env[CONFIG_ENV]);
  return compileServerConfig({
    ...(file === undefined ? {} : { file }),
    env: process.env,
    flags: settingFlags(values, command),
  });
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

/** True when `path` exists (any kind). */
export async function exists(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens the store named by the configuration (which applies pending migrations). With `create`
 * false, a SQLite database file that does not exist is an error (run `init` first) rather than
 * a new empty database.
 */
export async function openConfiguredStore(config: ServerConfig, opts: { create: boolean }): Promise<Store> {
  const url = resolveDatabaseUrl(config);
  const dataDir = resolve(config.data_dir);
  if (!isPostgresUrl(url) && url !== ':memory:') {
    if (!opts.create && !(await exists(url))) {
      throw new PushJobsError(
        ERROR_CODES.CONFIG,
        `no database at ${url}; run '${PROGRAM} init' first (or pass --data-dir/--database-url)`,
      );
    }
    await mkdir(dirname(url), { recursive: true });
  }
  // Loaded on demand (it loads the database drivers); openStore applies pending migrations.
  const { openStore } = await import('../store/index.js');
  return openStore(url, { dataDir });
}

/** Runs `fn` with the configured store open, closing it afterwards. */
export async function withStore<T>(config: ServerConfig, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openConfiguredStore(config, { create: false });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** `<data_dir>/keys`, absolute. */
export function keysDir(config: Pick<ServerConfig, 'data_dir'>): string {
  return resolve(config.data_dir, 'keys');
}

/** `<data_dir>/keys/<name>.pem`, absolute. */
export function defaultKeyPath(config: Pick<ServerConfig, 'data_dir'>, name: string): string {
  return join(keysDir(config), `${name}.pem`);
}

function keyFileExists(path: string, cause?: unknown): PushJobsError {
  return new PushJobsError(ERROR_CODES.CONFLICT, `key file ${path} already exists; not overwriting it`, {
    cause,
  });
}

/** @throws PushJobsError (conflict) when a file exists at `path` (key files are never overwritten). */
export async function refuseExisting(path: string): Promise<void> {
  if (await exists(path)) throw keyFileExists(path);
}

/**
 * Writes a private key file with mode 0600, never overwriting; a missing parent directory is
 * created with mode 0700.
 */
export async function writeKeyFile(path: string, pem: string): Promise<void> {
  const dir = dirname(path);
  if (!(await exists(dir))) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  }
  try {
    await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EEXIST') throw keyFileExists(path, err);
    throw err;
  }
  await chmod(path, 0o600);
}

/** Reads a public key file for `--public-key`. */
export async function readTextFile(path: string, what: string): Promise<string> {
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
    if (isFile) return await readFile(path, 'utf8');
  } catch (err) {
    throw new PushJobsError(ERROR_CODES.CONFIG, `cannot read ${what} ${path}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  throw new PushJobsError(ERROR_CODES.CONFIG, `${what} ${path} is not a file`);
}

/** How a `create` command gets its key: a given public key, or a generated pair written to a file. */
export type KeyPlan = { publicKey: string; keyOut?: undefined } | { publicKey?: undefined; keyOut: string };

/**
 * Works out `--key-out FILE | --public-key FILE` before anything is created: reads and checks
 * the public key, or checks that the private key file does not exist yet (default
 * `<data_dir>/keys/<name>.pem`).
 *
 * @throws UsageError when both are given; PushJobsError for an unreadable or invalid public key
 *   file or an existing key file.
 */
export async function planKey(
  values: FlagValues,
  config: Pick<ServerConfig, 'data_dir'>,
  name: string,
  command: string,
): Promise<KeyPlan> {
  const publicKeyFile = str(values, 'public-key');
  const keyOut = str(values, 'key-out');
  if (publicKeyFile !== undefined && keyOut !== undefined) {
    throw new UsageError('--key-out and --public-key exclude each other', { command });
  }
  if (publicKeyFile !== undefined) {
    const text = await readTextFile(publicKeyFile, 'public key file');
    try {
      return { publicKey: normalizePublicKey(text) };
    } catch (err) {
      throw new PushJobsError(ERROR_CODES.CONFIG, `public key file ${publicKeyFile}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }
  const path = keyOut === undefined ? defaultKeyPath(config, name) : resolve(keyOut);
  await refuseExisting(path);
  return { keyOut: path };
}
