/**
 * The CLI's own config file: `~/.push-jobs/config.json`, or the file `$PUSH_JOBS_CONFIG` names.
 *
 * ```json
 * {
 *   "server_url": "https://push.example.com",
 *   "org": "acme",
 *   "user": "alice",
 *   "key": "~/.push-jobs/alice.pem",
 *   "ca_file": "/etc/ssl/push-ca.pem",
 *   "insecure": false,
 *   "sign_version": "1.3",
 *   "request_timeout": 30,
 *   "reconnect_timeout": 60
 * }
 * ```
 *
 * Relative paths are relative to the file's directory; `~/` is the home directory.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { configError } from '../errors.js';
import type { SourceSettings } from './types.js';

/** The keys of the config file and their types. */
const KEYS = {
  server_url: 'string',
  org: 'string',
  user: 'string',
  key: 'string',
  ca_file: 'string',
  insecure: 'boolean',
  sign_version: 'string',
  request_timeout: 'number',
  reconnect_timeout: 'number',
} as const;

/** Where the config file is: `$PUSH_JOBS_CONFIG`, else `~/.push-jobs/config.json`. */
export function configFilePath(env: NodeJS.ProcessEnv, home: string): { path: string; explicit: boolean } {
  const fromEnv = env['PUSH_JOBS_CONFIG'];
  if (fromEnv !== undefined && fromEnv !== '')
    return { path: resolve(expandHome(fromEnv, home)), explicit: true };
  return { path: join(home, '.push-jobs', 'config.json'), explicit: false };
}

/** `~/x` is `HOME/x`. */
export function expandHome(path: string, home: string): string {
  return path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

function filePath(value: string, dir: string, home: string): string {
  const p = expandHome(value, home);
  return isAbsolute(p) ? p : resolve(dir, p);
}

/**
 * Reads the config file. A missing file gives no settings, unless it was named explicitly by
 * `$PUSH_JOBS_CONFIG`; unreadable JSON, unknown keys and wrong types are errors.
 */
export function readConfigFile(path: string, explicit: boolean, home: string): SourceSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return {};
    throw configError(
      `cannot read the config file ${path}: ${(err as Error).message}; fix PUSH_JOBS_CONFIG or the file`,
      undefined,
      err,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw configError(
      `the config file ${path} is not valid JSON (${(err as Error).message}); fix it`,
      undefined,
      err,
    );
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw configError(`the config file ${path} must hold a JSON object; fix it`);
  }
  const record = data as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    const type = KEYS[key as keyof typeof KEYS];
    if (type === undefined) {
      throw configError(
        `unknown key '${key}' in the config file ${path} (known: ${Object.keys(KEYS).join(', ')}); fix it`,
      );
    }
    if (typeof value !== type)
      throw configError(`'${key}' in the config file ${path} must be a ${type}; fix it`);
  }
  const dir = dirname(path);
  const out: SourceSettings = {};
  if (typeof record.server_url === 'string') out.serverUrl = record.server_url;
  if (typeof record.org === 'string') out.org = record.org;
  if (typeof record.user === 'string') out.user = record.user;
  if (typeof record.key === 'string') out.key = { path: filePath(record.key, dir, home) };
  if (typeof record.ca_file === 'string') out.caFile = filePath(record.ca_file, dir, home);
  if (typeof record.insecure === 'boolean') out.insecure = record.insecure;
  if (typeof record.sign_version === 'string') out.signVersion = record.sign_version;
  if (typeof record.request_timeout === 'number') out.requestTimeout = record.request_timeout;
  if (typeof record.reconnect_timeout === 'number') out.reconnectTimeout = record.reconnect_timeout;
  return out;
}
