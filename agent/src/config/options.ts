/**
 * The agent's effective options: defaults, then the config file, then explicit command-line
 * flags (client spec A.2), with every default filled in (A.3, A.4) and the result validated
 * against the protocol's `AgentConfigSchema`.
 *
 * @module
 */
import { hostname as osHostname } from 'node:os';
import {
  type AgentConfig,
  AGENT_CONFIG_KEYS,
  DEFAULT_AGENT_CONFIG_PATHS,
  DEFAULT_AGENT_FILE_DIR,
  DEFAULT_AGENT_MAX_BODY_SIZE_BYTES,
  DEFAULT_WHITELIST,
  ERROR_CODES,
  InvalidArgumentError,
  type LogLevel,
  orgNameFromChefServerUrl,
  liteValidators,
  type Whitelist,
} from '@push-jobs/protocol/lite';
import { type ConfigEnv, parseConfigText } from './ruby-config.js';

/**
 * What the command line or a config file provides; every key optional. `max_body_size` may
 * be a string (it arrives as one from `-M`).
 */
export type AgentOptions = Omit<Partial<AgentConfig>, 'max_body_size'> & {
  /** See {@link CompiledAgentOptions.chef_server_urls}. */
  chef_server_urls?: string[];
  /** See {@link CompiledAgentOptions.allowed_unsafe_job_env_vars}. */
  allowed_unsafe_job_env_vars?: string[];
  /** The config file named with `-c`/`--config`. */
  config_file?: string;
  /** Largest message, in bytes; a decimal string is accepted. */
  max_body_size?: number | string;
};

/** The agent's options with every default filled in. */
export type CompiledAgentOptions = AgentConfig & {
  node_name: string;
  client_name: string;
  client_key: string;
  whitelist: Whitelist;
  file_dir: string;
  allow_unencrypted: boolean;
  max_body_size: number;
  log_level: LogLevel;
  log_location: string;
  include_timestamp: boolean;
  http_retry_count: number;
  http_retry_delay: number;
  /**
   * Names of variables a job's `env` may set although the agent calls them unsafe (`LD_PRELOAD`,
   * `PATH`, `BASH_ENV`, ...: see `UNSAFE_JOB_ENV_VARS`), exact and case-sensitive; default none.
   * A job that sets any other unsafe name is refused (`nack_commit`).
   */
  allowed_unsafe_job_env_vars: string[];
  /**
   * Ours: every server URL the agent may fetch its config from, in order, each ending in the
   * same `/organizations/ORG` (the `chef_server_urls` key, or `chef_server_url` alone; then
   * `chef_server_url` is its first entry). The agent uses the first that answers and, when its
   * server goes silent, tries the others in order starting after it.
   */
  chef_server_urls: string[];
  /** The org name from `chef_server_url`. */
  org_name: string;
  /** The config file read, if any. */
  config_file: string | undefined;
  /** The host's short name (the `client` field of outgoing messages, A.4). */
  hostname: string;
  /** Config file lines and keys that were ignored. */
  warnings: string[];
};

/** The host names the node name defaults to (ohai's `fqdn`, then `hostname`). */
export interface HostNames {
  /** Fully qualified name, when known. */
  fqdn?: string;
  /** Short host name. */
  hostname: string;
}

/** A config file for {@link compileAgentOptions}: its text (parsed here) or parsed values. */
export type AgentConfigFileInput =
  | { path: string; text: string }
  | {
      path: string;
      values: Record<string, unknown>;
      warnings?: string[];
      /** The line that set each key, for error messages. */
      lines?: Record<string, number>;
    };

/** Input of {@link compileAgentOptions}. */
export interface CompileAgentOptionsInput {
  /** Explicit command-line flags (they override the config file). */
  flags: AgentOptions;
  /** The config file, when one was found or named. */
  file?: AgentConfigFileInput;
  /** The process environment (for `ENV[...]` reads in the config file). */
  env: ConfigEnv;
  /** Host names; default {@link detectHostNames}. */
  host?: HostNames;
}

/** Thrown when the effective options are invalid; `errors` names each key and its source. */
export class AgentConfigError extends InvalidArgumentError {
  /** One message per problem, each naming the key and where it came from. */
  readonly errors: readonly string[];
  constructor(message: string, errors: readonly string[] = [message]) {
    super(message, { code: ERROR_CODES.CONFIG });
    this.errors = errors;
  }
}

