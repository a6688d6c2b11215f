/**
 * Messages a client (agent) sends to the server (spec 5.3, client spec A.9).
 *
 * Every message carries the same envelope, in this order: `node`, `client`,
 * `protocol_version`, `org`, `type`, `sequence`, `timestamp`, `incarnation_id`, then (on a
 * heartbeat) `job_state`, then `job_id`.
 *
 * These schemas check what the server receives, possibly from the Ruby client or another
 * implementation, so they are lenient:
 * * extra properties are allowed;
 * * the fields the original server ignores (`client`, `protocol_version`, `job_state`) are
 *   optional, and so is `job_id` (missing, `null` and the string `"null"` all mean "no job",
 *   spec 3.5);
 * * `timestamp` and `incarnation_id` are any non-empty string (the wire layer checks the date).
 *
 * `sequence` is required: we use it for replay protection, and every known client sends it.
 *
 * @module
 */
import { Type, type Static, type TProperties, type TUnsafe } from '@sinclair/typebox';
import {
  AGENT_JOB_STATES,
  MAX_OUTPUT_CHUNK_BYTES,
  OUTPUT_CHANNELS,
  type ClientMessageType,
} from '../constants.js';
import { NodeNameSchema, OrgNameSchema, StringEnum } from './common.js';

const JobIdField = Type.Optional(
  Type.Union([Type.String(), Type.Null()], { description: 'job id, or null (or absent) for none' }),
);

function envelope<T extends ClientMessageType, P extends TProperties>(type: T, extra: P) {
  return Type.Object({
    node: NodeNameSchema,
    /** The client's short hostname. */
    client: Type.Optional(Type.String()),
    protocol_version: Type.Optional(Type.String()),
    /** The org *name*. */
    org: OrgNameSchema,
    type: Type.Literal(type),
    sequence: Type.Integer({ minimum: 0 }),
    timestamp: Type.String({ minLength: 1 }),
    /** The client's per-process incarnation id. */
    incarnation_id: Type.String({ minLength: 1 }),
    ...extra,
    job_id: JobIdField,
  });
}

/** The envelope alone, with any `type`: enough to route or log a message of unknown type. */
export const ClientEnvelopeSchema = Type.Object({
  node: NodeNameSchema,
  client: Type.Optional(Type.String()),
  protocol_version: Type.Optional(Type.String()),
  org: OrgNameSchema,
  type: Type.String(),
  sequence: Type.Integer({ minimum: 0 }),
  timestamp: Type.String({ minLength: 1 }),
  incarnation_id: Type.String({ minLength: 1 }),
  job_id: JobIdField,
});
/** The envelope of any client message. */
export type ClientEnvelope = Static<typeof ClientEnvelopeSchema>;

/** Client heartbeat; `job_state` is the agent's state and `job_id` its current job. */
export const ClientHeartbeatSchema = envelope('heartbeat', {
  job_state: Type.Optional(StringEnum(AGENT_JOB_STATES)),
});
/** Client heartbeat message. */
export type ClientHeartbeat = Static<typeof ClientHeartbeatSchema>;

/** `ack_commit`: the node votes yes. */
export const AckCommitMessageSchema = envelope('ack_commit', {});
/** `ack_commit` message. */
export type AckCommitMessage = Static<typeof AckCommitMessageSchema>;

/** `nack_commit`: the node votes no (busy, not whitelisted, bad user/dir/file). */
export const NackCommitMessageSchema = envelope('nack_commit', {});
/** `nack_commit` message. */
export type NackCommitMessage = Static<typeof NackCommitMessageSchema>;

/** `ack_run`: the node started the job. */
export const AckRunMessageSchema = envelope('ack_run', {});
/** `ack_run` message. */
export type AckRunMessage = Static<typeof AckRunMessageSchema>;

/** `nack_run`: the node refuses to run a job it did not commit to. */
export const NackRunMessageSchema = envelope('nack_run', {});
/** `nack_run` message. */
export type NackRunMessage = Static<typeof NackRunMessageSchema>;

const outputFields = {
  /** Captured standard output, when capture was requested. */
  stdout: Type.Optional(Type.String()),
  /** Captured standard error, when capture was requested. */
  stderr: Type.Optional(Type.String()),
  /** Our extension: `stdout` was cut to fit the size limit. */
  stdout_truncated: Type.Optional(Type.Boolean()),
  /** Our extension: `stderr` was cut to fit the size limit. */
  stderr_truncated: Type.Optional(Type.Boolean()),
};

