/**
 * The `push_jobs` attribute tree (client spec C.2), typed, plus the platform families and init
 * systems the cookbook supports.
 *
 * @module
 */
import type { LogLevel } from '@push-jobs/protocol';

/** Platform families the cookbook supports (spec C.4: Windows is out of scope here). */
export const PLATFORM_FAMILIES = ['debian', 'rhel', 'suse', 'amazon'] as const;
/** A supported platform family. */
export type PlatformFamily = (typeof PLATFORM_FAMILIES)[number];

/** Init systems the service recipe can write a service definition for (spec C.6, no upstart). */
export const INIT_SYSTEMS = ['systemd', 'sysvinit', 'runit'] as const;
/** A supported init system. */
export type InitSystem = (typeof INIT_SYSTEMS)[number];

/** The recipes, in their usual run-list order. */
export const RECIPES = ['install', 'config', 'service'] as const;
/** A recipe name. */
export type RecipeName = (typeof RECIPES)[number];

/** Where the agent package comes from. */
export const PACKAGE_SOURCES = ['registry', 'tarball'] as const;
/** `registry` (npm) or `tarball` (local `.tgz` files). */
export type PackageSource = (typeof PACKAGE_SOURCES)[number];

/** TLS verification modes (`chef.ssl_verify_mode`). */
export const SSL_VERIFY_MODE_VALUES = ['verify_peer', 'verify_none'] as const;
/** `verify_peer` or `verify_none`. */
export type SslVerifyMode = (typeof SSL_VERIFY_MODE_VALUES)[number];

/**
 * A whitelist entry given as a hash: the command line and, optionally, a lock (`true` for the
 * agent's default lock file, or a lock file path).
 */
export interface WhitelistHashEntry {
  /** The command line to run. */
  command_line: string;
  /** Take this lock while the job runs: `true` (the default lock file) or a path. */
  lock?: boolean | string;
}

/** A whitelist value: a command line, or a {@link WhitelistHashEntry}. */
export type WhitelistValue = string | WhitelistHashEntry;

/**
 * The whitelist: job name → command. A key written `/PATTERN/FLAGS` (flags `i` and `s` only) is
 * a regular expression, as the agent reads it; the value may use back-references (`\1`).
 */
export type WhitelistAttribute = Record<string, WhitelistValue>;

/** One proxy protocol's settings (`proxy.http`, `proxy.https`). */
export interface ProxyAttributes {
  /** Proxy URL; nothing is rendered for this protocol when null. @default null */
  url: string | null;
  /** Proxy user. @default null */
  user: string | null;
  /** Proxy password (the config file becomes mode 0600 when one is set). @default null */
  pass: string | null;
}

/** `push_jobs.chef`: how the agent reaches the server. */
export interface ChefAttributes {
  /** Server URL ending in `/organizations/ORG`. Required by the config recipe. @default null */
  chef_server_url: string | null;
  /** The node (and client) name. Required by the config recipe. @default null */
  node_name: string | null;
  /** Where the node's private key lives on the node. @default '/etc/chef/client.pem' */
  client_key_path: string;
  /**
   * A PEM file (read from the machine running the converge, never under `--root`) to install
   * at `client_key_path`, mode 0600. When null the key file is only checked and its mode fixed.
   * @default null
   */
  client_key_source: string | null;
  /** Directory of trusted certificates. @default '/etc/chef/trusted_certs' */
  trusted_certs_path: string;
  /** Verify the server's certificate. @default true */
  verify_api_cert: boolean;
  /** `verify_peer` or `verify_none` (a leading `:` is accepted). @default 'verify_peer' */
  ssl_verify_mode: SslVerifyMode;
  /** Timestamps on log lines. @default false (Linux families) */
  include_timestamp: boolean;
}

