/**
 * Validation of the `push_jobs` attribute tree: defaults for the platform family are merged
 * under the input, every attribute is checked, and the first problem is thrown as a
 * {@link CookbookError} naming the attribute.
 *
 * @module
 */
import { CHEF_SERVER_URL_PATTERN, LOG_LEVELS, parseWhitelistRegexKey, validators } from '@push-jobs/protocol';
import { CookbookError } from '../errors.js';
import { rubyRegexLiteral } from '../render/ruby.js';
import { assertPlatformFamily, defaultAttributes } from './defaults.js';
import { describe, isPlainObject, mergeAttributes } from './merge.js';
import {
  INIT_SYSTEMS,
  PACKAGE_SOURCES,
  SSL_VERIFY_MODE_VALUES,
  type InitSystem,
  type PackageSource,
  type PlatformFamily,
  type ProxyAttributes,
  type PushJobsAttributes,
  type SslVerifyMode,
  type WhitelistAttribute,
  type WhitelistValue,
} from './types.js';

/** The result of {@link validateAttributesDetailed}. */
export interface ValidatedAttributes {
  /** The resolved attributes. */
  attributes: PushJobsAttributes;
  /** Attributes of the original cookbook that were given but have no effect here. */
  warnings: string[];
}

/** Attributes of the original cookbook that are accepted (a saved node carries them) and ignored. */
const LEGACY_TOP = ['package_url', 'package_checksum', 'service_string', 'config'] as const;
const LEGACY_CHEF = ['install_path', 'exec_name'] as const;

/** Environment variable names the config file can carry (Ruby constants, spec C.5). */
const ENV_NAME = /^[A-Z][A-Za-z0-9_]*$/u;
/** The agent's node name pattern (protocol `AgentConfigSchema`). */
const NODE_NAME = /^[A-Za-z0-9_.:-]{1,255}$/u;
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/u;
const NPM_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/u;
const REGEX_FLAGS_OK = /^[is]*$/u;

function fail(attribute: string, message: string): never {
  throw new CookbookError(`${attribute} ${message}`, { attribute });
}

function noControl(attribute: string, value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000\n\r]/u.test(value)) fail(attribute, 'must not contain a newline or NUL character');
  return value;
}

function str(attribute: string, value: unknown): string {
  if (typeof value !== 'string' || value === '')
    fail(attribute, `must be a non-empty string (got ${describe(value)})`);
  return noControl(attribute, value);
}

function optStr(attribute: string, value: unknown): string | null {
  return value === null || value === undefined ? null : str(attribute, value);
}

function bool(attribute: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(attribute, `must be true or false (got ${describe(value)})`);
  return value;
}

function absPath(attribute: string, value: unknown): string {
  const path = str(attribute, value);
  if (!path.startsWith('/')) fail(attribute, `must be an absolute path (got ${JSON.stringify(path)})`);
  if (path.split('/').includes('..')) fail(attribute, `must not contain '..' (got ${JSON.stringify(path)})`);
  return path;
}

function optAbsPath(attribute: string, value: unknown): string | null {
  return value === null || value === undefined ? null : absPath(attribute, value);
}

function oneOf<T extends string>(attribute: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(attribute, `must be one of ${allowed.join(', ')} (got ${describe(value)})`);
  }
  return value as T;
}

function obj(attribute: string, value: unknown): Record<string, unknown> {
  if (!isPlainObject(value)) fail(attribute, `must be a hash (a JSON object; got ${describe(value)})`);
  return value;
}

function checkKeys(
  attribute: string,
  value: Record<string, unknown>,
  known: readonly string[],
  legacy: readonly string[],
  warnings: string[],
): void {
  for (const [key, item] of Object.entries(value)) {
    if (known.includes(key)) continue;
    if (legacy.includes(key)) {
      const set = isPlainObject(item) ? Object.values(item).some((v) => v !== null) : item !== null;
      if (set)
        warnings.push(`${attribute}.${key} is an attribute of the original cookbook and has no effect here`);
      continue;
    }
    fail(`${attribute}.${key}`, `is not a known attribute (known: ${known.join(', ')})`);
  }
}