/** The original's message for a `chef_server_url` without `/organizations/ORG`. */
export const CHEF_SERVER_URL_ERROR = 'chef_server must end in /organizations/ORG_NAME';

/** Chef's default `client_key` (`/etc/chef/client.pem`). */
export const DEFAULT_AGENT_CLIENT_KEY = '/etc/chef/client.pem';

/** Retries of the first config fetch (A.4: Chef's `http_retry_count`). */
export const DEFAULT_HTTP_RETRY_COUNT = 5;

/** Seconds between those retries (A.4: Chef's `http_retry_delay`). */
export const DEFAULT_HTTP_RETRY_DELAY_S = 30;

/** Default `log_location`. */
export const DEFAULT_AGENT_LOG_LOCATION = 'STDOUT';

/** Default `log_level` (Chef's `:auto` with `force_logger`, A.2). */
export const DEFAULT_AGENT_LOG_LEVEL: LogLevel = 'info';

/**
 * Chef client settings a shared `client.rb` commonly holds that the agent does not use; they
 * are ignored with a warning instead of failing validation.
 */
export const IGNORED_CHEF_CONFIG_KEYS: readonly string[] = Object.freeze([
  'validator_key',
  'cache_path',
  'file_backup_path',
  'pid_file',
  'json_attribs',
  'chef_license',
  'ssl_ca_file',
  'ssl_ca_path',
  'ssl_client_cert',
  'ssl_client_key',
  'interval',
  'splay',
  'use_policyfile',
  'chef_zero',
  'local_mode',
  'enable_reporting',
  'enable_reporting_url_fatals',
  'rubygems_url',
  'automatic_attribute_whitelist',
  'default_attribute_whitelist',
  'normal_attribute_whitelist',
  'override_attribute_whitelist',
  'data_collector',
  'exception_handlers',
  'report_handlers',
  'start_handlers',
  'diff_disabled',
  'umask',
  'user',
  'group',
  'daemonize',
  'fips',
  'rest_timeout',
  'http_retry_count',
  'http_retry_delay',
]);

/**
 * Ours, and not (yet) a key of the protocol's `AgentConfigSchema`: the list of server URLs.
 * Read and checked here, then taken out before the schema validation.
 */
export const CHEF_SERVER_URLS_KEY = 'chef_server_urls';

const KNOWN_KEYS = new Set(AGENT_CONFIG_KEYS);

/**
 * The host's names from the OS: `fqdn` when `os.hostname()` is dotted, and the short name
 * (its first label).
 */
export function detectHostNames(): HostNames {
  const full = osHostname();
  const short = full.split('.')[0] ?? full;
  return full.includes('.') ? { fqdn: full, hostname: short } : { hostname: short };
}

/**
 * Where the agent looks for its config file when `-c` is not given: the original's
 * `DEFAULT_AGENT_CONFIG_PATHS` (A.2), each followed by its `/etc/push-jobs/` equivalent, so a
 * dedicated push jobs file in either directory wins over a generic `client.rb`.
 */
