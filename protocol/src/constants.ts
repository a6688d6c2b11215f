/**
 * Names, state values and defaults shared by the push-jobs server, agent and CLI.
 *
 * Every enumeration is an `as const` array (so it can feed a CLI `options:` list or a JSON
 * Schema `enum`), with a union type derived from it and a type guard. Numeric defaults carry
 * their unit in their name (`_MS`, `_SECONDS`, `_BYTES`).
 *
 * Sources: `spec/server-protocol.md` sections 2, 3, 6, 7 and 9, and
 * `spec/client-knife-cookbook.md` sections A.2, A.3, A.11 and A.16.
 *
 * Wire-frame limits (header size, message skew, the 65,536-byte body limit) live in
 * `wire/limits.ts`, not here.
 *
 * @module
 */
import { DEFAULT_MAX_BODY_BYTES } from './wire/limits.js';

/** Builds a type guard for the members of an `as const` string array. */
function guardFor<T extends string>(values: readonly T[]): (value: unknown) => value is T {
  const set = new Set<string>(values);
  return (value: unknown): value is T => typeof value === 'string' && set.has(value);
}

// ---------------------------------------------------------------------------------------------
// Job states (spec 2.1)
// ---------------------------------------------------------------------------------------------

/**
 * Every job status, as reported in the REST job JSON (`status`).
 *
 * `aborted` is never set by the original server; ours sets it when a job is aborted through
 * `POST .../jobs/ID/abort` (a deliberate extension). `max_errors_exceeded` is ours too: a
 * rollout (`max_errors`) had more failed nodes than its error budget allowed.
 */
export const JOB_STATES = [
  'new',
  'voting',
  'running',
  'complete',
  'quorum_failed',
  'aborted',
  'timed_out',
  'crashed',
  'max_errors_exceeded',
] as const;

/** A job status. */
export type JobState = (typeof JOB_STATES)[number];

/** True when `value` is one of {@link JOB_STATES}. */
export const isJobState: (value: unknown) => value is JobState = guardFor(JOB_STATES);

/**
 * The integer id of each job status in the `job_status` table (spec 2.1). These are the
 * values stored in `jobs.status`; they are *not* in lifecycle order (`new` is 5).
 */
export const JOB_STATE_IDS: Readonly<Record<JobState, number>> = Object.freeze({
  voting: 0,
  running: 1,
  complete: 2,
  quorum_failed: 3,
  aborted: 4,
  new: 5,
  timed_out: 6,
  crashed: 7,
  max_errors_exceeded: 8,
});

/** The job status stored under a database id, or `undefined` for an unknown id. */
export function jobStateFromId(id: number): JobState | undefined {
  return JOB_STATES.find((state) => JOB_STATE_IDS[state] === id);
}

/** Job statuses after which a job never changes again. */
export const FINAL_JOB_STATES = [
  'complete',
  'quorum_failed',
  'aborted',
  'timed_out',
  'crashed',
  'max_errors_exceeded',
] as const;

/** A final job status. */
export type FinalJobState = (typeof FINAL_JOB_STATES)[number];

/** True when `value` is one of {@link FINAL_JOB_STATES}. */
export const isFinalJobState: (value: unknown) => value is FinalJobState = guardFor(FINAL_JOB_STATES);

// ---------------------------------------------------------------------------------------------
// Node-in-job states (spec 2.1, 2.3)
// ---------------------------------------------------------------------------------------------

/**
 * Every status a node can have within one job, in database-id order (`new` = 0 ...
 * `timed_out` = 11, then ours: `skipped` = 12, a node of a rollout that never started because
 * the job's error budget was spent). These are the keys of the `nodes` map of the REST job JSON.
 */
export const NODE_JOB_STATES = [
  'new',
  'ready',
  'running',
  'succeeded',
  'failed',
  'aborted',
  'unavailable',
  'nacked',
  'faulty',
  'was_ready',
  'crashed',
  'timed_out',
  'skipped',
] as const;

/** A node-in-job status. */
export type NodeJobState = (typeof NODE_JOB_STATES)[number];

/** True when `value` is one of {@link NODE_JOB_STATES}. */
export const isNodeJobState: (value: unknown) => value is NodeJobState = guardFor(NODE_JOB_STATES);

