/**
 * REST request and response bodies of `/organizations/ORG/pushy/...` (spec 1.2, 1.5-1.11).
 *
 * Request bodies are strict (`additionalProperties: false`). Response bodies allow extra
 * properties, so a client built on them can read the original server's answers as well as
 * ours; for the same reason ids and dates in responses are plain strings here (the server
 * produces values matching {@link JobIdSchema} and {@link HttpDateSchema}).
 *
 * @module
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  AVAILABILITY,
  JOB_STATES,
  MAX_STORED_INTEGER,
  MAX_TIMER_SECONDS,
  NODE_ACTIVITIES,
  NODE_STATUS,
} from '../constants.js';
import { EnvSchema, StringEnum } from './common.js';

/** A string without a NUL character (PostgreSQL text cannot hold one). */
const NO_NUL = '^[^\\u0000]*$';

/** Longest `search` query a job may carry, in characters. */
export const MAX_JOB_SEARCH_LENGTH = 8192;

/**
 * A rollout size: a count, or a percentage of the job's nodes as `"N%"` (1 to 100). Counts
 * start at `minimum`.
 */
function countOrPercent(minimum: 0 | 1, description: string) {
  const percent = minimum === 0 ? '^(100|[1-9]?[0-9])%$' : '^(100|[1-9][0-9]?)%$';
  return Type.Union(
    [Type.Integer({ minimum, maximum: MAX_STORED_INTEGER }), Type.String({ pattern: percent })],
    {
      description,
    },
  );
}

/** `max_concurrency` of a job: at most this many nodes run at once (a count, or `"N%"`). */
export const MaxConcurrencySchema = countOrPercent(
  1,
  'a count of at least 1, or a percentage "1%" to "100%"',
);
/** `max_errors` of a job: failed nodes tolerated before no new node starts (a count, or `"N%"`). */
export const MaxErrorsSchema = countOrPercent(0, 'a count of at least 0, or a percentage "0%" to "100%"');
/** A rollout size as given: a count or `"N%"`. */
export type RolloutSize = Static<typeof MaxConcurrencySchema>;

/**
 * Body of `POST /organizations/ORG/pushy/jobs` (spec 1.5).
 *
 * Differs from the original on purpose: `run_timeout` and `quorum` must be non-negative
 * integers (the original accepted any JSON number and then failed on non-integers), and
 * `file` must carry its `raw:` or `base64:` prefix. Use `checkJobRequest` (validate.ts) to get
 * the original's exact error messages.
 */
export const JobCreationSchema = Type.Object(
  {
    command: Type.String({ pattern: NO_NUL }),
    /**
     * Node names: non-empty, no NUL; at most the server's `max_job_nodes` (20,000 by default).
     * Required unless `search` is given (ours); with both, the job runs on both, once each.
     */
    nodes: Type.Optional(Type.Array(Type.String({ minLength: 1, pattern: NO_NUL }), { minItems: 1 })),
    /**
     * Ours: a Chef node search query (`role:web AND platform:debian`). The server resolves it
     * when the job is created and records the query and the nodes it matched in the job.
     */
    search: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_JOB_SEARCH_LENGTH, pattern: NO_NUL })),
    /**
     * Ours: accept a job whose `search` (and `nodes`) matched no node; it completes at once
     * with no nodes. Without it, an empty match is a 400.
     */
    allow_empty_search: Type.Optional(Type.Boolean()),
    /**
     * Ours: a rollout. After the quorum, at most this many nodes run at once; the next starts
     * when one finishes. A percentage is of the job's nodes, rounded up (at least 1).
     */
    max_concurrency: Type.Optional(MaxConcurrencySchema),
    /**
     * Ours: the error budget. Once more nodes than this failed, no new node starts and the job
     * ends `max_errors_exceeded`, the nodes that never started `skipped`. A percentage is of
     * the job's nodes, rounded down.
     */
    max_errors: Type.Optional(MaxErrorsSchema),
    /** Seconds allowed for the run phase; default `default_running_timeout` (3600); at most 2,147,483. */
    run_timeout: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_TIMER_SECONDS })),
    /** Nodes that must commit; default every node. At most 2^31 - 1. */
    quorum: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_STORED_INTEGER })),
    /** Run-as user on the node. */
    user: Type.Optional(Type.String({ pattern: NO_NUL })),
    /** Working directory on the node. */
    dir: Type.Optional(Type.String({ pattern: NO_NUL })),
    env: Type.Optional(
      Type.Record(Type.String({ pattern: NO_NUL }), Type.String({ pattern: NO_NUL }), {
        additionalProperties: false,
      }),
    ),
    /**
     * `raw:CONTENT` or `base64:CONTENT`, at most 100,000 bytes of content; the whole commit
     * message must also fit in `MAX_COMMIT_BODY_BYTES` (65,536), which the server checks.
     */
    file: Type.Optional(Type.String({ pattern: '^(raw:|base64:)[^\\u0000]*$' })),
    /** Ask nodes to send back stdout and stderr. */
    capture_output: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
