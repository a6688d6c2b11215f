/**
 * The push-jobs REST API (spec 1.1) plus our abort call.
 *
 * @module
 */
import {
  GetJobQuerySchema,
  JobOutputParamsSchema,
  JobParamsSchema,
  ListJobsQuerySchema,
  NodeParamsSchema,
} from '@push-jobs/protocol/internal';
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from '../deps.js';
import { defineRoute } from '../../http/routes.js';
import { createJob, jobRequestValidator } from './create-job.js';
import { registerConfigRoute } from './config.js';
import { abortJob, getJob, getJobOutput, listJobs } from './jobs.js';
import { getNodeState, listNodeStates } from './node-states.js';

/** Registers `/pushy/_status` and `/organizations/ORG/pushy/...`. */
export function registerPushyRoutes(app: FastifyInstance, deps: RouteDeps): void {
  defineRoute(app, '/pushy/_status', {
    GET: {
      access: 'public',
      handler: async (_req, reply) => {
        const instance = deps.instanceStatus?.();
        // A draining instance says so with a 503, so a load balancer's health check drops it.
        if (instance?.state === 'draining') void reply.code(503);
        return {
          status: "it's alive",
          incarnation_id: deps.incarnationId,
          node_fsm_count: deps.tracker.nodeCount(),
          job_processes: deps.engine.liveJobIds(),
          ...(instance === undefined ? {} : { instance }),
        };
      },
    },
  });
  const base = '/organizations/:org/pushy';
  defineRoute(app, `${base}/jobs`, {
    GET: {
      access: 'read',
      schema: { querystring: ListJobsQuerySchema },
      handler: (req, reply) => listJobs(deps, req, reply),
    },
    POST: {
      access: 'write',
      jsonBody: true,
      preValidation: jobRequestValidator(deps.config),
      handler: (req, reply) => createJob(deps, req, reply),
    },
  });
  defineRoute(app, `${base}/jobs/:id`, {
    GET: {
      access: 'read',
      schema: { params: JobParamsSchema, querystring: GetJobQuerySchema },
      handler: (req, reply) => getJob(deps, req, reply),
    },
  });
  defineRoute(app, `${base}/jobs/:id/abort`, {
    POST: { access: 'write', schema: { params: JobParamsSchema }, handler: (req) => abortJob(deps, req) },
  });
  defineRoute(app, `${base}/jobs/:id/output/:node/:channel`, {
    GET: {
      access: 'read',
      produces: 'application/octet-stream',
      schema: { params: JobOutputParamsSchema },
      handler: (req, reply) => getJobOutput(deps, req, reply),
    },
  });
  defineRoute(app, `${base}/node_states`, {
    GET: { access: 'read', handler: (req) => listNodeStates(deps, req) },
  });
  defineRoute(app, `${base}/node_states/:node`, {
    GET: { access: 'read', schema: { params: NodeParamsSchema }, handler: (req) => getNodeState(deps, req) },
  });
  registerConfigRoute(app, deps);
}