/** The integer stored in `job_nodes.status` for each node-in-job status (spec 2.1). */
export const NODE_JOB_STATE_IDS: Readonly<Record<NodeJobState, number>> = Object.freeze(
  Object.fromEntries(NODE_JOB_STATES.map((state, index) => [state, index])) as Record<NodeJobState, number>,
);

/** The node-in-job status stored under a database id, or `undefined` for an unknown id. */
export function nodeJobStateFromId(id: number): NodeJobState | undefined {
  return Number.isInteger(id) ? NODE_JOB_STATES[id] : undefined;
}

/**
 * Node-in-job statuses that never change again: every status except `new`, `ready` and
 * `running` (spec 2.1).
 */
export const TERMINAL_NODE_JOB_STATES = [
  'succeeded',
  'failed',
  'aborted',
  'unavailable',
  'nacked',
  'faulty',
  'was_ready',
  'crashed',
  'timed_out',
  'skipped',
] as const;

/** A terminal node-in-job status. */
export type TerminalNodeJobState = (typeof TERMINAL_NODE_JOB_STATES)[number];

/** True when `value` is one of {@link TERMINAL_NODE_JOB_STATES}. */
export const isTerminalNodeJobState: (value: unknown) => value is TerminalNodeJobState =
  guardFor(TERMINAL_NODE_JOB_STATES);

// ---------------------------------------------------------------------------------------------
// Node states (spec 3.2, 3.4)
// ---------------------------------------------------------------------------------------------

/** Node availability, as reported by the node_states endpoints. */
export const AVAILABILITY = ['available', 'unavailable'] as const;

/** A node availability. */
export type Availability = (typeof AVAILABILITY)[number];

/** True when `value` is one of {@link AVAILABILITY}. */
export const isAvailability: (value: unknown) => value is Availability = guardFor(AVAILABILITY);

/** Node connection status, as reported by `GET .../node_states/NODE`. */
export const NODE_STATUS = ['online', 'offline'] as const;

/** A node connection status. */
export type NodeStatus = (typeof NODE_STATUS)[number];

/** True when `value` is one of {@link NODE_STATUS}. */
export const isNodeStatus: (value: unknown) => value is NodeStatus = guardFor(NODE_STATUS);

/**
 * States of the server's per-node process (spec 3.2). Only `idle` is available for jobs.
 */
export const NODE_PROCESS_STATES = ['post_init', 'rehab', 'idle'] as const;

/** A server-side node process state. */
export type NodeProcessState = (typeof NODE_PROCESS_STATES)[number];

/** True when `value` is one of {@link NODE_PROCESS_STATES}. */
export const isNodeProcessState: (value: unknown) => value is NodeProcessState =
  guardFor(NODE_PROCESS_STATES);

/**
 * The agent's own job states (client spec A.10), reported as `job_state` in client
 * heartbeats. `committed` is the agent's "ready" state.
 */
export const AGENT_JOB_STATES = ['idle', 'committed', 'running'] as const;

/** An agent job state. */
export type AgentJobState = (typeof AGENT_JOB_STATES)[number];

/** True when `value` is one of {@link AGENT_JOB_STATES}. */
export const isAgentJobState: (value: unknown) => value is AgentJobState = guardFor(AGENT_JOB_STATES);

/**
 * What a connected node is doing, as `GET node_states` reports it in `state` (beyond the
 * original): the agent's own job state (from its heartbeats and job messages), or `rehab` while
 * the server waits for the node to answer an `abort`.
 */
export const NODE_ACTIVITIES = ['idle', 'committed', 'running', 'rehab'] as const;

/** A node activity. */
export type NodeActivity = (typeof NODE_ACTIVITIES)[number];

// ---------------------------------------------------------------------------------------------
// Wire message types (spec 5.2, 5.3)
// ---------------------------------------------------------------------------------------------

/** The `type` of every message the server sends to a client (spec 5.2). */
export const SERVER_MESSAGE_TYPES = ['heartbeat', 'commit', 'run', 'abort', 'ack'] as const;

/** A server-to-client message type. */
export type ServerMessageType = (typeof SERVER_MESSAGE_TYPES)[number];

/** True when `value` is one of {@link SERVER_MESSAGE_TYPES}. */
export const isServerMessageType: (value: unknown) => value is ServerMessageType =
  guardFor(SERVER_MESSAGE_TYPES);