/** Job creation request body. */
export type JobCreation = Static<typeof JobCreationSchema>;

/** `201` body of a job creation: `{"uri":"https://HOST/organizations/ORG/pushy/jobs/JOBID"}`. */
export const JobCreatedSchema = Type.Object({ uri: Type.String({ minLength: 1 }) });
/** Job creation response body. */
export type JobCreated = Static<typeof JobCreatedSchema>;

const jobSummaryProperties = {
  id: Type.String({ minLength: 1 }),
  command: Type.String(),
  status: StringEnum(JOB_STATES),
  /** Seconds. */
  run_timeout: Type.Integer({ minimum: 0 }),
  /** RFC 1123 date. */
  created_at: Type.String(),
  /** RFC 1123 date; changes only when the job status changes. */
  updated_at: Type.String(),
  /** Run-as user, only when set. */
  user: Type.Optional(Type.String()),
  dir: Type.Optional(Type.String()),
  env: Type.Optional(EnvSchema),
  /** Present (true) only when capture was requested. */
  capture_output: Type.Optional(Type.Boolean()),
  /** Present (true) when a file was given, unless `?include_file=true` replaced it by `file`. */
  file_specified: Type.Optional(Type.Boolean()),
  /** Our extension: the required node count (the original never returns it). */
  quorum: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Ours: the search query the job's nodes were chosen by, when it had one. */
  search: Type.Optional(Type.String()),
  /** Ours: the rollout's concurrency as given (a count or `"N%"`), when it had one. */
  max_concurrency: Type.Optional(Type.Union([Type.Integer(), Type.String()])),
  /** Ours: the rollout's error budget as given (a count or `"N%"`), when it had one. */
  max_errors: Type.Optional(Type.Union([Type.Integer(), Type.String()])),
};

/** One element of `GET /organizations/ORG/pushy/jobs` (spec 1.6). */
export const JobSummarySchema = Type.Object(jobSummaryProperties);
/** Job list element. */
export type JobSummary = Static<typeof JobSummarySchema>;

/** Body of `GET /organizations/ORG/pushy/jobs`. */
export const JobListSchema = Type.Array(JobSummarySchema);
/** Job list. */
export type JobList = Static<typeof JobListSchema>;

function nodeNames() {
  return Type.Optional(Type.Array(Type.String()));
}

/**
 * The `nodes` map of one job: each node-in-job status present maps to the names of the nodes
 * in it, e.g. `{"succeeded":["n1","n2"],"failed":["n3"]}`. Statuses without nodes are left out.
 * Keys are node-in-job statuses (`NODE_JOB_STATES`).
 */
export const JobNodesSchema = Type.Object({
  new: nodeNames(),
  ready: nodeNames(),
  running: nodeNames(),
  succeeded: nodeNames(),
  failed: nodeNames(),
  aborted: nodeNames(),
  unavailable: nodeNames(),
  nacked: nodeNames(),
  faulty: nodeNames(),
  was_ready: nodeNames(),
  crashed: nodeNames(),
  timed_out: nodeNames(),
  skipped: nodeNames(),
});
/** Nodes of a job, grouped by node-in-job status. */
export type JobNodes = Static<typeof JobNodesSchema>;

/**
 * Ours: how the command ended on one node, as the node reported it with `succeeded`/`failed`.
 * The original client sends none of it: every field is null for its nodes.
 */
