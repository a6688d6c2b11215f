/**
 * The events of the SSE feeds (spec 7.2, 7.3): the data of each event, by event name.
 *
 * The server emits a job event as its name and its own fields ({@link JobEventFields}); the feed
 * hub puts `timestamp` first, and an organization feed's copy of `start` and `job_complete`
 * also gets `job` after it. Readers (the API client, the CLI) narrow what arrives to
 * {@link JobFeedMessage} or {@link OrgFeedMessage} once with these schemas, then switch on
 * `event`.
 *
 * The schemas are lenient as the other response schemas are (extra properties allowed, plain
 * strings for ids and timestamps), so a reader takes the original server's events as well as
 * ours.
 *
 * @module
 */
import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import {
  AGENT_JOB_STATES,
  JOB_COMPLETE_STATUSES,
  QUORUM_VOTE_STATUSES,
  RUN_COMPLETE_STATUSES,
} from '../constants.js';
import { EnvSchema, StringEnum } from './common.js';
import { JobSchema } from './rest.js';

/** The `timestamp` of every event's data: `YYYY-MM-DD HH:MM:SS.uuuuuuZ`. */
const Timestamp = Type.String({ description: 'event time, YYYY-MM-DD HH:MM:SS.uuuuuuZ' });

/** `start`: the job began voting. */
export const StartEventFieldsSchema = Type.Object({
  command: Type.String(),
  /** Seconds. */
  run_timeout: Type.Integer({ minimum: 0 }),
  quorum: Type.Integer({ minimum: 0 }),
  node_count: Type.Integer({ minimum: 0 }),
  /** Who started the job. */
  user: Type.String(),
  /** The user the command runs as, when one was asked for. */
  job_user: Type.Optional(Type.String()),
  dir: Type.Optional(Type.String()),
  env: Type.Optional(EnvSchema),
  /** Present (true) when the job sends a file. */
  file_specified: Type.Optional(Type.Literal(true)),
  /** Whether the output is captured. */
  capture: Type.Boolean(),
  /** Ours: the search query the nodes were chosen by. */
  search: Type.Optional(Type.String()),
  /** Ours, a rollout: at most this many nodes run at once (the job's value, resolved to a count). */
  max_concurrency: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Ours, a rollout: failed nodes tolerated before no new node starts (resolved to a count). */
  max_errors: Type.Optional(Type.Integer({ minimum: 0 })),
});

/**
 * What a node that nacked because it holds another job is busy with (ours). This server always
 * names the job; a reader takes a `busy` without one.
 */
export const BusySchema = Type.Object({
  job_id: Type.Optional(Type.String()),
  state: StringEnum(AGENT_JOB_STATES),
});
/** The `busy` member of a `quorum_vote` failure. */
export type BusyWith = Static<typeof BusySchema>;

/** `quorum_vote`: a node's vote, or why it has none. */
export const QuorumVoteEventFieldsSchema = Type.Object({
  node: Type.String(),
  status: StringEnum(QUORUM_VOTE_STATUSES),
  /** Ours: on a `failure`, the job the node holds (why it nacked). */
  busy: Type.Optional(BusySchema),
});

/** `quorum_succeeded`: the job starts running. */
export const QuorumSucceededEventFieldsSchema = Type.Object({});

/** `run_start`: a node started the command. */
export const RunStartEventFieldsSchema = Type.Object({ node: Type.String() });

/** `run_complete`: a node finished, or the run ended for it. */
export const RunCompleteEventFieldsSchema = Type.Object({
  node: Type.String(),
  status: StringEnum(RUN_COMPLETE_STATUSES),
});

/** `rehab`: a node is told to drop the job. */
export const RehabEventFieldsSchema = Type.Object({ node: Type.String() });

/**
 * Ours: `max_errors_exceeded`: more nodes failed than the job's `max_errors`; no node starts any
 * more. Nodes already running finish; `skipped` nodes never started.
 */
export const MaxErrorsExceededEventFieldsSchema = Type.Object({
  failed: Type.Integer({ minimum: 0 }),
  max_errors: Type.Integer({ minimum: 0 }),
  skipped: Type.Integer({ minimum: 0 }),
});

/**
 * Ours: `output`, a chunk of a node's live output (only for jobs with capture, from agents that
 * stream). `sequence` is the node's chunk number for this job (from 0, both channels); a chunk
 * the server dropped under pressure leaves a gap. Not kept for replay past the feed's bound: the
 * whole output is at `GET .../output/NODE/stdout|stderr`.
 */
export const OutputEventFieldsSchema = Type.Object({
  node: Type.String(),
  channel: StringEnum(['stdout', 'stderr'] as const),
  data: Type.String(),
  sequence: Type.Integer({ minimum: 0 }),
  /** Present (true) on the last chunk when the node hit the job's output cap. */
  truncated: Type.Optional(Type.Literal(true)),
});

/** `job_complete`: the job's final status; the last event of a job feed. */
export const JobCompleteEventFieldsSchema = Type.Object({
  status: StringEnum(JOB_COMPLETE_STATUSES),
});

/** The fields of each job event as the server emits them, before `timestamp` is added. */
export const JOB_EVENT_FIELD_SCHEMAS = {
  start: StartEventFieldsSchema,
  quorum_vote: QuorumVoteEventFieldsSchema,
  quorum_succeeded: QuorumSucceededEventFieldsSchema,
  run_start: RunStartEventFieldsSchema,
  run_complete: RunCompleteEventFieldsSchema,
  rehab: RehabEventFieldsSchema,
  max_errors_exceeded: MaxErrorsExceededEventFieldsSchema,
  output: OutputEventFieldsSchema,
  job_complete: JobCompleteEventFieldsSchema,
} as const;

