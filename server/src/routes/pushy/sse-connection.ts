/**
 * One open SSE response (the job and org feeds, the per-node output stream): headers, writes,
 * keepalive, the backlog written in drained batches, and cleanup on disconnect.
 *
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SSE_KEEPALIVE, formatSseEvent, type SseEvent } from '../../feeds/event-format.js';

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
export class SseConnection {
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
