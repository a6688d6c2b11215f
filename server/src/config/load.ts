/**
 * Compiles the server's settings from layers: defaults, then a JSON config file, then
 * `PUSH_JOBS_<SETTING>` environment variables, then command-line flags (the last one given
 * wins). Every value is validated where it comes from, so an error names the setting and its
 * source.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import {
  ERROR_CODES,
  isPostgresUrl,
  MAX_PORT,
  MAX_TIMER_DELAY_MS,
  PushJobsError,
  serverSettingSchema,
} from '@push-jobs/protocol/internal';
import { DEFAULT_SERVER_CONFIG, SERVER_SETTING_NAMES } from './defaults.js';
import type { ServerConfig } from './types.js';

/** Prefix of the environment variables that set a setting: `PUSH_JOBS_API_PORT` sets `api_port`. */
export const ENV_PREFIX = 'PUSH_JOBS_';

/**
 * Thrown when the configuration cannot be compiled. `problems` lists every problem found,
 * one sentence each naming the setting and where it came from; `message` joins them with `; `.
 */
export class ConfigError extends PushJobsError {
  /** Every problem found, in the order found. */
  readonly problems: readonly string[];
  constructor(problems: string | readonly string[], options?: { cause?: unknown }) {
    const list = typeof problems === 'string' ? [problems] : [...problems];
    super(ERROR_CODES.CONFIG, list.join('; '), { cause: options?.cause });
    this.problems = list;
  }
}

/** What {@link compileServerConfig} reads. */
export interface ConfigSources {
  /** A JSON file holding an object of settings (snake_case names). */
  file?: string;
  /** Environment variables; only `PUSH_JOBS_<SETTING>` ones are read, others are ignored. */
  env?: Record<string, string | undefined>;
  /**
   * Command-line values by setting name; `undefined` entries are skipped. Strings are converted
   * like environment values; other values must already have the setting's type.
   */
  flags?: Partial<Record<keyof ServerConfig, unknown>>;
}

/** Where a setting's value came from. */
export type SettingSource =
  | { kind: 'default' }
  | { kind: 'file'; path: string }
  | { kind: 'env'; name: string }
  | { kind: 'flag'; name: string };

type Rule =
  | { kind: 'port' }
  | { kind: 'int'; min: number; max?: number }
  | { kind: 'positive-number' }
  | { kind: 'bool' }
  | { kind: 'string' }
  | { kind: 'nullable-path' }
  | { kind: 'enum'; values: readonly string[] };

/** The JSON Schema keywords of a setting that its rule is read from. */
interface SettingSchema {
  type?: string;
  minimum?: number;
  maximum?: number;
  enum?: readonly string[];
  anyOf?: readonly SettingSchema[];
}

/**
 * How a setting is converted and checked, read from its schema in `ServerConfigSchema`: an
 * integer with the largest port as its maximum is a port, a string-or-null is an optional
 * path, a string with an `enum` is one of its values.
 */
function ruleOf(schema: SettingSchema): Rule {
  if (schema.anyOf !== undefined) return { kind: 'nullable-path' };
  if (schema.enum !== undefined) return { kind: 'enum', values: schema.enum };
  switch (schema.type) {
    case 'integer':
      if (schema.maximum === MAX_PORT) return { kind: 'port' };
      return {
        kind: 'int',
        min: schema.minimum ?? 0,
        ...(schema.maximum === undefined ? {} : { max: schema.maximum }),
      };
    case 'number':
      return { kind: 'positive-number' };
    case 'boolean':
      return { kind: 'bool' };
    default:
      return { kind: 'string' };
  }
}

const RULES = Object.fromEntries(
  SERVER_SETTING_NAMES.map((name) => [name, ruleOf(serverSettingSchema(name) as SettingSchema)]),
) as Record<keyof ServerConfig, Rule>;

const INTEGER_TEXT = /^[+-]?\d+$/;
const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TRUE_TEXT = new Set(['true', '1', 'yes']);
const FALSE_TEXT = new Set(['false', '0', 'no']);

