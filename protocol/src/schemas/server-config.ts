/**
 * The server's settings: one schema that the server's loader, its admin commands' help, the
 * Pulumi components and the docs all derive from. Names are the original's
 * (`../shared/spec/server-protocol.md` section 9) plus ours; every setting has a default
 * (production values where the original's development and production values differ), so a
 * compiled {@link ServerConfig} never holds `undefined`.
 *
 * Each property carries its `default`, its bounds and a `description`. A port is an integer from
 * 0 to {@link MAX_PORT} (0, any free port, is for tests; it is never advertised).
 *
 * @module
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
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
  DEFAULT_MAX_JOB_NODES,
  DEFAULT_MAX_REQUEST_BODY_BYTES,
  DEFAULT_ORG_FEED_EXPIRATION_SECONDS,
  DEFAULT_REHAB_TIMER_MS,
  DEFAULT_RUN_TIMEOUT_SECONDS,
  DEFAULT_SERVER_HEARTBEAT_PORT,
  DEFAULT_VOTING_TIMEOUT_SECONDS,
  DEFAULT_WAIT_COMPLETE_SECONDS,
  DEFAULT_ZEROMQ_LISTEN_ADDRESS,
  MAX_TIMER_DELAY_MS,
  MAX_TIMER_SECONDS,
} from '../constants.js';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_MESSAGE_SKEW_SECONDS } from '../wire/limits.js';
import { StringEnum } from './common.js';

/**
 * The server's log levels (pino's, with `silent`). The agent has the original client's shorter
 * list, `LOG_LEVELS` (`debug` to `fatal`), every one of which is also a server level.
 */
export const SERVER_LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** A server log level. */
export type ServerLogLevel = (typeof SERVER_LOG_LEVELS)[number];

/** Default of `max_zmq_connections_per_address`. */
export const DEFAULT_MAX_ZMQ_CONNECTIONS_PER_ADDRESS = 64;

/** The largest TCP port; an integer setting with this maximum is a port. */
export const MAX_PORT = 65535;

const Port = (def: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: MAX_PORT, default: def, description });
const Text = (def: string, description: string) => Type.String({ minLength: 1, default: def, description });
const Positive = (def: number, description: string) =>
  Type.Integer({ minimum: 1, default: def, description });
/** A timer in milliseconds: a Node.js timer waits at most 2^31 - 1 ms (longer fires at once). */
const TimerMs = (def: number, description: string) =>
  Type.Integer({ minimum: 1, maximum: MAX_TIMER_DELAY_MS, default: def, description });
/** A timer in whole seconds: at most 2,147,483 s. */
const TimerSeconds = (def: number, description: string, minimum = 1) =>
  Type.Integer({ minimum, maximum: MAX_TIMER_SECONDS, default: def, description });
const Flag = (def: boolean, description: string) => Type.Boolean({ default: def, description });
const OptionalPath = (description: string) =>
  Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null, description });

