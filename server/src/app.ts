/**
 * The HTTP application as a Fastify instance; only the `start` command listens, tests use
 * `inject`.
 *
 * Request pipeline (the original's order of checks, spec 1.2):
 * `onRequest` 405/404 routing, then the signed-header checks (400/401) → body read (413) →
 * route `preValidation` (job body: 400) → `preHandler`: org (404), principal (401), membership
 * (403), signature (401), groups (403), content type (415), `Accept` (406) → handler.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { isPushJobsError } from '@push-jobs/protocol/internal';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { ServerConfig } from './config/types.js';
import { IdleEngine } from './jobs/idle-engine.js';
import { NoNodes } from './nodes/no-nodes.js';
import { createServerLogger, type ServerLoggerOption } from './logging/server-logger.js';
import { FeedHub } from './feeds/feed-hub.js';
import { registerFeedRoutes } from './routes/pushy/feeds.js';
import type { UnwrittenOutput } from './jobs/output-so-far.js';
import type { JobEngine } from './jobs/types.js';
import type { NodeTracker } from './nodes/types.js';
import type { PushRuntime, RouteDeps } from './routes/deps.js';
import { authenticate, checkSignedHeaders } from './http/authenticate.js';
import { authorize } from './http/authorize.js';
import './http/context.js';
import { HttpError, internalError } from './http/errors.js';
import { accepts, isJsonContentType } from './http/negotiate.js';
import { registerIdentityRoutes } from './routes/identity/index.js';
import { registerPushyRoutes } from './routes/pushy/index.js';
import { OrgSearchIndexes } from './search/org-indexes.js';
import { StoreConflictError, StoreNotFoundError, type Store } from './store/types.js';
import { StoreUnavailableError } from './store/unavailable.js';

export type { PushRuntime, RouteDeps } from './routes/deps.js';

/** What {@link buildApp} needs. */
export interface AppOptions {
  config: ServerConfig;
  store: Store;
  /**
   * `false` for no logs, `true` or pino options (the level defaults to `log_level`), or the
   * server's pino logger (see `createServerLogger`). @default false
   */
  logger?: ServerLoggerOption;
  /** HTTPS on the API port. @default plain HTTP */
  https?: { cert: Buffer | string; key: Buffer | string };
  /** Runs jobs. @default an {@link IdleEngine} (jobs stay `new`) */
  engine?: JobEngine;
  /** Knows connected nodes. @default {@link NoNodes} */
  tracker?: NodeTracker;
  /** This server process's incarnation. @default a fresh v4 UUID */
  incarnationId?: string;
  /** Keys and allow-list of the running broker (config endpoint). @default none: 503 */
  runtime?: PushRuntime;
  /** Job and org event logs behind the SSE feeds. @default an empty hub */
  feeds?: FeedHub;
  /** Live output chunks not yet written (the per-node output stream). @default none */
  output?: UnwrittenOutput;
  /** Cluster mode: the instance that answers (`/_status`). @default none (a single server) */
  instanceStatus?: RouteDeps['instanceStatus'];
}

/** Builds the app (routes, auth, error handling) without listening. */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { config, store } = opts;
  const app = Fastify({
    loggerInstance: createServerLogger(opts.logger, config.log_level),
    bodyLimit: config.max_request_body_size,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
    ...(opts.https ? { https: opts.https } : {}),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  const deps: RouteDeps = {
    config,
    store,
    engine: opts.engine ?? new IdleEngine(store),
    tracker: opts.tracker ?? new NoNodes(),
    incarnationId: opts.incarnationId ?? randomUUID(),
    runtime: opts.runtime,
    searchIndexes: new OrgSearchIndexes(store),
    ...(opts.output === undefined ? {} : { output: opts.output }),
    ...(opts.instanceStatus === undefined ? {} : { instanceStatus: opts.instanceStatus }),
  };

  app.decorateRequest('rawBody', undefined);
  app.decorateRequest('org', undefined);
  app.decorateRequest('requestor', undefined);
  app.decorateRequest('parsedBody', undefined);
  app.decorateRequest('jobRequest', undefined);

  // Every body arrives as a string: the signature covers the exact bytes, and the content type
  // is checked after authentication, as the original did.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    request.rawBody = body as string;
    done(null, body);
  });

  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access ?? 'public';
    if (access !== 'public') checkSignedHeaders(request, config.auth_skew);
  });

  app.addHook('preHandler', async (request) => {
    const {
      access = 'public',
      produces = 'application/json',
      jsonBody = false,
    } = request.routeOptions.config;
    if (access !== 'public') {
      const orgName = (request.params as { org?: string }).org ?? '';
      const { org, requestor } = await authenticate(request, store, orgName, config.auth_skew);
      request.org = org;
      request.requestor = requestor;
      await authorize(access, request, store, org, requestor);
    }
    if (jsonBody && !isJsonContentType(request.headers['content-type'])) {
      throw new HttpError(415, 'Content-Type must be application/json');
    }
    if (!accepts(request.headers.accept, produces)) {
      throw new HttpError(406, `this resource produces ${produces} only`);
    }
  });

  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    if (error instanceof HttpError) {
      return reply.code(error.statusCode).headers(error.headers).send(error.body());
    }
    if (error instanceof StoreConflictError) return reply.code(409).send({ error: [error.message] });
    if (error instanceof StoreNotFoundError) return reply.code(404).send({ error: [error.message] });
    if (error instanceof StoreUnavailableError) {
      // The database is down, failing over or locked: try again shortly.
      request.log.warn({ err: error.message }, 'store unavailable');
      return reply
        .code(503)
        .header('retry-after', '2')
        .send({ error: ['the database is unavailable; try again shortly'] });
    }
    if (isPushJobsError(error) && error.statusCode !== undefined && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: [error.message] });
    }
    if ('code' in error && error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply
        .code(413)
        .send({ error: `JSON must be no more than ${config.max_request_body_size} bytes.` });
    }
    const status = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 500) {
      // The stack stays in the log, under an id the client is given.
      const failure = internalError(request, error);
      return reply.code(500).send(failure.body());
    }
    return reply.code(status).send({ error: [error.message] });
  });

  app.setNotFoundHandler(async (request: FastifyRequest, reply) => {
    return reply
      .code(404)
      .send({ error: [`no such resource: ${request.method} ${request.url.split('?')[0]}`] });
  });

  registerPushyRoutes(app, deps);
  registerFeedRoutes(app, {
    config,
    store,
    ...(opts.output === undefined ? {} : { output: opts.output }),
    feeds:
      opts.feeds ??
      new FeedHub({
        orgFeedExpiration: config.org_feed_expiration,
        waitCompleteTime: config.wait_complete_time,
      }),
  });
  registerIdentityRoutes(app, deps);
  await app.ready();
  return app;
}
