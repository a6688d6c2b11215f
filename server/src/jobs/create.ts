/**
 * `POST /organizations/ORG/pushy/jobs`: validate (spec 1.5, exact messages), store the job, its
 * nodes and options in one transaction, hand it to the engine, answer 201 with its URI.
 *
 * @module
 */
import { checkJobRequest, makeJobId, type JobCreation } from '@push-jobs/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteDeps } from '../app.js';
import { jsonBody } from '../http/body.js';
import { invalidJob } from '../http/errors.js';
import { orgUrl } from '../http/uri.js';
import type { JobOptions } from '../store/types.js';

/** preValidation: the job body checks, before authentication as in the original. */
export function validateJobRequest(request: FastifyRequest): void {
  const result = checkJobRequest(jsonBody(request, 'string'), request.rawBody);
  if (!result.ok) throw invalidJob(result.error);
  request.parsedBody = result.value;
}

/** Handler: creates the job. */
export async function createJob(
  deps: RouteDeps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const body = request.parsedBody as JobCreation;
  const org = request.org!;
  const requestor = request.requestor!;
  const options: JobOptions = {};
  if (body.user !== undefined) options.user = body.user;
  if (body.dir !== undefined) options.dir = body.dir;
  if (body.env !== undefined) options.env = body.env;
  if (body.capture_output !== undefined) options.capture = body.capture_output;
  if (body.file !== undefined) options.file = body.file;
  // The original failed on a repeated node name (a unique-constraint error after a partial
  // insert); a node is in a job once, however often it is named.
  const nodes = [...new Set(body.nodes)];
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
  });
  await deps.engine.startJob(job, requestor.name);
  const uri = orgUrl(request, org.name, 'pushy', 'jobs', job.id);
  return reply.code(201).header('location', uri).send({ uri });
}