/** The `type` of every message a client sends to the server (spec 5.3, client spec A.9). */
export const CLIENT_MESSAGE_TYPES = [
  'heartbeat',
  'ack_commit',
  'nack_commit',
  'ack_run',
  'nack_run',
  'succeeded',
  'failed',
  'aborted',
  'output',
] as const;

/** The channels of job output (`output` messages, output endpoints). */
export const OUTPUT_CHANNELS = ['stdout', 'stderr'] as const;
/** A job output channel. */
export type OutputChannel = (typeof OUTPUT_CHANNELS)[number];

/** Most bytes of `data` (UTF-8) in one `output` message. */
export const MAX_OUTPUT_CHUNK_BYTES = 16_384;

/** A client-to-server message type. */
export type ClientMessageType = (typeof CLIENT_MESSAGE_TYPES)[number];

/** True when `value` is one of {@link CLIENT_MESSAGE_TYPES}. */
export const isClientMessageType: (value: unknown) => value is ClientMessageType =
  guardFor(CLIENT_MESSAGE_TYPES);

// ---------------------------------------------------------------------------------------------
// Feed events (spec 7)
// ---------------------------------------------------------------------------------------------

/**
 * Event names of the per-job feed (`.../job_status_feed/JOBID`, spec 7.2). `summary` is the
 * single event sent for a job whose process is gone; `max_errors_exceeded` is ours (a rollout's
 * error budget was spent).
 */
export const JOB_FEED_EVENTS = [
  'start',
  'quorum_vote',
  'quorum_succeeded',
  'run_start',
  'run_complete',
  'rehab',
  'max_errors_exceeded',
  'output',
  'job_complete',
  'summary',
] as const;

/** A job feed event name. */
export type JobFeedEvent = (typeof JOB_FEED_EVENTS)[number];

/** True when `value` is one of {@link JOB_FEED_EVENTS}. */
export const isJobFeedEvent: (value: unknown) => value is JobFeedEvent = guardFor(JOB_FEED_EVENTS);

/** Event names of the organization feed (`.../job_status_feed`, spec 7.3). */
export const ORG_FEED_EVENTS = ['start', 'job_complete', 'start_of_history'] as const;

/** An organization feed event name. */
export type OrgFeedEvent = (typeof ORG_FEED_EVENTS)[number];

/** True when `value` is one of {@link ORG_FEED_EVENTS}. */
export const isOrgFeedEvent: (value: unknown) => value is OrgFeedEvent = guardFor(ORG_FEED_EVENTS);

/** Every feed event name, job and organization feeds together. */
export const FEED_EVENTS = [
  'start',
  'quorum_vote',
  'quorum_succeeded',
  'run_start',
  'run_complete',
  'rehab',
  'max_errors_exceeded',
  'output',
  'job_complete',
  'summary',
  'start_of_history',
] as const;

/** A feed event name. */
export type FeedEvent = (typeof FEED_EVENTS)[number];

/** True when `value` is one of {@link FEED_EVENTS}. */
export const isFeedEvent: (value: unknown) => value is FeedEvent = guardFor(FEED_EVENTS);

/**
 * `status` values of the `quorum_vote` event (spec 7.2). `lost_availibility` is misspelled
 * on purpose: that is what the original server emits (spec 10, item 28).
 */
export const QUORUM_VOTE_STATUSES = [
  'success',
  'failure',
  'unexpected_commit',
  'lost_availibility',
  'client_died_while_voting',
  'down',
  'voting_timeout',
] as const;

/** A `quorum_vote` event status. */
export type QuorumVoteStatus = (typeof QUORUM_VOTE_STATUSES)[number];

/** True when `value` is one of {@link QUORUM_VOTE_STATUSES}. */
export const isQuorumVoteStatus: (value: unknown) => value is QuorumVoteStatus =
  guardFor(QUORUM_VOTE_STATUSES);

/** `status` values of the `run_complete` event (spec 7.2). */
export const RUN_COMPLETE_STATUSES = [
  'success',
  'failure',
  'crashed',
  'run_nacked',
  'run_nacked_while_running',
  'client_died_while_running',
] as const;

/** A `run_complete` event status. */
export type RunCompleteStatus = (typeof RUN_COMPLETE_STATUSES)[number];

/** True when `value` is one of {@link RUN_COMPLETE_STATUSES}. */
export const isRunCompleteStatus: (value: unknown) => value is RunCompleteStatus =
  guardFor(RUN_COMPLETE_STATUSES);