function whitelistKey(attribute: string, key: string): void {
  if (key === '') fail(attribute, 'has an empty key');
  noControl(`${attribute}[${JSON.stringify(key)}]`, key);
  const regex = parseWhitelistRegexKey(key);
  if (regex === undefined) return;
  const where = `${attribute}[${JSON.stringify(key)}]`;
  if (!REGEX_FLAGS_OK.test(regex.flags)) {
    fail(where, `uses regex flags '${regex.flags}': only i and s can be written to the Ruby config`);
  }
  try {
    new RegExp(regex.pattern, regex.flags); // compiled as the agent compiles it
  } catch (err) {
    fail(where, `is not a valid regular expression: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    rubyRegexLiteral(key);
  } catch (err) {
    fail(where, `cannot be written to the Ruby config: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function whitelistValue(where: string, value: unknown): WhitelistValue {
  if (typeof value === 'string') return value;
  if (!isPlainObject(value)) {
    fail(where, `must be a command line or a hash with command_line (got ${describe(value)})`);
  }
  for (const key of Object.keys(value)) {
    if (key !== 'command_line' && key !== 'lock')
      fail(`${where}.${key}`, 'is not allowed (use command_line and lock)');
  }
  const entry: WhitelistValue = { command_line: str(`${where}.command_line`, value['command_line']) };
  const lock = value['lock'];
  if (lock !== undefined && lock !== null) {
    if (typeof lock !== 'boolean' && (typeof lock !== 'string' || lock === '')) {
      fail(`${where}.lock`, `must be true, false or a lock file path (got ${describe(lock)})`);
    }
    entry.lock = lock;
  }
  return entry;
}

function whitelist(value: unknown): WhitelistAttribute {
  const attribute = 'push_jobs.whitelist';
  if (!isPlainObject(value)) {
    throw new CookbookError(`${attribute} should have a hash value! (got ${describe(value)})`, { attribute });
  }
  const out: WhitelistAttribute = {};
  for (const [key, item] of Object.entries(value)) {
    whitelistKey(attribute, key);
    if (item === null || item === undefined) continue; // removed by a higher precedence level
    out[key] = whitelistValue(`${attribute}[${JSON.stringify(key)}]`, item);
  }
  const problems = validators.whitelist.errors(out);
  if (problems.length > 0) fail(attribute, `is not a valid agent whitelist: ${problems.join('; ')}`);
  return out;
}

function environment(value: unknown): Record<string, string> {
  const attribute = 'push_jobs.environment_variables';
  const env = obj(attribute, value);
  const out: Record<string, string> = {};
  for (const [name, item] of Object.entries(env)) {
    const where = `${attribute}.${name}`;
    if (!ENV_NAME.test(name)) {
      fail(
        where,
        'is not a valid name: it must start with an upper-case letter (A-Z, then letters, digits, _)',
      );
    }
    if (item === null || item === undefined) continue;
    if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
      fail(where, `must be a string (got ${describe(item)})`);
    }
    out[name] = noControl(where, String(item));
  }
  return out;
}

function proxy(value: unknown): { http: ProxyAttributes; https: ProxyAttributes } {
  const attribute = 'push_jobs.proxy';
  const p = obj(attribute, value);
  checkKeys(attribute, p, ['http', 'https'], [], []);
  const one = (proto: 'http' | 'https'): ProxyAttributes => {
    const where = `${attribute}.${proto}`;
    const item = p[proto] === undefined || p[proto] === null ? {} : obj(where, p[proto]);
    checkKeys(where, item, ['url', 'user', 'pass'], [], []);
    return {
      url: optStr(`${where}.url`, item['url']),
      user: optStr(`${where}.user`, item['user']),
      pass: optStr(`${where}.pass`, item['pass']),
    };
  };
  return { http: one('http'), https: one('https') };
}

function localPackagePath(value: unknown): string | string[] | null {
  const attribute = 'push_jobs.local_package_path';
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) {
    if (value.length === 0) fail(attribute, 'must name at least one tarball');
    return value.map((item, i) => str(`${attribute}[${i}]`, item));
  }
  return str(attribute, value);
}

function maxBodySize(value: unknown): number | null {
  const attribute = 'push_jobs.max_body_size';
  if (value === null || value === undefined) return null;
  const n = typeof value === 'string' && /^\s*\d+\s*$/u.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
    fail(attribute, `must be a positive integer (bytes; got ${describe(value)})`);
  }
  return n;
}

