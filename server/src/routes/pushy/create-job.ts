/**
 * `POST /organizations/ORG/pushy/jobs`: validate (spec 1.5, exact messages), store the job, its
 * nodes and options in one transaction, hand it to the engine, answer 201 with its URI.
 *
 * Beyond the original's checks (all before authentication, as the original's): at most
 * `max_job_nodes` distinct nodes, and a commit message that fits what an agent accepts
 * ({@link MAX_COMMIT_BODY_BYTES}).
 *
 * Targeting (ours): a `search` is resolved in the handler, after authentication, on the org's
 * search index (the query language and results of `GET search/node`). The job's nodes are the
 * given `nodes`, in their order, then the nodes the search matched that were not given, by
 * name; the job records the query. A search that matches no node is a 400 unless
 * `allow_empty_search` is true (a job with no nodes at all then completes at once); an invalid
 * query is a 400 naming the problem; `max_job_nodes` applies to the whole.
 *
 * @module
 */
import {
  MAX_COMMIT_BODY_BYTES,
  checkJobRequest,
  makeJobId,
  type JobCreation,
} from '@push-jobs/protocol/internal';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteDeps } from '../deps.js';
import type { ServerConfig } from '../../config/types.js';
import { jsonBody } from '../../http/body.js';
import { HttpError, invalidJob } from '../../http/errors.js';
import { orgUrl } from '../../http/uri.js';
import { commitBodyBytes, jobOptions } from '../../jobs/commit.js';
import { SearchQueryError } from '../../search/errors.js';
import type { JobOptions, OrgRecord } from '../../store/types.js';

/** The 400 of a job naming more distinct nodes than `max_job_nodes` (`count`: the names given). */
export function tooManyNodesMessage(count: number, max: number): string {
  return `too many nodes: the job names ${count} nodes, at most ${max} are allowed per job (server setting max_job_nodes)`;
}

/** The 400 of a job whose nodes and search together name more than `max_job_nodes`. */
export function tooManySearchedNodesMessage(
  search: string,
  given: number,
  matched: number,
  total: number,
  max: number,
): string {
  return (
    `too many nodes: the search '${search}' matched ${matched} nodes` +
    (given > 0 ? ` and ${given} were named, ${total} distinct in all` : '') +
    `; at most ${max} are allowed per job (server setting max_job_nodes)`
  );
}

/** The 400 of a search that matched no node, without `allow_empty_search`. */
export function emptySearchMessage(search: string): string {
  return `search '${search}' matched no nodes (set allow_empty_search to true to create the job anyway)`;
}

/** The 400 of a job whose commit would not fit what an agent accepts. */
export function commitTooLargeMessage(bytes: number): string {
  return (
    `job too large: its commit message to the nodes would be ${bytes} bytes, more than the ` +
    `${MAX_COMMIT_BODY_BYTES} bytes an agent accepts (command, file, env, user and dir together; ` +
    `a base64 file counts as sent, 4/3 of its size)`
  );
}

/**
 * The distinct names of `given`, in order; a 400 as soon as more than `max` are seen (a body of
 * 150,000 names is refused without building a set of them all).
 */
function distinctNodes(given: readonly string[], max: number): string[] {
  const distinct = new Set<string>();
  for (const name of given) {
    distinct.add(name);
    if (distinct.size > max) throw invalidJob(tooManyNodesMessage(given.length, max));
  }
  return [...distinct];
}

/**
 * preValidation: the job body checks, before authentication as in the original. Leaves the
 * body, with its nodes made distinct (the original failed on a repeated node name, a
 * unique-constraint error after a partial insert; a node is in a job once, however often it
 * is named), in `request.jobRequest`.
 */
export function jobRequestValidator(config: ServerConfig): (request: FastifyRequest) => void {
  return (request) => {
    const body = jsonBody(request, 'string', { allowNul: true });
    const result = checkJobRequest(body, request.rawBody);
    if (!result.ok) throw invalidJob(result.error);
    const nodes = distinctNodes(result.value.nodes ?? [], config.max_job_nodes);
    const bytes = commitBodyBytes(result.value, config);
    if (bytes > MAX_COMMIT_BODY_BYTES) throw invalidJob(commitTooLargeMessage(bytes));
    request.jobRequest = { ...result.value, nodes };
  };
}

/**
 * The job's nodes: the given ones (already distinct), then those the search matched that were
 * not given, in name order. Runs the search as the requestor, who is a member of the org.
 */
async function targetNodes(
  deps: RouteDeps,
  org: OrgRecord,
  body: JobCreation & { nodes: string[] },
): Promise<string[]> {
  const search = body.search;
  if (search === undefined) return body.nodes;
  let matched: string[];
  try {
    matched = await (await deps.searchIndexes.current(org.guid)).matchNamesAsync(search);
  } catch (err) {
    if (err instanceof SearchQueryError) throw invalidJob(`invalid search query '${search}': ${err.message}`);
    throw err;
  }
  if (matched.length === 0 && body.allow_empty_search !== true) throw invalidJob(emptySearchMessage(search));
  const given = new Set(body.nodes);
  const nodes = [...body.nodes];
  for (const name of matched) if (!given.has(name)) nodes.push(name);
  const max = deps.config.max_job_nodes;
  if (nodes.length > max) {
    throw invalidJob(
      tooManySearchedNodesMessage(search, body.nodes.length, matched.length, nodes.length, max),
    );
  }
  return nodes;
}

/** The stored options: those of the commit, plus the rollout's limits as given. */
function storedOptions(body: JobCreation): JobOptions {
  const options = jobOptions(body);
  if (body.max_concurrency !== undefined) options.maxConcurrency = body.max_concurrency;
  if (body.max_errors !== undefined) options.maxErrors = body.max_errors;
  return options;
}

/** Handler: creates the job. */
export async function createJob(
  deps: RouteDeps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const body = request.jobRequest;
  // preValidation always sets it (or refuses the request).
  if (body === undefined) throw new Error('job request not validated');
  const org = request.org!;
  const requestor = request.requestor!;
  if (deps.engine.acceptsJobs?.() === false) {
    throw new HttpError(
      503,
      'this server instance is draining (shutting down); post the job to another instance',
      'string',
      { 'retry-after': '1' },
    );
  }
  const options = storedOptions(body);
  const nodes = await targetNodes(deps, org, body);
  const job = await deps.store.createJob({
    id: makeJobId(org.guid),
    orgName: org.name,
    command: body.command,
    status: 'new',
    runTimeout: body.run_timeout ?? deps.config.default_running_timeout,
    quorum: body.quorum ?? nodes.length,
    createdBy: requestor.name,
    createdAt: new Date(),
    nodes,
    options,
    ...(body.search === undefined ? {} : { search: body.search }),
    // The server that runs the job owns it from the start (only it crash-recovers the job).
    ...(deps.engine.serverId === undefined ? {} : { owner: deps.engine.serverId }),
  });
  await deps.engine.startJob(job, requestor.name);
  const uri = orgUrl(request, org.name, 'pushy', 'jobs', job.id);
  return reply.code(201).header('location', uri).send({ uri });
}
