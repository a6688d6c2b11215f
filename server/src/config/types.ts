/**
 * The server's settings, named as the original's (`../shared/spec/server-protocol.md` section 9)
 * plus ours. A {@link ServerConfig} is complete: every default is filled in by
 * `compileServerConfig`, so the rest of the server never sees `undefined` for a setting that
 * has a default.
 *
 * @module
 */

/** Every setting, after defaults. Durations carry their unit in the name or the TSDoc. */
export interface ServerConfig {
  /** Host advertised to agents in the config document and the `server` field of `commit`. @default 'localhost' */
  server_name: string;
  /** Address the HTTP API listens on. @default '0.0.0.0' */
  api_host: string;
  /** HTTP API port. @default 10003 */
  api_port: number;
  /** ZeroMQ bind prefix of both sockets. @default 'tcp://*' */
  zeromq_listen_address: string;
  /** PUB socket sending server heartbeats. @default 10000 */
  server_heartbeat_port: number;
  /** ROUTER socket for commands. @default 10002 */
  command_port: number;
  /** Milliseconds between heartbeats, both ways. @default 1000 */
  heartbeat_interval: number;
  /** Liveness: average weight is 1/decay_window (an integer). @default 4 */
  decay_window: number;
  /** Liveness: a node whose heartbeat average falls below this is down. @default 0.6 */
  down_threshold: number;
  /** Liveness scan period, in heartbeat intervals. @default 4 */
  detect_offline_nodes_interval: number;
  /** Milliseconds between `abort`s to a node in rehab. @default 1000 */
  rehab_timer: number;
  /** Seconds a job may run when the request gives no `run_timeout`. @default 3600 */
  default_running_timeout: number;
  /** Seconds to wait for every vote. @default 60 */
  voting_timeout: number;
  /** Seconds a job's process stays after it finished (late feed readers). @default 5 */
  wait_complete_time: number;
  /** Seconds between SSE keepalives. @default 15 */
  keep_alive_time: number;
  /** Seconds the org feed keeps events. @default 60 */
  org_feed_expiration: number;
  /** Seconds in the config document's `lifetime`; also the session-key rotation period. @default 3600 */
  config_lifetime: number;
  /** Largest ZeroMQ message body in bytes. @default 65536 */
  max_body_size: number;
  /** Seconds of clock difference accepted on ZeroMQ messages. @default 300 */
  max_message_skew: number;
  /** Largest HTTP request body in bytes (413 above). @default 1000000 */
  max_request_body_size: number;
  /** Most nodes one job may name (a 400 above). @default 20000 */
  max_job_nodes: number;
  /** Seconds of clock difference accepted on signed HTTP requests. @default 900 */
  auth_skew: number;
  /** Config endpoint: a client may only fetch its own node's config. @default true */
  validate_client_node_name: boolean;
  /** Run the command socket without CURVE (for old clients). @default false */
  disable_curve_encryption: boolean;
  /**
   * Most connections to the heartbeat port from one remote address (they are unauthenticated);
   * more are closed at once. 0: no per-address limit (the total stays capped by the file
   * descriptor limit). Raise it for many agents behind one NAT address. @default 64
   */
  max_zmq_connections_per_address: number;
  /** Where the server keeps its database file and keys. @default './push-jobs-data' */
  data_dir: string;
  /** A SQLite file path (relative to data_dir unless absolute), or `postgres://...`. @default 'push-jobs.sqlite' */
  database_url: string;
  /** PEM certificate file for HTTPS on the API port; with `tls_key`. @default null (plain HTTP) */
  tls_cert: string | null;
  /** PEM private key file for HTTPS. @default null */
  tls_key: string | null;
  /** pino level. @default 'info' */
  log_level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}
