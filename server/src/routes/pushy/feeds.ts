/**
 * The SSE feeds (spec 7): `GET .../pushy/job_status_feed/JOBID` and `GET .../job_status_feed`.
 * Authentication, the read group and the 406 for another `Accept` happen in the app's
 * `preHandler`; the handlers here take over the raw response (`reply.hijack()`) and stream.
 *
 * Every event ends with a blank line, the last one and the `summary` event included (a
 * deliberate fix: the original left the final event unterminated).
 *
 * @module
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { EVENT_STREAM, SseConnection } from './sse-connection.js';
import type { RouteDeps } from '../deps.js';
import { notFound } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { formatJob } from '../../jobs/format.js';
import { eventData } from '../../feeds/event-format.js';
import type { FeedHub } from '../../feeds/feed-hub.js';
import type { UnwrittenOutput } from '../../jobs/output-so-far.js';
import { registerOutputStreamRoute } from './output-stream.js';

export { EVENT_STREAM } from './sse-connection.js';

/**
 * What the feed routes need: the config (`keep_alive_time`), the store and the hub; with live
 * output, the collector's chunks not yet written (the per-node output stream joins them to the
 * stored ones).
 */
export type FeedRouteDeps = Pick<RouteDeps, 'config' | 'store'> & {
  feeds: FeedHub;
  output?: UnwrittenOutput;
};

function lastEventIdOf(request: FastifyRequest): string | undefined {
  const value = request.headers['last-event-id'];
  const id = (Array.isArray(value) ? value[0] : value)?.trim();
  return id === undefined || id === '' ? undefined : id;
}

async function jobFeed(
  deps: FeedRouteDeps,
  open: Set<SseConnection>,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const org = request.org!.name;
  const { id } = request.params as { id: string };
  const job = await deps.store.getJob(org, id);
  if (job === undefined) throw notFound(`job '${id}' does not exist in organization '${org}'`);

  const conn = new SseConnection(request, reply, deps.config.keep_alive_time, open);
  if (request.method === 'HEAD') return conn.end();

  const sub = deps.feeds.subscribeJob(org, id, lastEventIdOf(request), {
    onEvent: (event) => {
      conn.send([event]);
      if (event.event === 'job_complete') conn.end();
    },
    onEnd: () => conn.end(),
  });
  if (sub === undefined) {
    // The job's log is gone (it finished a while ago, or ran before a restart): one summary.
    const data = eventData(deps.feeds.nextTimestamp(), { ...formatJob(job) });
    conn.send([{ event: 'summary', id: 'job-1', data }]);
    return conn.end();
  }
  conn.onClose(sub.unsubscribe);
  const complete = sub.finished || sub.events.some((e) => e.event === 'job_complete');
  await conn.sendBacklog(sub.events);
  if (complete) conn.end();
}

function orgFeed(
  deps: FeedRouteDeps,
  open: Set<SseConnection>,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const conn = new SseConnection(request, reply, deps.config.keep_alive_time, open);
  if (request.method === 'HEAD') return conn.end();
  const sub = deps.feeds.subscribeOrg(request.org!.name, lastEventIdOf(request), (event) =>
    conn.send([event]),
  );
  conn.onClose(sub.unsubscribe);
  void conn.sendBacklog(sub.events);
}

/**
 * Registers both feeds on `app` (call before `app.ready()`). Open streams are ended when the
 * app closes, so `app.close()` does not wait for them.
 */
export function registerFeedRoutes(app: FastifyInstance, deps: FeedRouteDeps): void {
  const open = new Set<SseConnection>();
  app.addHook('preClose', async () => {
    for (const conn of [...open]) conn.end();
  });
  const base = '/organizations/:org/pushy/job_status_feed';
  defineRoute(app, `${base}/:id`, {
    GET: {
      access: 'read',
      produces: EVENT_STREAM,
      handler: (request, reply) => jobFeed(deps, open, request, reply),
    },
  });
  defineRoute(app, base, {
    GET: {
      access: 'read',
      produces: EVENT_STREAM,
      handler: (request, reply) => orgFeed(deps, open, request, reply),
    },
  });
  registerOutputStreamRoute(app, deps, open);
}

/** {@link registerFeedRoutes} as a Fastify plugin (`app.register(feedRoutesPlugin, deps)`). */
export const feedRoutesPlugin: FastifyPluginAsync<FeedRouteDeps> = async (app, deps) => {
  registerFeedRoutes(app, deps);
};