/**
 * `status` values of the `job_complete` event. The original emits `complete`,
 * `quorum_failed` and `timed_out` (spec 7.2); ours may also emit `aborted` (the abort call)
 * and `crashed` (a job found in progress after a restart), and `max_errors_exceeded` (a
 * rollout stopped by its error budget).
 */
export const JOB_COMPLETE_STATUSES = [
  'complete',
  'quorum_failed',
  'timed_out',
  'aborted',
  'crashed',
  'max_errors_exceeded',
] as const;

/** A `job_complete` event status. */
export type JobCompleteStatus = (typeof JOB_COMPLETE_STATUSES)[number];

/** True when `value` is one of {@link JOB_COMPLETE_STATUSES}. */
export const isJobCompleteStatus: (value: unknown) => value is JobCompleteStatus =
  guardFor(JOB_COMPLETE_STATUSES);

// ---------------------------------------------------------------------------------------------
// Server defaults (spec 3.3, 9; design.md "Server configuration")
// ---------------------------------------------------------------------------------------------

/** Protocol version sent in headers and as the client's `protocol_version`. */
export const PROTOCOL_VERSION = '2.0';

/** HTTP port of the REST API (`api_port`). */
export const DEFAULT_API_PORT = 10003;

/** Port of the server heartbeat PUB socket (`server_heartbeat_port`). */
export const DEFAULT_SERVER_HEARTBEAT_PORT = 10000;

/** Port of the command ROUTER socket (`command_port`). */
export const DEFAULT_COMMAND_PORT = 10002;

/** Bind prefix of both ZeroMQ sockets (`zeromq_listen_address`). */
export const DEFAULT_ZEROMQ_LISTEN_ADDRESS = 'tcp://*';

/**
 * Server heartbeat period and liveness interval, in milliseconds (`heartbeat_interval`).
 * 1000 is the development value; the original's production value is 10000.
 */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000;

/** Seconds a job may run when its request gives no `run_timeout` (`default_running_timeout`). */
export const DEFAULT_RUN_TIMEOUT_SECONDS = 3600;

/** Seconds the server waits for every node's vote (`voting_timeout`). */
export const DEFAULT_VOTING_TIMEOUT_SECONDS = 60;

/**
 * The longest delay a Node.js timer takes, in ms (2^31 - 1, about 24.8 days). A longer one
 * fires after 1 ms instead (with only a warning): a job with a `run_timeout` of a month would
 * time out at once.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** `ms` bounded to what a timer can wait ({@link MAX_TIMER_DELAY_MS}); at least 0. */
export function timerDelayMs(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_DELAY_MS);
}

/**
 * The largest timer setting in whole seconds ({@link MAX_TIMER_DELAY_MS} rounded down: 2,147,483
 * s, about 24.8 days): the REST API refuses a longer `run_timeout`, and the server refuses a
 * longer timing setting at start.
 */
export const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_DELAY_MS / 1000);

/**
 * The largest integer the stores keep in an integer column (PostgreSQL `integer`, 2^31 - 1): the
 * REST API refuses a larger `quorum`.
 */
export const MAX_STORED_INTEGER = 2 ** 31 - 1;

/**
 * Default of the server setting `max_job_nodes`: the most nodes one job may name. The fleet
 * benchmark runs 10,000-node jobs; a job naming more than this gets a 400.
 */
export const DEFAULT_MAX_JOB_NODES = 20_000;

/** `lifetime` in the config document, seconds between forced agent reconfigures (`config_lifetime`). */
export const DEFAULT_CONFIG_LIFETIME_SECONDS = 3600;

/** Allowed clock skew of a signed REST request (`X-Ops-Timestamp`), in seconds. */
export const DEFAULT_AUTH_SKEW_SECONDS = 900;

/** Largest POST/PUT body the REST API accepts, in bytes (413 above). */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 1_000_000;

/** Largest job `file` payload, after base64 decoding or after the `raw:` prefix, in bytes. */
export const MAX_FILE_BYTES = 100_000;

/**
 * The largest `commit` message body the server sends, in bytes. Our agent drops a server message
 * whose body is larger than the wire limit (`DEFAULT_MAX_BODY_BYTES`, 65,536), so the REST API
 * refuses a job whose commit (the command, the file as sent, env, user, dir and the message's
 * own fields) would not fit: the file alone may then be smaller than {@link MAX_FILE_BYTES}.
 * (The original's Ruby client has no inbound limit.)
 */
