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
import type { RouteDeps } from '../deps.js';
import { notFound } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { formatJob } from '../../jobs/format.js';
import { SSE_KEEPALIVE, eventData, formatSseEvent, type SseEvent } from '../../feeds/event-format.js';
import type { FeedHub } from '../../feeds/feed-hub.js';

/** What the feed routes need: the config (`keep_alive_time`), the store and the hub. */
export type FeedRouteDeps = Pick<RouteDeps, 'config' | 'store'> & { feeds: FeedHub };

/** The media type of both feeds. */
export const EVENT_STREAM = 'text/event-stream';

/** A client that has this much unsent live data is too slow, and is disconnected. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** Backlog events written at a time; the next batch waits for the socket to drain. */
const BACKLOG_BATCH = 500;

/**
 * One open SSE response: headers, writes, keepalive and cleanup on disconnect.
 *
 * The backlog a subscriber asks for (a job's events so far: three per node, 30,000 for a job on
 * 10,000 nodes) is written in batches that wait for the socket to drain, and live events that
 * arrive meanwhile wait behind it, in order. Only live events count toward the slow-client
 * limit: a client that cannot keep up with them is disconnected rather than buffered for.
 */
class SseConnection {
  readonly #raw: FastifyReply['raw'];
  readonly #open: Set<SseConnection>;
  readonly #cleanups: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Set while the backlog is being written: live events and end() wait behind it. */
  #behind: { events: SseEvent[]; end: boolean } | undefined;

  constructor(
    request: FastifyRequest,
    reply: FastifyReply,
    keepAliveSeconds: number,
    open: Set<SseConnection>,
  ) {
    reply.hijack();
    this.#raw = reply.raw;
    this.#open = open;
    open.add(this);
    this.#raw.writeHead(200, {
      'content-type': EVENT_STREAM,
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    this.#raw.flushHeaders();
    const onClose = (): void => this.#close(false);
    this.#raw.on('close', onClose);
    this.#raw.on('error', onClose);
    request.raw.on('close', onClose);
    if (keepAliveSeconds > 0 && request.method !== 'HEAD') {
      this.#timer = setTimeout(() => this.write(SSE_KEEPALIVE), keepAliveSeconds * 1000);
    }
  }

  /** Whether the response has ended (or the client went away). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Runs `fn` once the connection closes, or now when it already has. */
  onClose(fn: () => void): void {
    if (this.#closed) fn();
    else this.#cleanups.push(fn);
  }

  /** Writes live events (each terminated by a blank line), after any backlog still being written. */
  send(events: readonly SseEvent[]): void {
    if (events.length === 0) return;
    if (this.#behind !== undefined) this.#behind.events.push(...events);
    else this.write(events.map(formatSseEvent).join(''));
  }

  /**
   * Writes the backlog in batches, each after the socket drained, then whatever was sent or
   * ended meanwhile. Returns once all of it is handed to the socket (or the client left).
   */
  async sendBacklog(events: readonly SseEvent[]): Promise<void> {
    if (events.length <= BACKLOG_BATCH && this.#behind === undefined) return this.send(events);
    this.#behind ??= { events: [], end: false };
    for (let i = 0; i < events.length && !this.#closed; i += BACKLOG_BATCH) {
      this.write(
        events
          .slice(i, i + BACKLOG_BATCH)
          .map(formatSseEvent)
          .join(''),
      );
      if (this.#raw.writableNeedDrain) await this.#drained();
    }
    const behind = this.#behind;
    this.#behind = undefined;
    this.send(behind.events);
    if (behind.end) this.end();
  }

  /** Writes text, and restarts the keepalive countdown. */
  write(text: string): void {
    if (this.#closed) return;
    this.#raw.write(text);
    if (this.#behind === undefined && this.#raw.writableLength > MAX_BUFFERED_BYTES) {
      this.#raw.destroy();
      this.#close(false);
      return;
    }
    this.#timer?.refresh();
  }

  /** Ends the response (after the backlog, when one is being written). */
  end(): void {
    if (this.#behind !== undefined) this.#behind.end = true;
    else this.#close(true);
  }

  #drained(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closed) return resolve();
      const done = (): void => {
        this.#raw.off('drain', done);
        resolve();
      };
      this.#raw.on('drain', done);
      this.onClose(done);
    });
  }

  #close(endResponse: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#open.delete(this);
    for (const fn of this.#cleanups.splice(0)) fn();
    if (endResponse && !this.#raw.writableEnded) this.#raw.end();
  }
}

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
}

/** {@link registerFeedRoutes} as a Fastify plugin (`app.register(feedRoutesPlugin, deps)`). */
export const feedRoutesPlugin: FastifyPluginAsync<FeedRouteDeps> = async (app, deps) => {
  registerFeedRoutes(app, deps);
};
