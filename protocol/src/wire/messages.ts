/**
 * Typed builders of the messages the server sends (spec 5.2), from the types of
 * `schemas/server-messages.ts`. Every builder writes the fields in the order of the schema (the
 * order the original server emits) and leaves an optional field out when it is unset, so the
 * bytes on the wire are the same whoever builds a message.
 *
 * A message is built in two steps: its *body* (`type` and the fields of its own) by the job or
 * node logic, then {@link sealServerMessage} puts the envelope (`sequence`, `timestamp`) in front
 * of it when the message is signed for one node.
 *
 * Adding a field to a schema is one edit: the field order lists below are checked by the compiler
 * against the schema's type (a field missing from a list does not compile), and the builders
 * copy what the lists name.
 *
 * @module
 */
import type {
  AbortMessage,
  AckMessage,
  CommitMessage,
  RunMessage,
  ServerHeartbeat,
  ServerMessage,
} from '../schemas/server-messages.js';

/** The envelope the sender adds to every server message. */
export interface ServerEnvelope {
  sequence: number;
  timestamp: string;
}

type EnvelopeKey = keyof ServerEnvelope;

/** A server message without its envelope: `type` and the message's own fields. */
export type ServerMessageBody<M extends ServerMessage = ServerMessage> = M extends ServerMessage
  ? Omit<M, EnvelopeKey>
  : never;

/**
 * What the server sends one node on the command socket (every server message but the heartbeat,
 * which is published to all), without the envelope.
 */
export type ServerCommandBody = ServerMessageBody<CommitMessage | RunMessage | AbortMessage | AckMessage>;

/** The `type` of a {@link ServerCommandBody}. */
export type ServerCommandType = ServerCommandBody['type'];

/** The body of a `commit`. */
export type CommitBody = ServerMessageBody<CommitMessage>;
/** The body of a `run`. */
export type RunBody = ServerMessageBody<RunMessage>;
/** The body of an `abort`. */
export type AbortBody = ServerMessageBody<AbortMessage>;
/** The body of an `ack`. */
export type AckBody = ServerMessageBody<AckMessage>;

/**
 * A tuple of the keys of `T`, each once: it does not compile when a key of `T` is missing (the
 * error names it), so a field added to a schema must be placed in its message's order.
 */
type AllKeys<T, K extends readonly (keyof T)[]> = [Exclude<keyof T, K[number]>] extends [never]
  ? K
  : { missing: Exclude<keyof T, K[number]> };

function fieldOrder<T>() {
  return <const K extends readonly (keyof T)[]>(keys: K & AllKeys<T, K>): K => keys;
}

/** `commit` fields in wire order (the envelope is added by {@link sealServerMessage}). */
export const COMMIT_FIELD_ORDER = fieldOrder<CommitBody>()([
  'type',
  'job_id',
  'server',
  'command',
  'user',
  'dir',
  'env',
  'file',
  'capture',
  'run_timeout',
  'voting_timeout',
  'run_wait_timeout',
  'output_stream_max_bytes',
]);

/** `abort` fields in wire order. */
export const ABORT_FIELD_ORDER = fieldOrder<AbortBody>()(['type', 'job_id']);

/** `run` fields in wire order. */
export const RUN_FIELD_ORDER = fieldOrder<RunBody>()(['type', 'job_id']);

/** Server heartbeat fields in wire order (the original's: the envelope first, then the rest). */
export const SERVER_HEARTBEAT_FIELD_ORDER = fieldOrder<ServerHeartbeat>()([
  'sequence',
  'timestamp',
  'server',
  'type',
  'incarnation_id',
]);

/** Copies the fields of `source` named in `order`, in that order, leaving out the undefined ones. */
function inOrder<T extends object>(order: readonly (keyof T)[], source: T): T {
  const out: Partial<T> = {};
  for (const key of order) {
    const value = source[key];
    if (value !== undefined) out[key] = value;
  }
  return out as T;
}

/**
 * The fields of a `commit` (its body without `type`). `capture` is required here: this server
 * always sends it (the schema lets a reader take a commit without it).
 */
export type CommitFields = Omit<CommitBody, 'type' | 'capture'> & { capture: boolean };

/**
 * `commit`: the node votes on running the job. `user`, `dir`, `env`, `file`, `run_timeout`,
 * `voting_timeout` and `run_wait_timeout` appear only when set; `capture` always does.
 */
export function commitMessage(fields: CommitFields): CommitBody {
  return inOrder<CommitBody>(COMMIT_FIELD_ORDER, { type: 'commit', ...fields });
}

/** `run`: a node that committed to job `jobId` starts it. */
export function runMessage(jobId: string): RunBody {
  return inOrder<RunBody>(RUN_FIELD_ORDER, { type: 'run', job_id: jobId });
}

/**
 * `abort`: naming job `jobId` (the node drops that job only), or with no job (rehab: the node
 * stops whatever it runs, as the original's abort).
 */
export function abortMessage(jobId?: string): AbortBody {
  return inOrder<AbortBody>(ABORT_FIELD_ORDER, { type: 'abort', job_id: jobId });
}

/** `ack`: proves the channel works after a node reconnected from a new address. */
export function ackMessage(): AckBody {
  return { type: 'ack' };
}

/**
 * The server heartbeat (published to every node): `sequence`, `timestamp`, `server`, `type`,
 * `incarnation_id`, in that order.
 */
export function serverHeartbeatMessage(fields: Omit<ServerHeartbeat, 'type'>): ServerHeartbeat {
  return inOrder<ServerHeartbeat>(SERVER_HEARTBEAT_FIELD_ORDER, { ...fields, type: 'heartbeat' });
}

/** A whole message: the envelope (`sequence`, `timestamp`) first, then the body in its order. */
export function sealServerMessage<B extends ServerCommandBody>(
  envelope: ServerEnvelope,
  body: B,
): ServerEnvelope & B {
  return { sequence: envelope.sequence, timestamp: envelope.timestamp, ...body };
}