/** Every server setting, with its default, bounds and meaning. */
export const ServerConfigSchema = Type.Object(
  {
    server_name: Text(
      'localhost',
      'Host advertised to agents in the config document and the `server` field of `commit`.',
    ),
    api_host: Text('0.0.0.0', 'Address the HTTP API listens on.'),
    api_port: Port(DEFAULT_API_PORT, 'HTTP API port.'),
    zeromq_listen_address: Text(DEFAULT_ZEROMQ_LISTEN_ADDRESS, 'ZeroMQ bind prefix of both sockets.'),
    server_heartbeat_port: Port(
      DEFAULT_SERVER_HEARTBEAT_PORT,
      'Port of the socket sending server heartbeats.',
    ),
    command_port: Port(DEFAULT_COMMAND_PORT, 'Port of the command socket.'),
    heartbeat_interval: TimerMs(DEFAULT_HEARTBEAT_INTERVAL_MS, 'Milliseconds between heartbeats, both ways.'),
    decay_window: Positive(DEFAULT_DECAY_WINDOW, 'Liveness: the heartbeat average weighs 1/decay_window.'),
    down_threshold: Type.Number({
      exclusiveMinimum: 0,
      default: DEFAULT_DOWN_THRESHOLD,
      description: 'Liveness: a node whose heartbeat average falls below this is down.',
    }),
    detect_offline_nodes_interval: Positive(
      DEFAULT_DETECT_OFFLINE_NODES_INTERVAL,
      'Liveness scan period, in heartbeat intervals.',
    ),
    rehab_timer: TimerMs(DEFAULT_REHAB_TIMER_MS, 'Milliseconds between `abort`s to a node in rehab.'),
    default_running_timeout: TimerSeconds(
      DEFAULT_RUN_TIMEOUT_SECONDS,
      'Seconds a job may run when the request gives no `run_timeout`.',
    ),
    voting_timeout: TimerSeconds(DEFAULT_VOTING_TIMEOUT_SECONDS, 'Seconds to wait for every vote.'),
    wait_complete_time: TimerSeconds(
      DEFAULT_WAIT_COMPLETE_SECONDS,
      "Seconds a finished job's process stays (late feed readers).",
      0,
    ),
    keep_alive_time: TimerSeconds(DEFAULT_FEED_KEEPALIVE_SECONDS, 'Seconds between SSE keepalives.'),
    org_feed_expiration: TimerSeconds(
      DEFAULT_ORG_FEED_EXPIRATION_SECONDS,
      'Seconds the org feed keeps events.',
    ),
    config_lifetime: TimerSeconds(
      DEFAULT_CONFIG_LIFETIME_SECONDS,
      "Seconds in the config document's `lifetime`; also the session-key rotation period.",
    ),
    max_body_size: Positive(DEFAULT_MAX_BODY_BYTES, 'Largest ZeroMQ message body in bytes.'),
    max_message_skew: Positive(
      DEFAULT_MAX_MESSAGE_SKEW_SECONDS,
      'Seconds of clock difference accepted on ZeroMQ messages.',
    ),
    max_request_body_size: Positive(
      DEFAULT_MAX_REQUEST_BODY_BYTES,
      'Largest HTTP request body in bytes (413 above).',
    ),
    max_job_nodes: Positive(DEFAULT_MAX_JOB_NODES, 'Most nodes one job may name (a 400 above).'),
    output_stream_max_bytes: Type.Integer({
      minimum: 0,
      maximum: 2147483647,
      default: 1_048_576,
      description:
        'Live output: the most bytes one node may stream for one job (sent with the commit of jobs with capture); 0 turns live output off.',
    }),
    auth_skew: Positive(
      DEFAULT_AUTH_SKEW_SECONDS,
      'Seconds of clock difference accepted on signed HTTP requests.',
    ),
    validate_client_node_name: Flag(true, "Config endpoint: a client may only fetch its own node's config."),
    disable_curve_encryption: Flag(false, 'Run the command socket without CURVE (for old clients).'),
    max_zmq_connections_per_address: Type.Integer({
      minimum: 0,
      default: DEFAULT_MAX_ZMQ_CONNECTIONS_PER_ADDRESS,
      description:
        'Most connections to the heartbeat port from one remote address (they are unauthenticated); ' +
        'more are closed at once. 0: no per-address limit (the total stays capped by the file ' +
        'descriptor limit). Raise it for many agents behind one NAT address.',
    }),
    data_dir: Text('./push-jobs-data', 'Where the server keeps its database file and keys.'),
    database_url: Text(
      'push-jobs.sqlite',
      'A SQLite file path (relative to data_dir unless absolute), or a postgres:// URL.',
    ),
    cluster: Flag(
      false,
      'Run as one instance of a cluster: several servers sharing one PostgreSQL database_url, ' +
        'each holding its own nodes, any of them serving the whole API (a load balancer in front). ' +
        'Refused with SQLite.',
    ),
    instance_name: Type.Union(
      [Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$' }), Type.Null()],
      {
        default: null,
        description:
          "This instance's name in the cluster (letters, digits, `.`, `_`, `:`, `-`; at most 64); " +
          'null: the host name and the API port. Unique among live instances.',
      },
    ),
    cluster_lease_seconds: TimerSeconds(
      15,
      "Cluster: how long an instance's lease lasts without renewal (renewed every third of it); " +
        "when it expires, another instance clears the silent one's nodes and ends its jobs.",
      3,
    ),
    cluster_drain_seconds: TimerSeconds(
      300,
      'Cluster: on SIGTERM an instance stops taking jobs (503) and waits this long at most for its ' +
        'running jobs to end before it exits; its nodes then move to other instances with their jobs. ' +
        'A second SIGTERM exits at once.',
      0,
    ),
    tls_cert: OptionalPath('PEM certificate file for HTTPS on the API port; with tls_key. null: plain HTTP.'),
    tls_key: OptionalPath('PEM private key file for HTTPS; with tls_cert.'),
    log_level: Type.Unsafe<ServerLogLevel>({
      ...StringEnum(SERVER_LOG_LEVELS),
      default: 'info',
      description: 'Log level.',
    }),
  },
  { additionalProperties: false },
);

/** Every server setting, after defaults. */
export type ServerConfig = Static<typeof ServerConfigSchema>;

/** A setting's name. */
export type ServerSettingName = keyof ServerConfig;

/** The setting names, in the schema's order. */
export const SERVER_SETTING_NAMES: readonly ServerSettingName[] = Object.freeze(
  Object.keys(ServerConfigSchema.properties) as ServerSettingName[],
);

/** The schema of one setting. */
export function serverSettingSchema(name: ServerSettingName): TSchema {
  return ServerConfigSchema.properties[name];
}

/** Every setting at its default (from the schema); frozen: copy it before changing anything. */
export const SERVER_CONFIG_DEFAULTS: Readonly<ServerConfig> = Object.freeze(
  Object.fromEntries(
    SERVER_SETTING_NAMES.map((name) => [name, (serverSettingSchema(name) as { default: unknown }).default]),
  ) as ServerConfig,
);

/** True for a PostgreSQL connection URL (`postgres://` or `postgresql://`). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(url);
}
