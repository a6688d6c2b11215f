/**
 * `POST /organizations/ORG/pushy/jobs`: validate (spec 1.5, exact messages), store the job, its
 * nodes and options in one transaction, hand it to the engine, answer 201 with its URI.
 *
 * Beyond the original's checks (all before authentication, as the original's): at most
 * `max_job_nodes` distinct nodes, and a commit message that fits what an agent accepts
 * ({@link MAX_COMMIT_BODY_BYTES}).
 *
 * @module
 */
import { MAX_COMMIT_BODY_BYTES, checkJobRequest, makeJobId } from '@push-jobs/protocol/internal';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteDeps } from '../deps.js';
import type { ServerConfig } from '../../config/types.js';
import { jsonBody } from '../../http/body.js';
import { invalidJob } from '../../http/errors.js';
import { orgUrl } from '../../http/uri.js';
import { commitBodyBytes, jobOptions } from '../../jobs/commit.js';

/** The 400 of a job naming more distinct nodes than `max_job_nodes` (`count`: the names given). */
export function tooManyNodesMessage(count: number, max: number): string {
  return `too many nodes: the job names ${count} nodes, at most ${max} are allowed per job (server setting max_job_nodes)`;
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
  const options = jobOptions(body);
  const nodes = body.nodes;
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
    // The server that runs the job owns it from the start (only it crash-recovers the job).
    ...(deps.engine.serverId === undefined ? {} : { owner: deps.engine.serverId }),
  });
  await deps.engine.startJob(job, requestor.name);
  const uri = orgUrl(request, org.name, 'pushy', 'jobs', job.id);
  return reply.code(201).header('location', uri).send({ uri });
}