type JobEventFieldSchemas = typeof JOB_EVENT_FIELD_SCHEMAS;

/** The name of an event the job machine emits (every job feed event but `summary`). */
export type JobEventName = keyof JobEventFieldSchemas;

/** The fields of each emitted job event, by name. */
export type JobEventFields = { [K in JobEventName]: Static<JobEventFieldSchemas[K]> };

/** One emitted job event: its name and fields, discriminated on `event`. */
export type JobEvent = { [K in JobEventName]: { event: K; fields: JobEventFields[K] } }[JobEventName];

/** The data schema of an event: `timestamp` first, then `fields` in their order. */
function withTimestamp<P extends TProperties>(
  fields: TObject<P>,
): TObject<{ timestamp: typeof Timestamp } & P> {
  return Type.Object({ timestamp: Timestamp, ...fields.properties });
}

/** The data of each job feed event (spec 7.2): `timestamp` first, then the event's fields. */
export const JOB_FEED_DATA_SCHEMAS = {
  start: withTimestamp(StartEventFieldsSchema),
  quorum_vote: withTimestamp(QuorumVoteEventFieldsSchema),
  quorum_succeeded: withTimestamp(QuorumSucceededEventFieldsSchema),
  run_start: withTimestamp(RunStartEventFieldsSchema),
  run_complete: withTimestamp(RunCompleteEventFieldsSchema),
  rehab: withTimestamp(RehabEventFieldsSchema),
  max_errors_exceeded: withTimestamp(MaxErrorsExceededEventFieldsSchema),
  output: withTimestamp(OutputEventFieldsSchema),
  job_complete: withTimestamp(JobCompleteEventFieldsSchema),
  /** The one event of a feed whose job's log is gone: the job as `GET jobs/ID` reports it. */
  summary: withTimestamp(JobSchema),
} as const;

const OrgJob = { job: Type.String({ description: 'the job id' }) };

/** The data of each organization feed event (spec 7.3): `timestamp`, `job`, then the fields. */
export const ORG_FEED_DATA_SCHEMAS = {
  start: Type.Object({ timestamp: Timestamp, ...OrgJob, ...StartEventFieldsSchema.properties }),
  job_complete: Type.Object({ timestamp: Timestamp, ...OrgJob, ...JobCompleteEventFieldsSchema.properties }),
  /** The first event of an organization feed resumed from an id it no longer holds. */
  start_of_history: Type.Object({ timestamp: Timestamp }),
} as const;

/**
 * Ours: the end of a node's output stream (`GET .../jobs/ID/output/NODE/stream`): the node's
 * status in the job when it finished, and whether its output was cut at the job's cap.
 */
export const NodeOutputEndFieldsSchema = Type.Object({
  node: Type.String(),
  status: Type.String(),
  stdout_truncated: Type.Boolean(),
  stderr_truncated: Type.Boolean(),
});

/**
 * The data of each event of a node's output stream: `output` chunks (as on the job feed), then
 * one `end`.
 */
export const NODE_OUTPUT_DATA_SCHEMAS = {
  output: withTimestamp(OutputEventFieldsSchema),
  end: withTimestamp(NodeOutputEndFieldsSchema),
} as const;

type NodeOutputDataSchemas = typeof NODE_OUTPUT_DATA_SCHEMAS;
/** The name of an event of a node's output stream. */
export type NodeOutputEventName = keyof NodeOutputDataSchemas;
/** The data of each event of a node's output stream, by name. */
export type NodeOutputData = { [K in NodeOutputEventName]: Static<NodeOutputDataSchemas[K]> };
/** One event of a node's output stream, discriminated on `event` (see {@link JobFeedMessage}). */
export type NodeOutputMessage<Id extends string | undefined = string> = {
  [K in NodeOutputEventName]: { event: K; id: Id; data: NodeOutputData[K] };
}[NodeOutputEventName];

type JobFeedDataSchemas = typeof JOB_FEED_DATA_SCHEMAS;
type OrgFeedDataSchemas = typeof ORG_FEED_DATA_SCHEMAS;

/** The name of a job feed event. */
export type JobFeedEventName = keyof JobFeedDataSchemas;
/** The name of an organization feed event. */
export type OrgFeedEventName = keyof OrgFeedDataSchemas;

/** The data of each job feed event, by name. */
export type JobFeedData = { [K in JobFeedEventName]: Static<JobFeedDataSchemas[K]> };
/** The data of each organization feed event, by name. */
export type OrgFeedData = { [K in OrgFeedEventName]: Static<OrgFeedDataSchemas[K]> };

/**
 * One job feed event with its id, discriminated on `event`. `Id` is `string` as the server
 * writes it; a reader's is `string | undefined` (a stream may carry no id).
 */
export type JobFeedMessage<Id extends string | undefined = string> = {
  [K in JobFeedEventName]: { event: K; id: Id; data: JobFeedData[K] };
}[JobFeedEventName];

/** One organization feed event with its id, discriminated on `event` (see {@link JobFeedMessage}). */
export type OrgFeedMessage<Id extends string | undefined = string> = {
  [K in OrgFeedEventName]: { event: K; id: Id; data: OrgFeedData[K] };
}[OrgFeedEventName];

/** An event of either feed. */
export type FeedMessage<Id extends string | undefined = string> = JobFeedMessage<Id> | OrgFeedMessage<Id>;
