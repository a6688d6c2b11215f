/**
 * What every `push-jobs-server` command shares: argument parsing on `node:util` `parseArgs`,
 * configuration (`--config`, setting flags, environment), opening the store, key files, and
 * output (human lines or one JSON document with `--json`).
 *
 * @module
 */
import { constants as fsConstants } from 'node:fs';
import { access, chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SERVER_CONFIG, SERVER_SETTING_NAMES } from '../config/defaults.js';
import { compileServerConfig, isPostgresUrl, resolveDatabaseUrl, suggestName } from '../config/load.js';
import type { ServerConfig } from '../config/types.js';
import { normalizePublicKey } from '../identity/keys.js';
import { StoreNotFoundError, type Store } from '../store/types.js';

/** The program name, as users type it. */
export const PROGRAM = 'push-jobs-server';

/** Environment variable naming the config file when `--config` is not given. */
export const CONFIG_ENV = 'PUSH_JOBS_CONFIG';

/** A command-line mistake: exit status 2, with a hint to the command's `--help`. */
export class UsageError extends Error {
  /** The command words, e.g. `org create`, for the hint. */
  readonly command: string;
  constructor(message: string, command = '') {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** An operational failure (conflict, not found, I/O): exit status 1. */
export class CommandError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CommandError';
  }
}

/** One option of a command, as `parseArgs` takes it. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
}

/** Option values after parsing. */
export type OptionValues = Record<string, string | boolean | undefined>;

/** A command's parse description. */
export interface CommandSpec {
  /** The command words, e.g. `org create`. */
  command: string;
  options: Record<string, OptionSpec>;
  /** Names of the required positionals, in order. */
  positionals?: readonly string[];
  /** The full help text printed by `--help`. */
  help: string;
}

/** Parsed arguments. */
export interface ParsedCommand {
  values: OptionValues;
  positionals: string[];
}

/** Options of every command that reads the store: where to find it, and output form. */
export const STORE_OPTIONS: Record<string, OptionSpec> = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  data_dir: { type: 'string' },
  'database-url': { type: 'string' },
  database_url: { type: 'string' },
  json: { type: 'boolean' },
};

/** Help lines describing {@link STORE_OPTIONS}. */
export const STORE_OPTIONS_HELP = `Store options:
  --config FILE           JSON config file (default: $${CONFIG_ENV}, if set)
  --data-dir DIR          data directory (default: ${DEFAULT_SERVER_CONFIG.data_dir})
  --database-url URL      SQLite path (relative to the data dir) or postgres://... URL
  --json                  print one JSON document instead of lines
Settings also come from PUSH_JOBS_<SETTING> environment variables (PUSH_JOBS_DATA_DIR=...).`;

/** Every setting as a flag, both `--api-port` and `--api_port`. */
export function settingOptions(): Record<string, OptionSpec> {
  const options: Record<string, OptionSpec> = {};
  for (const name of SERVER_SETTING_NAMES) {
    options[name] = { type: 'string' };
    options[name.replace(/_/g, '-')] = { type: 'string' };
  }
  return options;
}