function expectation(rule: Rule, value?: unknown): string {
  if (
    rule.kind === 'int' &&
    rule.max !== undefined &&
    Number.isSafeInteger(value) &&
    (value as number) > rule.max
  ) {
    return `an integer of at most ${rule.max} (the longest timer)`;
  }
  switch (rule.kind) {
    case 'port':
      // 0 (any free port) is accepted too, for tests; it is not advertised.
      return 'an integer from 1 to 65535';
    case 'int': {
      const least = rule.min === 1 ? 'a positive integer' : `an integer of at least ${rule.min}`;
      return least;
    }
    case 'positive-number':
      return 'a number greater than 0';
    case 'bool':
      return 'true or false';
    case 'string':
      return 'a non-empty string';
    case 'nullable-path':
      return 'a file path or null';
    case 'enum':
      return `one of ${rule.values.join(', ')}`;
  }
}

/** Converts an environment or flag string to the setting's type; `undefined` when it cannot. */
function fromText(rule: Rule, text: string): unknown {
  const t = text.trim();
  switch (rule.kind) {
    case 'port':
    case 'int':
      return INTEGER_TEXT.test(t) ? Number(t) : undefined;
    case 'positive-number':
      return NUMBER_TEXT.test(t) ? Number(t) : undefined;
    case 'bool': {
      const lower = t.toLowerCase();
      if (TRUE_TEXT.has(lower)) return true;
      if (FALSE_TEXT.has(lower)) return false;
      return undefined;
    }
    case 'nullable-path':
      return t === '' || t === 'null' ? null : text;
    case 'string':
    case 'enum':
      return text;
  }
}

/** True when `value` is valid for `rule`. */
function isValid(rule: Rule, value: unknown): boolean {
  switch (rule.kind) {
    case 'port':
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535;
    case 'int':
      return (
        Number.isSafeInteger(value) &&
        (value as number) >= rule.min &&
        (rule.max === undefined || (value as number) <= rule.max)
      );
    case 'positive-number':
      return typeof value === 'number' && Number.isFinite(value) && value > 0;
    case 'bool':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string' && value.trim() !== '';
    case 'nullable-path':
      return value === null || (typeof value === 'string' && value.trim() !== '');
    case 'enum':
      return typeof value === 'string' && rule.values.includes(value);
  }
}

/** `--api-port` for `api_port`. */
export function settingFlagName(setting: string): string {
  return `--${setting.replace(/_/g, '-')}`;
}

/** `PUSH_JOBS_API_PORT` for `api_port`. */
export function settingEnvName(setting: string): string {
  return ENV_PREFIX + setting.toUpperCase();
}

