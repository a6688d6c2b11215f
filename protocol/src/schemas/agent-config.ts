/**
 * The agent's own configuration, as the agent holds it after parsing its config file
 * (client spec A.2, A.3, A.11, C.5) and before defaults are filled in.
 *
 * Strict: unknown keys are rejected (`additionalProperties: false`), so a typo in a config
 * file is an error rather than a silently ignored setting. Every key is optional except
 * `chef_server_url`, which has no default; defaults are in `constants.ts`
 * (`DEFAULT_WHITELIST`, `DEFAULT_AGENT_FILE_DIR`, `DEFAULT_AGENT_MAX_BODY_SIZE_BYTES`, ...).
 *
 * @module
 */
import { Type, type Static } from '@sinclair/typebox';
import { LOG_LEVELS, MAX_TIMER_SECONDS, SSL_VERIFY_MODES } from '../constants.js';
import { CHEF_SERVER_URL_PATTERN } from '../agent-config-helpers.js';
import { EnvSchema, StringEnum } from './common.js';

/**
 * A whitelist entry given as an object: the command line to run and, optionally, a lock.
 * `lock: true` locks `lockfile` (or `FILE_CACHE_PATH/chef-client-running.pid`); a string
 * locks that path. The agent acks the commit only once it holds the lock, and releases it
 * when the job ends (the original never acked such entries; we fix that).
 */
export const WhitelistEntrySchema = Type.Object(
  {
    command_line: Type.String(),
    lock: Type.Optional(Type.Union([Type.Boolean(), Type.String({ minLength: 1 })])),
  },
  { additionalProperties: false },
);
/** An object whitelist entry. */
export type WhitelistEntry = Static<typeof WhitelistEntrySchema>;

/**
 * The whitelist: job name → command line (a string, or a {@link WhitelistEntrySchema}).
 *
 * A key written `/PATTERN/FLAGS` (a leading `/`, a closing `/` followed by JavaScript regex
 * flags) is a regular expression, matched anywhere in the requested name; the value may use
 * back-references (`\1`) and is substituted for every match (client spec A.11). Any other key
 * matches the requested name exactly, and exact keys win over regex keys.
 */
export const WhitelistSchema = Type.Record(
  Type.String({ minLength: 1 }),
  Type.Union([Type.String(), WhitelistEntrySchema]),
);
/** The agent whitelist. */
export type Whitelist = Static<typeof WhitelistSchema>;

/** The agent configuration object. */
export const AgentConfigSchema = Type.Object(
  {
    /** Chef server URL ending in `/organizations/ORG`. */
    chef_server_url: Type.String({ pattern: CHEF_SERVER_URL_PATTERN }),
    /** Node name; defaults to the host's FQDN, then its hostname. */
    node_name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:-]+$', minLength: 1, maxLength: 255 })),
    /** Client name used to sign requests; defaults to `node_name`. */
    client_name: Type.Optional(Type.String({ minLength: 1 })),
    /** Path of the node's RSA private key (PEM). */
    client_key: Type.Optional(Type.String({ minLength: 1 })),
    /**
     * Path of the validator's private key. With no `client_key` file but this key, the agent
     * registers itself: it generates a key pair, creates its client through the clients API
     * signed as the validator, and stores the new private key at `client_key` (mode 0600).
     */
    validation_key: Type.Optional(Type.String({ minLength: 1 })),
    /** The validator client's name; default `ORG-validator`. */
    validation_client_name: Type.Optional(Type.String({ minLength: 1 })),
    /** Retries of the first config fetch after start (network errors and 5xx); default 5. */
    http_retry_count: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Seconds between those retries; default 30. */
    http_retry_delay: Type.Optional(Type.Number({ minimum: 0, maximum: MAX_TIMER_SECONDS })),
    /** Allowed commands; default `{ 'chef-client': 'chef-client' }`. */
    whitelist: Type.Optional(WhitelistSchema),
    /** Directory for files sent with jobs; default `/tmp/chef-push`. */
    file_dir: Type.Optional(Type.String({ minLength: 1 })),
    /** Allow the unencrypted 1.x protocol when the server sends no CURVE key; default false. */
    allow_unencrypted: Type.Optional(Type.Boolean()),
    /** Environment variables a job's `env` may overwrite (they are renamed otherwise). */
    allowed_overwritable_env_vars: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    /**
     * Ours: names a job's `env` may set although they change how programs load or shells start
     * (`LD_PRELOAD`, `PATH`, ...), which the agent refuses otherwise; default none.
     */
    allowed_unsafe_job_env_vars: Type.Optional(
      Type.Array(Type.String({ minLength: 1, pattern: '^[^=\\u0000]+$' })),
    ),
    /** Largest message the agent sends, in bytes; default 63000. */
    max_body_size: Type.Optional(Type.Integer({ minimum: 1 })),
    log_level: Type.Optional(StringEnum(LOG_LEVELS)),
    /** A file path, or `STDOUT` / `STDERR`. */
    log_location: Type.Optional(Type.String({ minLength: 1 })),
    /** Lock file of whitelist entries with `lock: true`. */
    lockfile: Type.Optional(Type.String({ minLength: 1 })),
    /** Directory of the default lock file. */
    file_cache_path: Type.Optional(Type.String({ minLength: 1 })),
    ssl_verify_mode: Type.Optional(StringEnum(SSL_VERIFY_MODES)),
    verify_api_cert: Type.Optional(Type.Boolean()),
    trusted_certs_dir: Type.Optional(Type.String({ minLength: 1 })),
    http_proxy: Type.Optional(Type.String()),
    http_proxy_user: Type.Optional(Type.String()),
    http_proxy_pass: Type.Optional(Type.String()),
    https_proxy: Type.Optional(Type.String()),
    https_proxy_user: Type.Optional(Type.String()),
    https_proxy_pass: Type.Optional(Type.String()),
    no_proxy: Type.Optional(Type.String()),
    /** Prefix log lines with a timestamp. */
    include_timestamp: Type.Optional(Type.Boolean()),
    /**
     * Our addition: environment variables the agent sets for itself and its jobs (the
     * cookbook's `environment_variables`, which the original rendered as unused Ruby constants).
     */
    environment: Type.Optional(EnvSchema),
    /**
     * Ours: report node facts. With `true` (the default) the agent writes its node object at
     * start and when its facts change: collected facts (ohai's names) in `automatic`, the keys
     * below in `normal` (`tags`, `policy_name`, `policy_group`, `attributes`), `roles` as
     * `role[NAME]` run-list entries and `automatic.roles`.
     */
    report_facts: Type.Optional(Type.Boolean()),
    /** Ours: the node's tags (`normal.tags`, searched as `tags:NAME`). */
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 256 })),
    /** Ours: the node's roles (`role[NAME]` in the run list and `automatic.roles`). */
    roles: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,255}$' }), { maxItems: 256 })),
    /** The node's Chef environment (the node's `chef_environment`). */
    chef_environment: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,255}$' })),
    /** Chef's policy name of the node (`normal.policy_name`). */
    policy_name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    /** Chef's policy group of the node (`normal.policy_group`). */
    policy_group: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    /** Ours: more node attributes, merged into the node's `normal` level. */
    attributes: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.Unknown())),
  },
  { additionalProperties: false },
);
/** The agent configuration. */
export type AgentConfig = Static<typeof AgentConfigSchema>;
