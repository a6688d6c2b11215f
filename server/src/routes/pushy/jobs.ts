/**
 * Job reads, output and abort. Every lookup is scoped to the request's org (the original looked
 * jobs up by id only).
 *
 * @module
 */
import {
  isFinalJobState,
  isJobState,
  type GetJobQuerySchema,
  type Job,
  type JobList,
  type JobOutputParamsSchema,
  type JobParamsSchema,
  type ListJobsQuerySchema,
} from '@push-jobs/protocol/internal';
import type { FastifyReply } from 'fastify';
import type { RouteDeps } from '../deps.js';
import { HttpError, badRequest, conflict, notFound } from '../../http/errors.js';
import type { RequestOf } from '../../http/routes.js';
import { formatJobChunked, formatJobSummary, type NodesPage } from '../../jobs/format.js';
import { chunksSoFar, joinChunks } from '../../jobs/output-so-far.js';
import type { JobListQuery } from '../../store/types.js';

const MAX_PAGE = 10_000;
/** The largest `nodes_limit` of `GET jobs/ID`. */
const MAX_NODES_PAGE = 1_000_000;

function nonNegativeInt(name: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw badRequest(`invalid ${name} '${value}' (expected an integer from 0 to ${max})`);
  }
  return Number(value);
}

/**
 * `GET jobs`: every job of the org, as the original. Beyond it: `?status=` filters, and
 * `?limit=`/`?offset=` page newest first with the total in `X-Total-Count`.
 */
export async function listJobs(
  deps: RouteDeps,
  request: RequestOf<{ querystring: typeof ListJobsQuerySchema }>,
  reply: FastifyReply,
): Promise<JobList> {
  const q = request.query;
  const query: JobListQuery = {};
  if (q.status !== undefined) {
    if (!isJobState(q.status)) throw badRequest(`invalid status '${q.status}'`);
    query.status = q.status;
  }
  const limit = nonNegativeInt('limit', q.limit, MAX_PAGE);
  const offset = nonNegativeInt('offset', q.offset, Number.MAX_SAFE_INTEGER);
  if (limit !== undefined) query.limit = limit;
  if (offset !== undefined) {
    query.offset = offset;
    query.limit ??= MAX_PAGE;
  }
  const org = request.org!.name;
  const jobs = await deps.store.listJobs(org, query);
  if (query.limit !== undefined) {
    const status = query.status === undefined ? {} : { status: query.status };
    void reply.header('x-total-count', String(await deps.store.countJobs(org, status)));
  }
  return jobs.map((j) => formatJobSummary(j));
}

async function findJob(deps: RouteDeps, request: RequestOf<{ params: typeof JobParamsSchema }>) {
  const { id } = request.params;
  const job = await deps.store.getJob(request.org!.name, id);
  if (job === undefined) throw notFound(`job '${id}' does not exist in organization '${request.org!.name}'`);
  return job;
}

/**
 * `GET jobs/ID[?include_file=true]`: the job with every node, as the original. Beyond it:
 * `?nodes_limit=N&nodes_offset=M` returns only nodes M to M+N-1 of the job (in name order, then
 * grouped by status as usual), for reading a big job in pages; every answer says how many nodes
 * the job has in `X-Total-Count`.
 */
export async function getJob(
  deps: RouteDeps,
  request: RequestOf<{ params: typeof JobParamsSchema; querystring: typeof GetJobQuerySchema }>,
  reply: FastifyReply,
): Promise<Job> {
  const q = request.query;
  const limit = nonNegativeInt('nodes_limit', q.nodes_limit, MAX_NODES_PAGE);
  const offset = nonNegativeInt('nodes_offset', q.nodes_offset, Number.MAX_SAFE_INTEGER);
  const job = await findJob(deps, request);
  const includeFile = q.include_file === 'true';
  void reply.header('x-total-count', String(job.nodes.length));
  const page: NodesPage | undefined =
    limit === undefined && offset === undefined
      ? undefined
      : { offset: offset ?? 0, limit: limit ?? job.nodes.length };
  return formatJobChunked(job, { includeFile, ...(page === undefined ? {} : { page }) });
}

/** `POST jobs/ID/abort` (ours): 200 with the job, 409 when it already finished. */
export async function abortJob(
  deps: RouteDeps,
  request: RequestOf<{ params: typeof JobParamsSchema }>,
): Promise<Job> {
  const job = await findJob(deps, request);
  if (isFinalJobState(job.status)) throw conflict(`job '${job.id}' already finished (${job.status})`);
  const after = await deps.engine.abortJob(request.org!.name, job.id, request.requestor!.name);
  if (after === undefined) throw notFound(`job '${job.id}' does not exist`);
  return formatJobChunked(after);
}

/**
 * `GET jobs/ID/output/NODE/{stdout|stderr}`: the stored text; a truncated one says so in a header.
 * Before the node's final message (live output), what it streamed so far (written or not yet
 * written), with `x-push-jobs-output-partial: true`.
 */
export async function getJobOutput(
  deps: RouteDeps,
  request: RequestOf<{ params: typeof JobOutputParamsSchema }>,
  reply: FastifyReply,
): Promise<unknown> {
  const { id, node, channel } = request.params;
  if (channel !== 'stdout' && channel !== 'stderr') {
    throw new HttpError(404, `no such output channel '${channel}' (expected stdout or stderr)`);
  }
  const org = request.org!.name;
  const final = await deps.store.getJobOutput(org, id, node);
  const output = final ?? joinChunks(await chunksSoFar(deps.store, deps.output, org, id, node));
  if (output === undefined) throw notFound(`no output for node '${node}' in job '${id}'`);
  const truncated = channel === 'stdout' ? output.stdoutTruncated : output.stderrTruncated;
  if (final === undefined) void reply.header('x-push-jobs-output-partial', 'true');
  return reply
    .type('application/octet-stream')
    .header('x-push-jobs-output-truncated', String(truncated))
    .send(channel === 'stdout' ? output.stdout : output.stderr);
}