export const NodeResultSchema = Type.Object({
  /** The command's exit status; null when it was killed by a signal, or not reported. */
  exit_status: Type.Union([Type.Integer(), Type.Null()]),
  /** The signal that ended the command (`SIGKILL`), or null. */
  signal: Type.Union([Type.String(), Type.Null()]),
  /** When the command started on the node (ISO 8601, the node's clock), or null. */
  started_at: Type.Union([Type.String(), Type.Null()]),
  /** When it ended on the node (ISO 8601, the node's clock), or null. */
  ended_at: Type.Union([Type.String(), Type.Null()]),
});
/** One node's result. */
export type NodeResult = Static<typeof NodeResultSchema>;

/** Body of `GET /organizations/ORG/pushy/jobs/JOBID` (spec 1.7). */
export const JobSchema = Type.Object({
  ...jobSummaryProperties,
  nodes: JobNodesSchema,
  /** The file with its prefix, only with `?include_file=true`. */
  file: Type.Optional(Type.String()),
  /**
   * Ours: by node name, how the command ended, for each node that reported `succeeded` or
   * `failed` (fields null when the node did not say, as the original client does not).
   */
  results: Type.Optional(Type.Record(Type.String(), NodeResultSchema)),
});
/** One job. */
export type Job = Static<typeof JobSchema>;

/** One element of `GET /organizations/ORG/pushy/node_states` (spec 1.9). */
export const NodeStateSummarySchema = Type.Object({
  node_name: Type.String({ minLength: 1 }),
  availability: StringEnum(AVAILABILITY),
  /**
   * What the node is doing (beyond the original): `idle`, `committed`, `running`, or `rehab`.
   * `available` keeps the original meaning (connected and not in rehab): a busy node can be
   * available, and nacks commits until it is idle.
   */
  state: Type.Optional(StringEnum(NODE_ACTIVITIES)),
  /** The job the node is committed to or running (beyond the original); absent when idle. */
  job_id: Type.Optional(Type.String()),
});
/** Node state list element. */
export type NodeStateSummary = Static<typeof NodeStateSummarySchema>;

/** Body of `GET /organizations/ORG/pushy/node_states`. */
export const NodeStateListSchema = Type.Array(NodeStateSummarySchema);
/** Node state list. */
export type NodeStateList = Static<typeof NodeStateListSchema>;

/** Body of `GET /organizations/ORG/pushy/node_states/NODE` (spec 1.10). */
export const NodeStateSchema = Type.Object({
  node_name: Type.String({ minLength: 1 }),
  status: StringEnum(NODE_STATUS),
  availability: StringEnum(AVAILABILITY),
  /** As in {@link NodeStateSummarySchema}; absent when the node is offline. */
  state: Type.Optional(StringEnum(NODE_ACTIVITIES)),
  /** As in {@link NodeStateSummarySchema}. */
  job_id: Type.Optional(Type.String()),
});
/** One node's state. */
export type NodeState = Static<typeof NodeStateSchema>;

/** Body of `GET /pushy/_status` (spec 1.11). */
export const ServerStatusSchema = Type.Object({
  /** `"it's alive"`. */
  status: Type.String(),
  /** The server incarnation. */
  incarnation_id: Type.String(),
  /** Node processes across all orgs. */
  node_fsm_count: Type.Integer({ minimum: 0 }),
  /** Ids of jobs whose process is alive. */
  job_processes: Type.Array(Type.String()),
  /**
   * Cluster mode only (ours): the instance that answered. A draining instance answers 503 with
   * this body, so a load balancer's health check takes it out of rotation.
   */
  instance: Type.Optional(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      state: StringEnum(['active', 'draining'] as const),
      /** Live instances of the cluster, this one included. */
      live_instances: Type.Integer({ minimum: 1 }),
    }),
  ),
});
/** Server status body. */
export type ServerStatus = Static<typeof ServerStatusSchema>;

/** Error body of authentication and authorization failures: a *list* of messages (spec 1.2). */
export const AuthErrorBodySchema = Type.Object({ error: Type.Array(Type.String()) });
/** Authentication/authorization error body. */
export type AuthErrorBody = Static<typeof AuthErrorBodySchema>;

/** Error body of job validation failures and the 413: a *single* message (spec 1.2, 1.5). */
export const ValidationErrorBodySchema = Type.Object({ error: Type.String() });
/** Validation error body. */
export type ValidationErrorBody = Static<typeof ValidationErrorBodySchema>;