function envVarList(value: unknown, attribute: string): string[] | null {
  if (value === null || value === undefined) return null;
  if (!Array.isArray(value)) fail(attribute, `must be an array of variable names (got ${describe(value)})`);
  return value.map((item, i) => str(`${attribute}[${i}]`, item));
}

/** 1-255 characters, no control character (tags, policy names). */
// eslint-disable-next-line no-control-regex
const PRINTABLE_NAME = /^[^\u0000-\u001f]{1,255}$/u;

/** A list of names matching `pattern` (tags, roles), or null. */
function nameList(value: unknown, attribute: string, pattern: RegExp, what: string): string[] | null {
  if (value === null || value === undefined) return null;
  if (!Array.isArray(value)) fail(attribute, `must be an array of ${what} (got ${describe(value)})`);
  if (value.length > 256) fail(attribute, `must have at most 256 entries (got ${value.length})`);
  return value.map((item, i) => {
    const name = noControl(`${attribute}[${i}]`, str(`${attribute}[${i}]`, item));
    if (!pattern.test(name))
      fail(`${attribute}[${i}]`, `is not a valid ${what.replace(/s$/u, '')} (got ${JSON.stringify(name)})`);
    return name;
  });
}

function optName(attribute: string, value: unknown, pattern: RegExp): string | null {
  const v = optStr(attribute, value);
  if (v !== null && !pattern.test(v)) fail(attribute, `is not valid (got ${JSON.stringify(v)})`);
  return v;
}

function optBool(attribute: string, value: unknown): boolean | null {
  return value === null || value === undefined ? null : bool(attribute, value);
}

function nodeAttributes(value: unknown): Record<string, unknown> | null {
  const attribute = 'push_jobs.node_attributes';
  if (value === null || value === undefined) return null;
  const o = obj(attribute, value);
  const size = Buffer.byteLength(JSON.stringify(o), 'utf8');
  if (size > 64 * 1024) fail(attribute, `must be at most 65536 bytes of JSON (got ${size})`);
  return o;
}

function initStyle(value: unknown): InitSystem | null {
  const attribute = 'push_jobs.init_style';
  if (value === null || value === undefined) return null;
  if (value === 'upstart') fail(attribute, "'upstart' is not supported: use systemd, sysvinit or runit");
  return oneOf(attribute, value, INIT_SYSTEMS);
}

function sslVerifyMode(value: unknown): SslVerifyMode {
  const normalized = typeof value === 'string' ? value.replace(/^:/u, '') : value;
  return oneOf('push_jobs.chef.ssl_verify_mode', normalized, SSL_VERIFY_MODE_VALUES);
}

function chefServerUrl(value: unknown): string | null {
  const attribute = 'push_jobs.chef.chef_server_url';
  if (value === null || value === undefined) return null;
  const url = str(attribute, value);
  if (!new RegExp(CHEF_SERVER_URL_PATTERN, 'u').test(url)) {
    fail(attribute, `must be an http(s) URL ending in /organizations/ORG_NAME (got ${JSON.stringify(url)})`);
  }
  return url;
}

function nodeName(value: unknown): string | null {
  const attribute = 'push_jobs.chef.node_name';
  if (value === null || value === undefined) return null;
  const name = str(attribute, value);
  if (!NODE_NAME.test(name))
    fail(attribute, `must be 1-255 letters, digits, '_', '.', ':' or '-' (got ${JSON.stringify(name)})`);
  return name;
}

function unwrap(input: unknown): unknown {
  if (isPlainObject(input) && Object.keys(input).length === 1 && isPlainObject(input['push_jobs'])) {
    return input['push_jobs'];
  }
  return input;
}