export const MAX_COMMIT_BODY_BYTES = DEFAULT_MAX_BODY_BYTES;

/** Liveness average weight is `1 / decay_window` (`decay_window`, production value). */
export const DEFAULT_DECAY_WINDOW = 4;

/** A node whose heartbeat average falls below this is declared dead (`down_threshold`). */
export const DEFAULT_DOWN_THRESHOLD = 0.6;

/** The liveness scan runs every this many heartbeat intervals (`detect_offline_nodes_interval`). */
export const DEFAULT_DETECT_OFFLINE_NODES_INTERVAL = 4;

/** Period of the repeated `abort` sent to a node in rehab, in milliseconds (`rehab_timer`). */
export const DEFAULT_REHAB_TIMER_MS = 1000;

/** Seconds a job's process stays alive after the job finishes (`wait_complete_time`). */
export const DEFAULT_WAIT_COMPLETE_SECONDS = 5;

/** Seconds of feed silence before a `:keepalive` comment is written (`keep_alive_time`). */
export const DEFAULT_FEED_KEEPALIVE_SECONDS = 15;

/** Seconds an organization feed keeps its events (`org_feed_expiration`). */
export const DEFAULT_ORG_FEED_EXPIRATION_SECONDS = 60;

/** Missed server heartbeats after which an agent deems the server offline (config `offline_threshold`). */
export const OFFLINE_THRESHOLD = 3;

/** Received server heartbeats after which an agent deems the server online again (config `online_threshold`). */
export const ONLINE_THRESHOLD = 2;

/** A message `job_id` longer than this many bytes is treated as an invalid job id (spec 3.5). */
export const MAX_MESSAGE_JOB_ID_BYTES = 64;

/** The quorum knife-push asks for when none is given: every node. */
export const DEFAULT_QUORUM = '100%';

// ---------------------------------------------------------------------------------------------
// Agent defaults (client spec A.2, A.3, A.11, A.16, A.17)
// ---------------------------------------------------------------------------------------------

/** Directory for files sent with a job (`file_dir`), as the agent CLI defaults it. */
export const DEFAULT_AGENT_FILE_DIR = '/tmp/chef-push';

/** Seconds after which transferred files are removed from `file_dir` (`file_dir_expiry`). */
export const DEFAULT_AGENT_FILE_DIR_EXPIRY_SECONDS = 86_400;

/** The agent's own message size limit, in bytes (`max_body_size`; client spec A.16). */
export const DEFAULT_AGENT_MAX_BODY_SIZE_BYTES = 63_000;

/** The whitelist an agent uses when its configuration sets none. */
export const DEFAULT_WHITELIST: Readonly<Record<string, string>> = Object.freeze({
  'chef-client': 'chef-client',
});

/**
 * Config files the agent tries, in order, when none is given on the command line; the first
 * that exists wins (client spec A.2).
 */
export const DEFAULT_AGENT_CONFIG_PATHS = [
  '/etc/chef/chef-push-client.rb',
  '/etc/chef/push-jobs-client.rb',
  '/etc/chef/client.rb',
] as const;

/** Name of the lock file under `file_cache_path` used by whitelist entries with `lock: true`. */
export const DEFAULT_AGENT_LOCKFILE_NAME = 'chef-client-running.pid';

/** Timeout of the agent's config fetch, in seconds (`rest_timeout`). */
export const DEFAULT_AGENT_REST_TIMEOUT_SECONDS = 5;

/** Log levels the agent accepts (`log_level`). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;

/** An agent log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** True when `value` is one of {@link LOG_LEVELS}. */
export const isLogLevel: (value: unknown) => value is LogLevel = guardFor(LOG_LEVELS);

/** TLS verification modes of the agent's HTTP client (`ssl_verify_mode`). */
export const SSL_VERIFY_MODES = ['verify_none', 'verify_peer'] as const;

/** A TLS verification mode. */
export type SslVerifyMode = (typeof SSL_VERIFY_MODES)[number];

/** True when `value` is one of {@link SSL_VERIFY_MODES}. */
export const isSslVerifyMode: (value: unknown) => value is SslVerifyMode = guardFor(SSL_VERIFY_MODES);