/*
 * Path parameters and query strings of the REST routes. Values stay strings, as they arrive:
 * the server checks each against its rule with a message of its own (`invalid limit 'x'`,
 * after authentication, as the original ordered its checks). These schemas say which
 * parameters a route has, and that a query parameter is given at most once (a repeated one is
 * a 400 before authentication); other query parameters are ignored, as before.
 */

/** An `ORG` path parameter. */
const OrgParam = Type.String({ description: 'organization name' });

/** Path of `/organizations/ORG/...`. */
export const OrgParamsSchema = Type.Object({ org: OrgParam });
/** Path parameters of `/organizations/ORG/...`. */
export type OrgParams = Static<typeof OrgParamsSchema>;

/** Path of `/organizations/ORG/pushy/jobs/ID[/abort]`. */
export const JobParamsSchema = Type.Object({ org: OrgParam, id: Type.String({ description: 'job id' }) });
/** Path parameters of one job. */
export type JobParams = Static<typeof JobParamsSchema>;

/** Path of `/organizations/ORG/pushy/jobs/ID/output/NODE/CHANNEL`. */
export const JobOutputParamsSchema = Type.Object({
  org: OrgParam,
  id: Type.String({ description: 'job id' }),
  node: Type.String({ description: 'node name' }),
  channel: Type.String({ description: '`stdout` or `stderr`' }),
});
/** Path parameters of a job's output. */
export type JobOutputParams = Static<typeof JobOutputParamsSchema>;

/** Path of `/organizations/ORG/pushy/node_states/NODE` and `/organizations/ORG/pushy/config/NODE`. */
export const NodeParamsSchema = Type.Object({
  org: OrgParam,
  node: Type.String({ description: 'node name' }),
});
/** Path parameters naming a node. */
export type NodeParams = Static<typeof NodeParamsSchema>;

/** Path of `/organizations/ORG/{users,clients,groups,nodes}/NAME`. */
export const NamedParamsSchema = Type.Object({ org: OrgParam, name: Type.String() });
/** Path parameters naming a user, client, group or node object. */
export type NamedParams = Static<typeof NamedParamsSchema>;

/** Path of `.../clients/NAME/keys/KEY`. */
export const KeyParamsSchema = Type.Object({
  org: OrgParam,
  name: Type.String(),
  key: Type.String({ description: 'key name' }),
});
/** Path parameters naming a key. */
export type KeyParams = Static<typeof KeyParamsSchema>;

/** Query of `GET /organizations/ORG/pushy/jobs` (ours beyond the original). */
export const ListJobsQuerySchema = Type.Object({
  status: Type.Optional(Type.String({ description: 'only jobs in this state' })),
  limit: Type.Optional(Type.String({ description: 'at most this many jobs, newest first' })),
  offset: Type.Optional(Type.String({ description: 'skip this many jobs' })),
});
/** Query of `GET jobs`. */
export type ListJobsQuery = Static<typeof ListJobsQuerySchema>;

/** Query of `GET /organizations/ORG/pushy/jobs/ID`. */
export const GetJobQuerySchema = Type.Object({
  include_file: Type.Optional(Type.String({ description: '`true`: the file in full' })),
  nodes_limit: Type.Optional(Type.String({ description: 'at most this many nodes, in name order' })),
  nodes_offset: Type.Optional(Type.String({ description: 'skip this many nodes' })),
});
/** Query of `GET jobs/ID`. */
export type GetJobQuery = Static<typeof GetJobQuerySchema>;

/** Query of `GET /organizations/ORG/search/node`. */
export const NodeSearchQuerySchema = Type.Object({
  q: Type.Optional(Type.String({ description: 'Chef search query; default `*:*`' })),
  start: Type.Optional(Type.String()),
  rows: Type.Optional(Type.String()),
});
/** Query of a node search. */
export type NodeSearchQuery = Static<typeof NodeSearchQuerySchema>;

/** Query of `GET /organizations/ORG/pushy/config/NODE`. */
export const ConfigQuerySchema = Type.Object({
  ccpk: Type.Optional(Type.String({ description: "the node's CURVE public key, Z85" })),
});
/** Query of the config endpoint. */
export type ConfigQuery = Static<typeof ConfigQuerySchema>;
