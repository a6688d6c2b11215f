/**
 * Messages the server sends to a client (spec 5.2).
 *
 * Field order in the TypeBox objects is the order the server emits: `sequence` and
 * `timestamp` first, then `type`, then the rest. These schemas are used by the agent to check
 * what it receives, possibly from the original Erlang server, so they are lenient: extra
 * properties are allowed, `timestamp` is any string (the wire layer checks the date and the
 * skew), and `job_id` is any string (the server decides what is a job).
 *
 * @module
 */
import { Type, type Static, type TUnsafe } from '@sinclair/typebox';
import { EnvSchema } from './common.js';

const Sequence = Type.Integer({ minimum: 0, description: 'per-socket message counter' });
const Timestamp = Type.String({ minLength: 1, description: 'HTTP date (RFC 1123)' });

/** Server heartbeat, published on the PUB socket every `heartbeat_interval` (RSA-signed). */
export const ServerHeartbeatSchema = Type.Object({
  sequence: Sequence,
  timestamp: Timestamp,
  /** The server's OS hostname. */
  server: Type.String(),
  type: Type.Literal('heartbeat'),
  /** The server incarnation; a change means the server restarted. */
  incarnation_id: Type.String({ minLength: 1 }),
});
/** Server heartbeat message. */
export type ServerHeartbeat = Static<typeof ServerHeartbeatSchema>;

/**
 * `commit`: asks a node to vote for a job. `user`, `dir`, `env` and `file` are present only
 * when set. `capture` (the REST name is `capture_output`) is always sent by this server (the
 * builder requires it); it is optional here so that an agent reads a commit without it, from a
 * server older than output capture, as `false`.
 */
export const CommitMessageSchema = Type.Object({
  sequence: Sequence,
  timestamp: Timestamp,
  type: Type.Literal('commit'),
  job_id: Type.String({ minLength: 1 }),
  /** The configured `server_name`. */
  server: Type.String(),
  command: Type.String(),
  user: Type.Optional(Type.String()),
  dir: Type.Optional(Type.String()),
  env: Type.Optional(EnvSchema),
  /** The file with its `raw:` or `base64:` prefix. */
  file: Type.Optional(Type.String()),
  capture: Type.Optional(Type.Boolean()),
  /**
   * The job's run timeout in seconds (beyond the original, which the original client ignores):
   * our agent stops the job's process at this bound plus a grace period even when the server
   * that started it is gone.
   */
  run_timeout: Type.Optional(Type.Integer({ minimum: 0 })),
  /**
   * The server's voting timeout in seconds (beyond the original): how long the node may have
   * to wait for `run` after acking; our agent releases a commit that waited longer.
   */
  voting_timeout: Type.Optional(Type.Integer({ minimum: 0 })),
  /**
   * Ours, sent for a rollout (`max_concurrency`): how long, in seconds after the commit, the node
   * may have to wait for `run` (its turn may come late: up to the voting and run timeouts). Our
   * agent waits this long instead of `voting_timeout`; the original client waits for ever.
   */
  run_wait_timeout: Type.Optional(Type.Integer({ minimum: 0 })),
  /**
   * Ours, live output: present when the job captures output and this server takes `output`
   * messages. The most bytes of output (both channels, UTF-8) the node may stream for this job;
   * past it the node marks the stream truncated and stops streaming. Our agent streams only when
   * it is present, so against the original server (which never sends it) the message flow is
   * the original's.
   */
  output_stream_max_bytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647 })),
});
/** `commit` message. */
export type CommitMessage = Static<typeof CommitMessageSchema>;

/** `run`: tells a node that committed to start the job. */
export const RunMessageSchema = Type.Object({
  sequence: Sequence,
  timestamp: Timestamp,
  type: Type.Literal('run'),
  job_id: Type.String({ minLength: 1 }),
});
/** `run` message. */
export type RunMessage = Static<typeof RunMessageSchema>;

/**
 * `abort`: the node stops what it does and replies `aborted`. The original carries no `job_id`
 * (rehab: stop whatever runs). Ours carries the `job_id` when a job sends it (its quorum failed,
 * it timed out, a user aborted it): our agent then stops only that job, and ignores an abort of
 * a job it does not hold. The original client ignores the field.
 */
export const AbortMessageSchema = Type.Object({
  sequence: Sequence,
  timestamp: Timestamp,
  type: Type.Literal('abort'),
  job_id: Type.Optional(Type.String({ minLength: 1 })),
});
/** `abort` message. */
export type AbortMessage = Static<typeof AbortMessageSchema>;

/** `ack`: sent when a node reconnects from a new address; proves the channel works. */
export const AckMessageSchema = Type.Object({
  sequence: Sequence,
  timestamp: Timestamp,
  type: Type.Literal('ack'),
});
/** `ack` message. */
export type AckMessage = Static<typeof AckMessageSchema>;

const serverMessageMembers = [
  ServerHeartbeatSchema,
  CommitMessageSchema,
  RunMessageSchema,
  AbortMessageSchema,
  AckMessageSchema,
] as const;

/** Any server-to-client message, discriminated on `type`. */
export type ServerMessage = ServerHeartbeat | CommitMessage | RunMessage | AbortMessage | AckMessage;

/**
 * Any server-to-client message. Emitted as `oneOf` with the OpenAPI `discriminator` keyword on
 * `type`, so a validator reports errors against the one member the `type` selects.
 */
export const ServerMessageSchema: TUnsafe<ServerMessage> = Type.Unsafe<ServerMessage>({
  type: 'object',
  oneOf: [...serverMessageMembers],
  discriminator: { propertyName: 'type' },
});
