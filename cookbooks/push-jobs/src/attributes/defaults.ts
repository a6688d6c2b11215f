/**
 * The cookbook's default attributes (client spec C.2) and the per-platform-family table.
 *
 * @module
 */
import { CookbookError } from '../errors.js';
import { PLATFORM_FAMILIES, type InitSystem, type PlatformFamily, type PushJobsAttributes } from './types.js';

/** Where the rendered config lives (spec C.3 `config_path`). */
export const CONFIG_DIR = '/etc/chef';
/** The rendered config file (spec C.5). */
export const CONFIG_PATH = '/etc/chef/push-jobs-client.rb';
/** Name of the agent's log file under `logging_dir`. */
export const LOG_FILE_NAME = 'push-jobs-client.log';
/** The agent's executable, relative to the install prefix. */
export const AGENT_BIN_RELATIVE = 'node_modules/.bin/push-jobs-client';
/** The cookbook's own state directory (service action log, backups). */
export const STATE_DIR = '/var/lib/push-jobs-cookbook';

/** What differs between platform families. */
export interface PlatformProfile {
  /** Human name, for messages. */
  readonly label: string;
  /** The init system a current release of the family uses. */
  readonly initSystem: InitSystem;
  /** Lock directory of the sysvinit script (spec C.6). */
  readonly sysvLockDir: string;
  /** How sysvinit services are enabled. */
  readonly sysvEnable: 'update-rc.d' | 'chkconfig';
  /** `/etc/os-release` `ID`/`ID_LIKE` values that identify the family. */
  readonly osReleaseIds: readonly string[];
}

/**
 * The per-family table. Exhaustive: adding a family to {@link PLATFORM_FAMILIES} without a row
 * is a compile error.
 */
export const PLATFORM_PROFILES: Readonly<Record<PlatformFamily, PlatformProfile>> = Object.freeze({
  debian: {
    label: 'Debian-family Linux',
    initSystem: 'systemd',
    sysvLockDir: '/var/lock',
    sysvEnable: 'update-rc.d',
    osReleaseIds: ['debian', 'ubuntu', 'raspbian', 'linuxmint'],
  },
  rhel: {
    label: 'RHEL-family Linux',
    initSystem: 'systemd',
    sysvLockDir: '/var/lock/subsys',
    sysvEnable: 'chkconfig',
    osReleaseIds: ['rhel', 'centos', 'fedora', 'rocky', 'almalinux', 'ol', 'scientific'],
  },
  suse: {
    label: 'SUSE Linux',
    initSystem: 'systemd',
    sysvLockDir: '/var/lock/subsys',
    sysvEnable: 'chkconfig',
    osReleaseIds: ['suse', 'sles', 'opensuse', 'opensuse-leap', 'opensuse-tumbleweed'],
  },
  amazon: {
    label: 'Amazon Linux',
    initSystem: 'systemd',
    sysvLockDir: '/var/lock/subsys',
    sysvEnable: 'chkconfig',
    osReleaseIds: ['amzn'],
  },
});

/** True for a supported platform family name. */
export function isPlatformFamily(value: unknown): value is PlatformFamily {
  return typeof value === 'string' && (PLATFORM_FAMILIES as readonly string[]).includes(value);
}

/**
 * Checks a platform family name.
 *
 * @throws CookbookError naming the family and the supported ones (spec C.4's default recipe
 *   rejects other families the same way).
 */
export function assertPlatformFamily(value: unknown): PlatformFamily {
  if (isPlatformFamily(value)) return value;
  throw new CookbookError(
    `platform family ${JSON.stringify(value)} is not supported: this cookbook supports ${PLATFORM_FAMILIES.join(
      ', ',
    )} (pass --platform-family or options.platformFamily)`,
  );
}

/** Attributes that are the same on every supported family (spec C.2, first table). */
function commonDefaults(): PushJobsAttributes {
  return {
    package_source: null,
    package_name: '@push-jobs/agent',
    package_version: null,
    local_package_path: null,
    npm_registry: null,
    install_prefix: '/opt/push-jobs',
    whitelist: { 'chef-client': 'chef-client' },
    environment_variables: { LC_ALL: 'en_US.UTF-8' },
    allow_unencrypted: false,
    chef: {
      chef_server_url: null,
      node_name: null,
      client_key_path: '/etc/chef/client.pem',
      client_key_source: null,
      trusted_certs_path: '/etc/chef/trusted_certs',
      verify_api_cert: true,
      ssl_verify_mode: 'verify_peer',
      include_timestamp: true,
    },
    proxy: {
      http: { url: null, user: null, pass: null },
      https: { url: null, user: null, pass: null },
    },
    no_proxy: null,
    logging_level: 'info',
    logging_dir: null,
    service_name: 'chef-push-jobs-client',
    init_style: null,
    file_dir: null,
    max_body_size: null,
    allowed_overwritable_env_vars: null,
    allowed_unsafe_job_env_vars: null,
    report_facts: null,
    tags: null,
    roles: null,
    chef_environment: null,
    policy_name: null,
    policy_group: null,
    node_attributes: null,
  };
}

/** The Linux family defaults (spec C.2, second table); every supported family has them. */
function linuxDefaults(attrs: PushJobsAttributes): PushJobsAttributes {
  return {
    ...attrs,
    init_style: null,
    service_name: 'chef-push-jobs-client',
    logging_dir: '/var/log/chef',
    chef: {
      ...attrs.chef,
      include_timestamp: false,
      client_key_path: '/etc/chef/client.pem',
      trusted_certs_path: '/etc/chef/trusted_certs',
    },
  };
}

const FAMILY_DEFAULTS: Readonly<Record<PlatformFamily, () => PushJobsAttributes>> = {
  debian: () => linuxDefaults(commonDefaults()),
  rhel: () => linuxDefaults(commonDefaults()),
  suse: () => linuxDefaults(commonDefaults()),
  amazon: () => linuxDefaults(commonDefaults()),
};

/**
 * The cookbook's default `push_jobs` attributes for a platform family (a fresh object).
 *
 * @throws CookbookError for an unsupported family.
 */
export function defaultAttributes(platformFamily: PlatformFamily): PushJobsAttributes {
  return FAMILY_DEFAULTS[assertPlatformFamily(platformFamily)]();
}