/** `in FILE`, `from environment NAME`, `from flag --name`, `from defaults`. */
export function describeSource(source: SettingSource): string {
  switch (source.kind) {
    case 'default':
      return 'from defaults';
    case 'file':
      return `in ${source.path}`;
    case 'env':
      return `from environment ${source.name}`;
    case 'flag':
      return `from flag ${source.name}`;
  }
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * The known name closest to `name`, when it is close enough to be a typo (case, `-` for `_`,
 * or a few edits away); otherwise `undefined`.
 */
export function suggestName(name: string, known: readonly string[]): string | undefined {
  const normalized = name.toLowerCase().replace(/-/g, '_');
  if (known.includes(normalized)) return normalized;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(normalized, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(normalized.length / 4)) ? best : undefined;
}

function isSetting(name: string): name is keyof ServerConfig {
  return Object.prototype.hasOwnProperty.call(RULES, name);
}

function unknownSetting(name: string, where: string): string {
  const suggestion = suggestName(name, SERVER_SETTING_NAMES);
  const hint = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`;
  return `unknown setting "${name}" ${where}${hint}`;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`cannot read config file ${path}: ${reason}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`invalid JSON in config file ${path}: ${reason}`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a JSON object of settings`);
  }
  return parsed as Record<string, unknown>;
}

/** A compiled configuration with where each setting came from. */
export interface CompiledServerConfig {
  config: ServerConfig;
  sources: Record<keyof ServerConfig, SettingSource>;
}

/**
 * Like {@link compileServerConfig}, and also tells where each setting's value came from.
 *
 * @throws ConfigError listing every problem found.
 */
export function compileServerConfigWithSources(sources: ConfigSources = {}): CompiledServerConfig {
  const config: Record<string, unknown> = { ...DEFAULT_SERVER_CONFIG };
  const origin = {} as Record<keyof ServerConfig, SettingSource>;
  for (const name of SERVER_SETTING_NAMES) origin[name] = { kind: 'default' };
  const problems: string[] = [];

  const set = (name: keyof ServerConfig, value: unknown, source: SettingSource, raw: unknown): void => {
    const rule = RULES[name];
    if (value === undefined || !isValid(rule, value)) {
      problems.push(
        `invalid setting ${name} ${describeSource(source)}: expected ${expectation(rule, value)}, got ${JSON.stringify(raw)}`,
      );
      return;
    }
    config[name] = value;
    origin[name] = source;
  };

  if (sources.file !== undefined) {
    const path = sources.file;
    const values = readConfigFile(path);
    for (const [name, value] of Object.entries(values)) {
      if (!isSetting(name)) {
        problems.push(unknownSetting(name, `in ${path}`));
        continue;
      }
      set(name, value, { kind: 'file', path }, value);
    }
  }

  if (sources.env !== undefined) {
    for (const name of SERVER_SETTING_NAMES) {
      const envName = settingEnvName(name);
      const text = sources.env[envName];
      if (text === undefined) continue;
      set(name, fromText(RULES[name], text), { kind: 'env', name: envName }, text);
    }
  }

  if (sources.flags !== undefined) {
    for (const [name, value] of Object.entries(sources.flags)) {
      if (value === undefined) continue;
      if (!isSetting(name)) {
        problems.push(unknownSetting(name, 'in flags'));
        continue;
      }
      const converted = typeof value === 'string' ? fromText(RULES[name], value) : value;
      set(name, converted, { kind: 'flag', name: settingFlagName(name) }, value);
    }
  }

  const cert = config.tls_cert;
  const key = config.tls_key;
  if ((cert === null) !== (key === null)) {
    const [given, missing] =
      cert === null ? (['tls_key', 'tls_cert'] as const) : (['tls_cert', 'tls_key'] as const);
    problems.push(
      `invalid settings: ${given} is set (${describeSource(origin[given])}) but ${missing} is not; set both or neither`,
    );
  }

  // The liveness scan runs every heartbeat_interval × detect_offline_nodes_interval ms: a timer.
  const scanMs = (config.heartbeat_interval as number) * (config.detect_offline_nodes_interval as number);
  if (scanMs > MAX_TIMER_DELAY_MS) {
    problems.push(
      `invalid settings: heartbeat_interval × detect_offline_nodes_interval is ${scanMs} ms (${describeSource(origin.heartbeat_interval)}, ${describeSource(origin.detect_offline_nodes_interval)}), longer than the longest timer (${MAX_TIMER_DELAY_MS} ms)`,
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return { config: config as unknown as ServerConfig, sources: origin };
}

/**
 * Compiles the server configuration: defaults, then the JSON `file`, then `PUSH_JOBS_<SETTING>`
 * variables of `env` (strings converted to the setting's type: integers, numbers, booleans
 * `true/false/1/0/yes/no`, and `null` or empty for `tls_cert`/`tls_key`), then `flags`.
 *
 * @example
 * ```ts
 * const config = compileServerConfig({ file: '/etc/push-jobs/server.json', env: process.env, flags: { api_port: '10003' } });
 * ```
 * @throws ConfigError naming each bad setting and its source, an unknown setting (with a
 *   suggestion), an unreadable file or bad JSON in it.
 */
export function compileServerConfig(sources: ConfigSources = {}): ServerConfig {
  return compileServerConfigWithSources(sources).config;
}

/**
 * The database URL to open: a PostgreSQL URL as is; `:memory:` as is; a SQLite path made
 * absolute, relative paths resolving against `data_dir` (itself relative to the working
 * directory).
 */
export function resolveDatabaseUrl(config: Pick<ServerConfig, 'database_url' | 'data_dir'>): string {
  const url = config.database_url;
  if (isPostgresUrl(url) || url === ':memory:' || isAbsolute(url)) return url;
  return resolve(config.data_dir, url);
}

/** `url` with any password replaced by `***`, for printing. */
export function redactDatabaseUrl(url: string): string {
  if (!isPostgresUrl(url)) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}
