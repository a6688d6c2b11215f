/**
 * The default value of every server setting (`../../shared/spec/server-protocol.md` section 9,
 * production values where the original's development and production values differ).
 *
 * @module
 */
import {
  DEFAULT_API_PORT,
  DEFAULT_AUTH_SKEW_SECONDS,
  DEFAULT_COMMAND_PORT,
  DEFAULT_CONFIG_LIFETIME_SECONDS,
  DEFAULT_DECAY_WINDOW,
  DEFAULT_DETECT_OFFLINE_NODES_INTERVAL,
  DEFAULT_DOWN_THRESHOLD,
  DEFAULT_FEED_KEEPALIVE_SECONDS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_JOB_NODES,
  DEFAULT_MAX_MESSAGE_SKEW_SECONDS,
  DEFAULT_MAX_REQUEST_BODY_BYTES,
  DEFAULT_ORG_FEED_EXPIRATION_SECONDS,
  DEFAULT_REHAB_TIMER_MS,
  DEFAULT_RUN_TIMEOUT_SECONDS,
  DEFAULT_SERVER_HEARTBEAT_PORT,
  DEFAULT_VOTING_TIMEOUT_SECONDS,
  DEFAULT_WAIT_COMPLETE_SECONDS,
  DEFAULT_ZEROMQ_LISTEN_ADDRESS,
} from '@push-jobs/protocol';
import type { ServerConfig } from './types.js';

/** Every setting at its default; frozen (copy it before changing anything). */
export const DEFAULT_SERVER_CONFIG: Readonly<ServerConfig> = Object.freeze({
  server_name: 'localhost',
  api_host: '0.0.0.0',
  api_port: DEFAULT_API_PORT,
  zeromq_listen_address: DEFAULT_ZEROMQ_LISTEN_ADDRESS,
  server_heartbeat_port: DEFAULT_SERVER_HEARTBEAT_PORT,
  command_port: DEFAULT_COMMAND_PORT,
  heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL_MS,
  decay_window: DEFAULT_DECAY_WINDOW,
  down_threshold: DEFAULT_DOWN_THRESHOLD,
  detect_offline_nodes_interval: DEFAULT_DETECT_OFFLINE_NODES_INTERVAL,
  rehab_timer: DEFAULT_REHAB_TIMER_MS,
  default_running_timeout: DEFAULT_RUN_TIMEOUT_SECONDS,
  voting_timeout: DEFAULT_VOTING_TIMEOUT_SECONDS,
  wait_complete_time: DEFAULT_WAIT_COMPLETE_SECONDS,
  keep_alive_time: DEFAULT_FEED_KEEPALIVE_SECONDS,
  org_feed_expiration: DEFAULT_ORG_FEED_EXPIRATION_SECONDS,
  config_lifetime: DEFAULT_CONFIG_LIFETIME_SECONDS,
  max_body_size: DEFAULT_MAX_BODY_BYTES,
  max_message_skew: DEFAULT_MAX_MESSAGE_SKEW_SECONDS,
  max_request_body_size: DEFAULT_MAX_REQUEST_BODY_BYTES,
  max_job_nodes: DEFAULT_MAX_JOB_NODES,
  auth_skew: DEFAULT_AUTH_SKEW_SECONDS,
  validate_client_node_name: true,
  disable_curve_encryption: false,
  max_zmq_connections_per_address: 64,
  data_dir: './push-jobs-data',
  database_url: 'push-jobs.sqlite',
  tls_cert: null,
  tls_key: null,
  log_level: 'info',
});

/** The setting names, in the order of {@link ServerConfig}. */
export const SERVER_SETTING_NAMES: readonly (keyof ServerConfig)[] = Object.freeze(
  Object.keys(DEFAULT_SERVER_CONFIG) as (keyof ServerConfig)[],
);

/** The values `log_level` accepts. */
export const LOG_LEVELS: readonly ServerConfig['log_level'][] = Object.freeze([
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
]);