const TOP_KEYS = [
  'package_source',
  'package_name',
  'package_version',
  'local_package_path',
  'npm_registry',
  'install_prefix',
  'whitelist',
  'environment_variables',
  'allow_unencrypted',
  'chef',
  'proxy',
  'no_proxy',
  'logging_level',
  'logging_dir',
  'service_name',
  'init_style',
  'file_dir',
  'max_body_size',
  'allowed_overwritable_env_vars',
  'allowed_unsafe_job_env_vars',
  'report_facts',
  'tags',
  'roles',
  'chef_environment',
  'policy_name',
  'policy_group',
  'node_attributes',
] as const satisfies readonly (keyof PushJobsAttributes)[];

const CHEF_KEYS = [
  'chef_server_url',
  'node_name',
  'client_key_path',
  'client_key_source',
  'trusted_certs_path',
  'verify_api_cert',
  'ssl_verify_mode',
  'include_timestamp',
] as const satisfies readonly (keyof PushJobsAttributes['chef'])[];

/**
 * {@link validateAttributes}, also returning warnings for attributes of the original cookbook
 * that have no effect here (`package_url`, `config.template_cookbook`, ...).
 */
export function validateAttributesDetailed(
  input: unknown,
  platformFamily: PlatformFamily,
): ValidatedAttributes {
  const family = assertPlatformFamily(platformFamily);
  const tree = unwrap(input ?? {});
  if (!isPlainObject(tree)) {
    throw new CookbookError(`push_jobs must be a hash of attributes (got ${describe(tree)})`, {
      attribute: 'push_jobs',
    });
  }
  const warnings: string[] = [];
  checkKeys('push_jobs', tree, TOP_KEYS, LEGACY_TOP, warnings);
  if (tree['chef'] !== undefined && tree['chef'] !== null) {
    checkKeys('push_jobs.chef', obj('push_jobs.chef', tree['chef']), CHEF_KEYS, LEGACY_CHEF, warnings);
  }
  const m = mergeAttributes(defaultAttributes(family), tree) as Record<string, unknown>;
  const chef = obj('push_jobs.chef', m['chef']);

  const packageSource =
    m['package_source'] === null || m['package_source'] === undefined
      ? null
      : oneOf<PackageSource>('push_jobs.package_source', m['package_source'], PACKAGE_SOURCES);
  const packageName = str('push_jobs.package_name', m['package_name']);
  if (!NPM_NAME.test(packageName))
    fail('push_jobs.package_name', `is not a valid npm package name (got ${JSON.stringify(packageName)})`);
  const packageVersion = optStr('push_jobs.package_version', m['package_version']);
  if (packageVersion !== null && /\s/u.test(packageVersion)) {
    fail(
      'push_jobs.package_version',
      `must be a version or range without spaces (got ${JSON.stringify(packageVersion)})`,
    );
  }
  const registry = optStr('push_jobs.npm_registry', m['npm_registry']);
  if (registry !== null && !/^https?:\/\/\S+$/u.test(registry)) {
    fail('push_jobs.npm_registry', `must be an http(s) URL (got ${JSON.stringify(registry)})`);
  }
  const local = localPackagePath(m['local_package_path']);
  if (packageSource === 'tarball' && local === null) {
    fail('push_jobs.local_package_path', "must name the agent's tarball when package_source is 'tarball'");
  }

  const attributes: PushJobsAttributes = {
    package_source: packageSource,
    package_name: packageName,
    package_version: packageVersion,
    local_package_path: local,
    npm_registry: registry,
    install_prefix: absPath('push_jobs.install_prefix', m['install_prefix']),
    whitelist: whitelist(m['whitelist']),
    environment_variables: environment(m['environment_variables']),
    allow_unencrypted: bool('push_jobs.allow_unencrypted', m['allow_unencrypted']),
    chef: {
      chef_server_url: chefServerUrl(chef['chef_server_url']),
      node_name: nodeName(chef['node_name']),
      client_key_path: absPath('push_jobs.chef.client_key_path', chef['client_key_path']),
      client_key_source: optStr('push_jobs.chef.client_key_source', chef['client_key_source']),
      trusted_certs_path: absPath('push_jobs.chef.trusted_certs_path', chef['trusted_certs_path']),
      verify_api_cert: bool('push_jobs.chef.verify_api_cert', chef['verify_api_cert']),
      ssl_verify_mode: sslVerifyMode(chef['ssl_verify_mode']),
      include_timestamp: bool('push_jobs.chef.include_timestamp', chef['include_timestamp']),
    },
    proxy: proxy(m['proxy']),
    no_proxy: optStr('push_jobs.no_proxy', m['no_proxy']),
    logging_level: oneOf('push_jobs.logging_level', m['logging_level'], LOG_LEVELS),
    logging_dir: optAbsPath('push_jobs.logging_dir', m['logging_dir']),
    service_name: str('push_jobs.service_name', m['service_name']),
    init_style: initStyle(m['init_style']),
    file_dir: optAbsPath('push_jobs.file_dir', m['file_dir']),
    max_body_size: maxBodySize(m['max_body_size']),
    allowed_overwritable_env_vars: envVarList(
      m['allowed_overwritable_env_vars'],
      'push_jobs.allowed_overwritable_env_vars',
    ),
    allowed_unsafe_job_env_vars: envVarList(
      m['allowed_unsafe_job_env_vars'],
      'push_jobs.allowed_unsafe_job_env_vars',
    ),
    report_facts: optBool('push_jobs.report_facts', m['report_facts']),
    tags: nameList(m['tags'], 'push_jobs.tags', PRINTABLE_NAME, 'tags'),
    roles: nameList(m['roles'], 'push_jobs.roles', /^[A-Za-z0-9_.-]{1,255}$/u, 'role names'),
    chef_environment: optName('push_jobs.chef_environment', m['chef_environment'], /^[A-Za-z0-9_-]{1,255}$/u),
    policy_name: optName('push_jobs.policy_name', m['policy_name'], PRINTABLE_NAME),
    policy_group: optName('push_jobs.policy_group', m['policy_group'], PRINTABLE_NAME),
    node_attributes: nodeAttributes(m['node_attributes']),
  };
  if (!SERVICE_NAME.test(attributes.service_name)) {
    fail(
      'push_jobs.service_name',
      `must be letters, digits, '_', '.', '@' or '-' (got ${JSON.stringify(attributes.service_name)})`,
    );
  }
  return { attributes, warnings };
}