/**
 * Ours: how the command ended, sent with `succeeded`/`failed` (the original server ignores
 * unknown fields). The server keeps them per node; a value of the wrong shape is taken as absent.
 */
const resultFields = {
  /** The exit status, or null when a signal ended the command (or it never started). */
  exit_status: Type.Optional(
    Type.Union([Type.Integer({ minimum: -2147483648, maximum: 2147483647 }), Type.Null()]),
  ),
  /** The signal that ended the command (`SIGTERM`), or null. */
  signal: Type.Optional(Type.Union([Type.String({ pattern: '^SIG[A-Z0-9+-]{1,12}$' }), Type.Null()])),
  /** When the command started, ISO 8601 in UTC with milliseconds (the node's clock). */
  started_at: Type.Optional(Type.String({ maxLength: 40 })),
  /** When the command ended, ISO 8601 in UTC with milliseconds (the node's clock). */
  ended_at: Type.Optional(Type.String({ maxLength: 40 })),
};

/** The result fields of `succeeded`/`failed` (all optional, ours). */
export const ClientResultFieldsSchema = Type.Object(resultFields);
/** The result fields of `succeeded`/`failed`. */
export type ClientResultFields = Static<typeof ClientResultFieldsSchema>;

/** The output a `succeeded` or `failed` carries (all optional). */
export const ClientOutputFieldsSchema = Type.Object(outputFields);
/** The output fields of `succeeded`/`failed`. */
export type ClientOutputFields = Static<typeof ClientOutputFieldsSchema>;

/** `succeeded`: the command exited with code 0. */
export const SucceededMessageSchema = envelope('succeeded', { ...outputFields, ...resultFields });
/** `succeeded` message. */
export type SucceededMessage = Static<typeof SucceededMessageSchema>;

/** `failed`: the command exited with a non-zero code (or could not run). */
export const FailedMessageSchema = envelope('failed', { ...outputFields, ...resultFields });
/** `failed` message. */
export type FailedMessage = Static<typeof FailedMessageSchema>;

/**
 * Ours: `output`, a chunk of what a running command printed, sent while it runs (live output).
 * Sent only for a job whose `commit` carried `output_stream_max_bytes` (the original server
 * never sends it, and treats a message type it does not know as a fault), and only while the
 * command runs. `seq` counts the job's chunks from 0, both channels together; the receiver
 * appends in `seq` order and drops repeats. `truncated: true` on the last chunk sent: the cap was
 * reached and nothing more of this job's output is streamed (the final `succeeded`/`failed`
 * still carries the output as before).
 */
export const OutputMessageSchema = envelope('output', {
  seq: Type.Integer({ minimum: 0, maximum: 2147483647 }),
  channel: Type.Union(OUTPUT_CHANNELS.map((c) => Type.Literal(c))),
  /** UTF-8 text; a chunk never splits a character. At most {@link MAX_OUTPUT_CHUNK_BYTES} bytes. */
  data: Type.String({ maxLength: MAX_OUTPUT_CHUNK_BYTES }),
  truncated: Type.Optional(Type.Boolean()),
});
/** `output` message. */
export type OutputMessage = Static<typeof OutputMessageSchema>;

/** `aborted`: reply to `abort`; `job_id` is the job the client was working on, or null. */
export const AbortedMessageSchema = envelope('aborted', {});
/** `aborted` message. */
export type AbortedMessage = Static<typeof AbortedMessageSchema>;

/** Any client-to-server message, discriminated on `type`. */
export type ClientMessage =
  | ClientHeartbeat
  | AckCommitMessage
  | NackCommitMessage
  | AckRunMessage
  | NackRunMessage
  | SucceededMessage
  | FailedMessage
  | AbortedMessage
  | OutputMessage;

/**
 * Any client-to-server message: `oneOf` with the OpenAPI `discriminator` keyword on `type`,
 * so errors are reported against the member that `type` selects. An unknown `type` fails.
 */
export const ClientMessageSchema: TUnsafe<ClientMessage> = Type.Unsafe<ClientMessage>({
  type: 'object',
  oneOf: [
    ClientHeartbeatSchema,
    AckCommitMessageSchema,
    NackCommitMessageSchema,
    AckRunMessageSchema,
    NackRunMessageSchema,
    SucceededMessageSchema,
    FailedMessageSchema,
    AbortedMessageSchema,
    OutputMessageSchema,
  ],
  discriminator: { propertyName: 'type' },
});

/** The message types carrying job output (`stdout`/`stderr`). */
export const OUTPUT_MESSAGE_TYPES = ['succeeded', 'failed'] as const satisfies readonly ClientMessageType[];