function describeParseError(err: unknown, spec: CommandSpec): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(message)?.[1] ?? message;
    const bare = option.replace(/^-+/, '').split('=')[0] ?? '';
    const found = suggestName(bare, Object.keys(spec.options));
    // Prefer the kebab-case spelling of a setting that has both.
    const kebab = found?.replace(/_/g, '-');
    const suggestion = kebab !== undefined && kebab in spec.options ? kebab : found;
    return `unknown option ${option}${suggestion === undefined ? '' : ` (did you mean --${suggestion}?)`}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = /'(--?[^' ]+)/.exec(message)?.[1];
    if (option !== undefined && /argument missing|ambiguous/.test(message))
      return `option ${option} needs a value`;
    if (option !== undefined) return `option ${option} takes no value`;
  }
  return message;
}

/**
 * Parses `args` for a command. Resolves to `undefined` after printing the help when `--help`
 * or `-h` is given.
 *
 * @throws UsageError for unknown options, missing values, or a wrong number of positionals.
 */
export function parseCommand(args: readonly string[], spec: CommandSpec): ParsedCommand | undefined {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(spec.help.endsWith('\n') ? spec.help : `${spec.help}\n`);
    return undefined;
  }
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...args],
      options: spec.options,
      allowPositionals: true,
      strict: true,
    }) as { values: OptionValues; positionals: string[] };
  } catch (err) {
    throw new UsageError(describeParseError(err, spec), spec.command);
  }
  const wanted = spec.positionals ?? [];
  if (parsed.positionals.length < wanted.length) {
    const missing = wanted.slice(parsed.positionals.length).join(' ');
    throw new UsageError(`missing ${missing}`, spec.command);
  }
  if (parsed.positionals.length > wanted.length) {
    const extra = parsed.positionals.slice(wanted.length).join(' ');
    throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`, spec.command);
  }
  return parsed;
}

