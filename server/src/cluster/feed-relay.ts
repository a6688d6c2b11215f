/**
 * The feeds of the whole cluster on every instance. Whatever an instance's jobs and live output
 * emit goes to its own feed hub at once and, in batches, to `cluster_feed` with one notification
 * per batch; every other instance reads the batches it is told of and replays them into its own
 * hub, so both SSE feeds answer the same everywhere (event ids and data alike; each hub stamps
 * its own timestamps, a few milliseconds apart). Batches are kept a few minutes, then removed.
 *
 * @module
 */
import {
  errorMessage,
  SILENT_LOGGER,
  type JobEventFields,
  type JobEventName,
  type Logger,
} from '@push-jobs/protocol/internal';
import type { JobEventSink } from '../feeds/types.js';
import type { ClusterDb } from './db.js';

/** One relayed feed item: an event, or the end of a job's feed. */
type FeedItem = [org: string, job: string, event: JobEventName, fields: unknown] | [org: string, job: string];

/** Events per row. */
const MAX_EVENTS_PER_ROW = 2000;
/** Events queued beyond which new ones are dropped (counted). */
const MAX_QUEUED = 100_000;

/** A feed sink that also publishes to the other instances, and replays theirs. */
export class ClusterFeed implements JobEventSink {
  private queue: FeedItem[] = [];
  private writing: Promise<void> | undefined;
  private readonly pending = new Set<string>();
  private reading: Promise<void> | undefined;
  private closed = false;
  private readonly log: Logger;
  /** Rows written and read, events relayed, events dropped. */
  readonly stats = { rowsWritten: 0, rowsRead: 0, events: 0, dropped: 0 };

  constructor(
    private readonly db: ClusterDb,
    private readonly self: string,
    private readonly local: JobEventSink,
    log?: Logger,
  ) {
    this.log = log ?? SILENT_LOGGER;
  }

  emit<K extends JobEventName>(org: string, jobId: string, event: K, fields: JobEventFields[K]): void {
    this.local.emit(org, jobId, event, fields);
    this.publish([org, jobId, event, fields]);
  }

  finish(org: string, jobId: string): void {
    this.local.finish(org, jobId);
    this.publish([org, jobId]);
  }

  private publish(item: FeedItem): void {
    if (this.closed) return;
    if (this.queue.length >= MAX_QUEUED) {
      this.stats.dropped += 1;
      return;
    }
    this.queue.push(item);
    this.kick();
  }

  private kick(): void {
    if (this.writing !== undefined || this.closed) return;
    this.writing = this.writeLoop().finally(() => {
      this.writing = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  /** Resolves once what was emitted so far is written. */
  async flush(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  private async writeLoop(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queue.length > 0 && !this.closed) {
      const batch = this.queue.splice(0, MAX_EVENTS_PER_ROW);
      try {
        await this.db.query(
          `WITH r AS (INSERT INTO cluster_feed (from_instance, events) VALUES ($1, $2::jsonb) RETURNING id)
           SELECT pg_notify($3, r.id::text || ' ' || $1) FROM r`,
          [this.self, JSON.stringify(batch), this.db.channels.feed],
        );
        this.stats.rowsWritten += 1;
        this.stats.events += batch.length;
      } catch (error) {
        this.stats.dropped += batch.length;
        this.log.warn({ err: errorMessage(error), events: batch.length }, 'cluster feed write failed');
      }
    }
  }

  /** A notification on the feed channel. */
  notified(payload: string): void {
    const [id, from] = payload.split(' ');
    if (id === undefined || from === undefined || from === this.self || !/^\d{1,19}$/.test(id)) return;
    this.pending.add(id);
    this.reading ??= this.readLoop().finally(() => {
      this.reading = undefined;
    });
  }

  private async readLoop(): Promise<void> {
    while (this.pending.size > 0 && !this.closed) {
      const ids = [...this.pending];
      this.pending.clear();
      let rows: { id: string; events: FeedItem[] }[];
      try {
        rows = await this.db.query('SELECT id, events FROM cluster_feed WHERE id = ANY($1::bigint[])', [ids]);
      } catch (error) {
        this.log.warn({ err: errorMessage(error) }, 'cluster feed read failed');
        return;
      }
      rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      for (const row of rows) {
        this.stats.rowsRead += 1;
        for (const item of row.events) {
          if (item.length === 2) this.local.finish(item[0], item[1]);
          else this.local.emit(item[0], item[1], item[2], item[3] as JobEventFields[(typeof item)[2]]);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  /** Removes batches older than `seconds` (run now and then by every instance; cheap). */
  async prune(seconds = 600): Promise<void> {
    await this.db.query('DELETE FROM cluster_feed WHERE created_at < now() - make_interval(secs => $1)', [
      seconds,
    ]);
  }

  close(): void {
    this.closed = true;
    this.queue = [];
  }
}