/**
 * Merges the cookbook's defaults for `platformFamily` under `input` (the `push_jobs` tree, or
 * `{ push_jobs: tree }`) and checks every attribute.
 *
 * `chef.chef_server_url` and `chef.node_name` may still be null here; the config recipe (and
 * {@link renderClientRb}) require them.
 *
 * @throws CookbookError whose message (and `attribute`) names the first bad attribute, for
 *   example `push_jobs.whitelist should have a hash value! (got an array)`, or names the
 *   unsupported platform family.
 */
export function validateAttributes(input: unknown, platformFamily: PlatformFamily): PushJobsAttributes {
  return validateAttributesDetailed(input, platformFamily).attributes;
}

/**
 * The server URL and node name the config recipe needs.
 *
 * @throws CookbookError naming the missing attribute and the flag that sets it.
 */
export function requireConnection(attrs: PushJobsAttributes): { chefServerUrl: string; nodeName: string } {
  if (attrs.chef.chef_server_url === null) {
    throw new CookbookError(
      'push_jobs.chef.chef_server_url is not set (set the attribute or pass --server URL, ending in /organizations/ORG)',
      { attribute: 'push_jobs.chef.chef_server_url' },
    );
  }
  if (attrs.chef.node_name === null) {
    throw new CookbookError('push_jobs.chef.node_name is not set (set the attribute or pass --node NAME)', {
      attribute: 'push_jobs.chef.node_name',
    });
  }
  return { chefServerUrl: attrs.chef.chef_server_url, nodeName: attrs.chef.node_name };
}