/** A string option's value. */
export function str(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A boolean option's value. */
export function flag(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

/**
 * The setting values given as flags, by setting name; either spelling (`--api-port`,
 * `--api_port`) counts.
 *
 * @throws UsageError when a setting is given in both spellings.
 */
export function settingFlags(
  values: OptionValues,
  command: string,
): Partial<Record<keyof ServerConfig, unknown>> {
  const flags: Partial<Record<keyof ServerConfig, unknown>> = {};
  for (const name of SERVER_SETTING_NAMES) {
    const kebab = name.replace(/_/g, '-');
    const a = str(values, kebab);
    const b = kebab === name ? undefined : str(values, name);
    if (a !== undefined && b !== undefined) {
      throw new UsageError(`--${kebab} and --${name} are the same setting: give it once`, command);
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
export function loadConfig(values: OptionValues, command: string): ServerConfig {
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
      throw new CommandError(
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

/** @throws CommandError when a file exists at `path` (key files are never overwritten). */
export async function refuseExisting(path: string, what = 'key file'): Promise<void> {
  if (await exists(path)) throw new CommandError(`${what} ${path} already exists; not overwriting it`);
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
    if ((err as { code?: unknown }).code === 'EEXIST') {
      throw new CommandError(`key file ${path} already exists; not overwriting it`, { cause: err });
    }
    throw err;
  }
  await chmod(path, 0o600);
}

/** Reads a public key file for `--public-key`. */
export async function readTextFile(path: string, what: string): Promise<string> {
  try {
    if (!(await stat(path)).isFile()) throw new CommandError(`${what} ${path} is not a file`);
    return await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof CommandError) throw err;
    throw new CommandError(
      `cannot read ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
}

/** Prints `data` as JSON with `--json`, otherwise the human `lines`. */
export function output(values: OptionValues, data: unknown, lines: string | readonly string[]): void {
  if (flag(values, 'json')) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  const text = typeof lines === 'string' ? lines : lines.join('\n');
  if (text !== '') process.stdout.write(`${text}\n`);
}

/** Exit status for an error: 2 for usage errors, 1 otherwise. */
export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError ? 2 : 1;
}

/** The one-line message for an error. */
export function errorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.message.replace(/\s*\n\s*/g, ' ').trim() || err.name;
}

/** Confirms a destructive command. @throws UsageError without `--yes`. */
export function requireYes(values: OptionValues, what: string, command: string): void {
  if (!flag(values, 'yes')) throw new UsageError(`refusing to delete ${what} without --yes`, command);
}

/** How a `create` command gets its key: a given public key, or a generated pair written to a file. */
export type KeyPlan = { publicKey: string; keyOut?: undefined } | { publicKey?: undefined; keyOut: string };

/**
 * Works out `--key-out FILE | --public-key FILE` before anything is created: reads and checks
 * the public key, or checks that the private key file does not exist yet (default
 * `<data_dir>/keys/<name>.pem`).
 *
 * @throws UsageError when both are given; CommandError for an unreadable or invalid public key
 *   file or an existing key file.
 */
export async function planKey(
  values: OptionValues,
  config: Pick<ServerConfig, 'data_dir'>,
  name: string,
  command: string,
): Promise<KeyPlan> {
  const publicKeyFile = str(values, 'public-key');
  const keyOut = str(values, 'key-out');
  if (publicKeyFile !== undefined && keyOut !== undefined) {
    throw new UsageError('--key-out and --public-key exclude each other', command);
  }
  if (publicKeyFile !== undefined) {
    const text = await readTextFile(publicKeyFile, 'public key file');
    try {
      return { publicKey: normalizePublicKey(text) };
    } catch (err) {
      throw new CommandError(`public key file ${publicKeyFile}: ${errorMessage(err)}`, { cause: err });
    }
  }
  const path = keyOut === undefined ? defaultKeyPath(config, name) : resolve(keyOut);
  await refuseExisting(path);
  return { keyOut: path };
}

/** Key options of the `create` commands. */
export const KEY_OPTIONS: Record<string, OptionSpec> = {
  'key-out': { type: 'string' },
  'public-key': { type: 'string' },
};

/** One verb of a command group (`org create`). */
export interface Verb {
  summary: string;
  run(args: readonly string[]): Promise<number>;
}

/**
 * Dispatches `GROUP VERB ...` to the verb; prints `groupHelp` for `GROUP --help` (or `-h`).
 *
 * @throws UsageError for a missing or unknown verb.
 */
export async function runVerbs(
  group: string,
  args: readonly string[],
  verbs: Record<string, Verb>,
  groupHelp: string,
): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(`${groupHelp}\n`);
    return 0;
  }
  const names = Object.keys(verbs);
  if (verb === undefined) throw new UsageError(`missing command: ${group} ${names.join('|')}`, group);
  const found = Object.prototype.hasOwnProperty.call(verbs, verb) ? verbs[verb] : undefined;
  if (found === undefined) {
    const suggestion = suggestName(verb, names);
    const hint = suggestion === undefined ? '' : ` (did you mean "${group} ${suggestion}"?)`;
    throw new UsageError(`unknown command "${group} ${verb}"${hint}`, group);
  }
  return found.run(rest);
}

/** The lines listing the verbs of a group, for its help. */
export function verbList(group: string, verbs: Record<string, Verb>): string {
  return Object.entries(verbs)
    .map(([name, verb]) => `  ${`${group} ${name}`.padEnd(24)}${verb.summary}`)
    .join('\n');
}

/**
 * A `delete NAME --yes` verb. `orgOf` (for things that live in an org) reads and checks the
 * org option; `remove` resolves false when there was nothing to delete (exit 1, not found).
 */
export function deleteVerb(opts: {
  entity: 'org' | 'user' | 'client';
  summary: string;
  spec: CommandSpec;
  remove: (store: Store, name: string, org: string | undefined) => Promise<boolean>;
  orgOf?: (values: OptionValues, command: string) => string;
}): Verb {
  const { entity, spec } = opts;
  return {
    summary: opts.summary,
    async run(args) {
      const parsed = parseCommand(args, spec);
      if (parsed === undefined) return 0;
      const { values, positionals } = parsed;
      const name = positionals[0] ?? '';
      const org = opts.orgOf?.(values, spec.command);
      requireYes(values, `${entity} ${name}`, spec.command);
      const config = loadConfig(values, spec.command);
      const deleted = await withStore(config, (store) => opts.remove(store, name, org));
      if (!deleted) throw new StoreNotFoundError(entity, org === undefined ? name : `${org}/${name}`);
      const json = org === undefined ? { deleted: entity, name } : { deleted: entity, org, name };
      output(values, json, `deleted ${entity} ${name}${org === undefined ? '' : ` of org ${org}`}`);
      return 0;
    },
  };
}