/** The `push_jobs` attribute tree, fully resolved (every key present). */
export interface PushJobsAttributes {
  /** `registry` or `tarball`; null picks `tarball` when `local_package_path` is set. @default null */
  package_source: PackageSource | null;
  /** The agent's npm package. @default '@push-jobs/agent' */
  package_name: string;
  /** Version to install; null means the newest (installed once, then left alone). @default null */
  package_version: string | null;
  /**
   * Local package tarball(s) (`npm pack` output): the agent's and, when it is not published, its
   * dependencies' (for example `@push-jobs/protocol`). @default null
   */
  local_package_path: string | string[] | null;
  /** npm registry URL for `registry` installs; null uses npm's own setting. @default null */
  npm_registry: string | null;
  /** Install prefix; the agent binary is `PREFIX/node_modules/.bin/push-jobs-client`. @default '/opt/push-jobs' */
  install_prefix: string;
  /** Allowed commands. @default { 'chef-client': 'chef-client' } */
  whitelist: WhitelistAttribute;
  /** Environment of the agent (service definition) and its jobs. @default { LC_ALL: 'en_US.UTF-8' } */
  environment_variables: Record<string, string>;
  /** Allow the unencrypted 1.x protocol. @default false */
  allow_unencrypted: boolean;
  /** Server connection settings. */
  chef: ChefAttributes;
  /** Proxies for the agent's HTTP requests. */
  proxy: { http: ProxyAttributes; https: ProxyAttributes };
  /** `no_proxy` list. @default null */
  no_proxy: string | null;
  /** Agent log level (`-l`). @default 'info' */
  logging_level: LogLevel;
  /** Log directory (`-L DIR/push-jobs-client.log`); null logs to the service's stdout. @default '/var/log/chef' */
  logging_dir: string | null;
  /** Service name. @default 'chef-push-jobs-client' */
  service_name: string;
  /** `systemd`, `sysvinit` or `runit`; null picks the platform's. @default null */
  init_style: InitSystem | null;
  /** Directory for files sent with jobs; null leaves the agent's default (`/tmp/chef-push`). @default null */
  file_dir: string | null;
  /** Largest message the agent sends, in bytes; null leaves the agent's default (63000). @default null */
  max_body_size: number | null;
  /** Environment variables a job may overwrite; null leaves the agent's default (none). @default null */
  allowed_overwritable_env_vars: string[] | null;
  /**
   * Variables a job's `env` may set although the agent refuses them by default (`PATH`,
   * `LD_PRELOAD`, `BASH_ENV`, ...: they change how programs load or shells start); null leaves
   * the agent's default (none). @default null
   */
  allowed_unsafe_job_env_vars: string[] | null;
  /**
   * Whether the agent writes its node object with its facts (ohai-named facts, the keys below,
   * its allowed command names); null leaves the agent's default (true). @default null
   */
  report_facts: boolean | null;
  /** The node's tags, reported in `normal.tags` (`tags:web`); null reports none. @default null */
  tags: string[] | null;
  /** The node's roles, reported as `role[NAME]` run-list entries and `automatic.roles`. @default null */
  roles: string[] | null;
  /** The node's Chef environment (`chef_environment`). @default null */
  chef_environment: string | null;
  /** Chef policy name, reported in `normal.policy_name`. @default null */
  policy_name: string | null;
  /** Chef policy group, reported in `normal.policy_group`. @default null */
  policy_group: string | null;
  /** More attributes the agent reports in the node's `normal` level (the agent's `attributes`). @default null */
  node_attributes: Record<string, unknown> | null;
}

/** A deep-partial attribute tree, as attribute files and node objects provide it. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> | null }
    : T;

/** Partial `push_jobs` attributes (what callers hand in; `null` resets a value). */
export type PushJobsAttributesInput = DeepPartial<PushJobsAttributes> & Record<string, unknown>;

/**
 * Attributes at Chef's three precedence levels, as a `-j` file or a node object holds them
 * (each the `push_jobs` tree).
 */
export interface AttributeLevels {
  /** Lowest precedence (above the cookbook's defaults). */
  default?: PushJobsAttributesInput;
  /** Normal attributes (`chef-solo -j` top-level attributes are normal). */
  normal?: PushJobsAttributesInput;
  /** Highest precedence. */
  override?: PushJobsAttributesInput;
}