export const AGENT_CONFIG_SEARCH_PATHS: readonly string[] = Object.freeze(
  DEFAULT_AGENT_CONFIG_PATHS.flatMap((path) => [path, path.replace(/^\/etc\/chef\//u, '/etc/push-jobs/')]),
);

/**
 * The first of {@link AGENT_CONFIG_SEARCH_PATHS} for which `exists` is true, or `undefined`.
 */
export function findDefaultConfigFile(exists: (path: string) => boolean): string | undefined {
  return AGENT_CONFIG_SEARCH_PATHS.find((path) => exists(path));
}

function parseMaxBodySize(value: unknown, source: string): unknown {
  if (typeof value !== 'string') return value;
  if (!/^\s*[0-9]+\s*$/u.test(value)) {
    throw new AgentConfigError(`max_body_size (from ${source}) must be a positive integer, got '${value}'`);
  }
  return Number(value.trim());
}

/** A URL compared with another: without a trailing `/`. */
function comparableUrl(url: string): string {
  return url.replace(/\/+$/u, '');
}

/**
 * Settles `chef_server_url` and `chef_server_urls` in `merged` (see
 * {@link CompiledAgentOptions.chef_server_urls}) and returns the list, or `undefined` when only
 * `chef_server_url` is set. The two keys are one setting: when the command line sets one, the
 * config file's other is not used (`-S` names the one server, a file's list is ignored with a
 * warning; a list on the command line replaces the file's `chef_server_url`). Set by the same
 * source, `chef_server_url` must be one of the list. On return `merged` holds no
 * `chef_server_urls` (the schema does not know it) and `chef_server_url` is the list's first entry.
 *
 * @throws AgentConfigError for a list that is not a non-empty list of distinct URLs, each
 *   ending in `/organizations/ORG` of one and the same org.
 */
function resolveServerUrls(
  merged: Record<string, unknown>,
  origin: Record<string, string>,
  warnings: string[],
): string[] | undefined {
  if (!(CHEF_SERVER_URLS_KEY in merged)) return undefined;
  const value = merged[CHEF_SERVER_URLS_KEY];
  const from = origin[CHEF_SERVER_URLS_KEY] ?? 'defaults';
  delete merged[CHEF_SERVER_URLS_KEY];
  const cli = 'the command line';
  const urlFromCli = origin.chef_server_url === cli;
  if ('chef_server_url' in merged && urlFromCli !== (from === cli)) {
    if (urlFromCli) {
      warnings.push(`${from}: ignored chef_server_urls: -S/--server on the command line names the server`);
      return undefined;
    }
    delete merged.chef_server_url;
  }
  const example =
    "e.g. ['https://push1.example.com/organizations/ORG', 'https://push2.example.com/organizations/ORG']";
  if (!Array.isArray(value) || value.some((u) => typeof u !== 'string')) {
    throw new AgentConfigError(`chef_server_urls (from ${from}) must be a list of URLs, ${example}`);
  }
  const urls = value as string[];
  if (urls.length === 0) {
    throw new AgentConfigError(`chef_server_urls (from ${from}) is empty: list at least one URL, ${example}`);
  }
  const problems: string[] = [];
  const orgs = new Map<string, string>();
  const seen = new Set<string>();
  urls.forEach((url, i) => {
    const org = orgNameFromChefServerUrl(url);
    if (org === undefined) {
      problems.push(`${CHEF_SERVER_URL_ERROR} (chef_server_urls entry ${i + 1}, '${url}', from ${from})`);
      return;
    }
    if (!orgs.has(org)) orgs.set(org, url);
    if (seen.has(comparableUrl(url))) {
      problems.push(`chef_server_urls (from ${from}) lists '${url}' twice`);
    }
    seen.add(comparableUrl(url));
  });
  if (orgs.size > 1) {
    const named = [...orgs].map(([org, url]) => `'${url}' names ${org}`).join(', ');
    problems.push(`chef_server_urls (from ${from}) must all name the same organization: ${named}`);
  }
  const single = merged.chef_server_url;
  if (typeof single === 'string' && !seen.has(comparableUrl(single))) {
    problems.push(
      `chef_server_url '${single}' (from ${origin.chef_server_url ?? from}) is not one of chef_server_urls ` +
        `(from ${from}): list it there, or leave chef_server_url out`,
    );
  }
  if (problems.length > 0) {
    throw new AgentConfigError(`invalid agent configuration: ${problems.join('; ')}`, problems);
  }
  merged.chef_server_url = urls[0];
  origin.chef_server_url = from;
  return [...urls];
}

/**
 * Merges defaults < config file < explicit flags, fills every default, parses the org name
 * and validates the result with `liteValidators.agentConfig`.
 *
 * @throws ConfigFileError when the config file cannot be parsed.
 * @throws AgentConfigError naming each bad key and its source (a flag, `FILE:LINE`, a default);
 *   unknown keys of the file are not errors: they are ignored with a warning;
 *   a `chef_server_url` without `/organizations/ORG` fails with
 *   {@link CHEF_SERVER_URL_ERROR}.
 */
export function compileAgentOptions(input: CompileAgentOptionsInput): CompiledAgentOptions {
  const { flags, file, env } = input;
  const host = input.host ?? detectHostNames();
  const warnings: string[] = [];
  const merged: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  const filePath = file?.path ?? flags.config_file;

  if (file !== undefined) {
    const parsed =
      'text' in file
        ? parseConfigText(file.text, { file: file.path, env })
        : { values: file.values, warnings: file.warnings ?? [], lines: file.lines ?? {} };
    warnings.push(...parsed.warnings);
    for (const [key, value] of Object.entries(parsed.values)) {
      // `FILE:LINE` when the line is known, so a bad value names the line that set it.
      const line = parsed.lines[key];
      const where = line === undefined ? file.path : `${file.path}:${line}`;
      if (key === 'environment' && typeof value === 'string') {
        // chef-client's `environment 'NAME'`: the node's Chef environment, unless set explicitly.
        if (!('chef_environment' in parsed.values)) {
          merged.chef_environment = value;
          origin.chef_environment = where;
        }
      } else if (key === CHEF_SERVER_URLS_KEY) {
        merged[key] = value;
        origin[key] = where;
      } else if (IGNORED_CHEF_CONFIG_KEYS.includes(key)) {
        warnings.push(`${where}: ignored Chef setting '${key}' (not used by the push jobs client)`);
      } else if (!KNOWN_KEYS.has(key)) {
        // Unknown keys warn rather than stop start-up: a client.rb shared with chef-client holds many.
        warnings.push(`${where}: ignored unknown configuration key '${key}'`);
      } else {
        merged[key] = value;
        origin[key] = where;
      }
    }
  }

  for (const [key, value] of Object.entries(flags)) {
    if (key === 'config_file' || value === undefined) continue;
    merged[key] = value;
    origin[key] = 'the command line';
  }

  if ('max_body_size' in merged) {
    merged.max_body_size = parseMaxBodySize(merged.max_body_size, origin.max_body_size ?? 'defaults');
  }

  const defaults: Record<string, unknown> = {
    node_name: host.fqdn ?? host.hostname,
    client_key: DEFAULT_AGENT_CLIENT_KEY,
    whitelist: { ...DEFAULT_WHITELIST },
    file_dir: DEFAULT_AGENT_FILE_DIR,
    allow_unencrypted: false,
    max_body_size: DEFAULT_AGENT_MAX_BODY_SIZE_BYTES,
    log_level: DEFAULT_AGENT_LOG_LEVEL,
    log_location: DEFAULT_AGENT_LOG_LOCATION,
    include_timestamp: false,
    http_retry_count: DEFAULT_HTTP_RETRY_COUNT,
    http_retry_delay: DEFAULT_HTTP_RETRY_DELAY_S,
  };
  for (const [key, value] of Object.entries(defaults)) {
    if (!(key in merged)) {
      merged[key] = value;
      origin[key] = key === 'node_name' ? 'the host name' : 'defaults';
    }
  }
  if (!('client_name' in merged)) {
    merged.client_name = merged.node_name;
    origin.client_name = origin.node_name ?? 'defaults';
  }

  const serverUrls = resolveServerUrls(merged, origin, warnings);
  const url = merged.chef_server_url;
  if (url === undefined) {
    throw new AgentConfigError(
      `chef_server_url is not set (use -S/--server or set chef_server_url or chef_server_urls in ${filePath ?? 'a config file'})`,
    );
  }
  if (typeof url !== 'string' || orgNameFromChefServerUrl(url) === undefined) {
    throw new AgentConfigError(
      `${CHEF_SERVER_URL_ERROR} (chef_server_url from ${origin.chef_server_url ?? '?'})`,
    );
  }

  const problems = liteValidators.agentConfig.errors(merged).map((error) => {
    const match = /^\/([^/ ]+)(\S*) (.*)$/su.exec(error);
    if (match === null) return error;
    const key = match[1] ?? '';
    return `${key}${match[2] ?? ''} (from ${origin[key] ?? 'defaults'}) ${match[3] ?? ''}`;
  });
  if (problems.length > 0) {
    throw new AgentConfigError(`invalid agent configuration: ${problems.join('; ')}`, problems);
  }
  const config = merged as CompiledAgentOptions;
  return {
    ...config,
    allowed_unsafe_job_env_vars: config.allowed_unsafe_job_env_vars ?? [],
    chef_server_urls: serverUrls ?? [config.chef_server_url],
    org_name: orgNameFromChefServerUrl(config.chef_server_url) ?? '',
    config_file: filePath,
    hostname: host.hostname,
    warnings,
  };
}
