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
  SILENT_LOGGER,
  type JobEventFields,
  type JobEventName,
  type Logger,
} from '@push-jobs/protocol/internal';
import type { JobEventSink } from '../feeds/types.js';
import { BatchWriter, RowReader } from './batches.js';
import type { ClusterDb } from './db.js';

/** One relayed feed item: an event, or the end of a job's feed. */
type FeedItem = [org: string, job: string, event: JobEventName, fields: unknown] | [org: string, job: string];

/** Events per row. */
const MAX_EVENTS_PER_ROW = 2000;
/** Events queued beyond which new ones are dropped (counted). */
const MAX_QUEUED = 100_000;

/** A row of `cluster_feed` as another instance reads it. */
interface FeedRow {
  id: string;
  items: FeedItem[];
}

/** A feed sink that also publishes to the other instances, and replays theirs. */
export class ClusterFeed implements JobEventSink {
  private readonly writer: BatchWriter<FeedItem>;
  private readonly reader: RowReader<FeedRow>;

  constructor(
    private readonly db: ClusterDb,
    private readonly self: string,
    private readonly local: JobEventSink,
    log?: Logger,
  ) {
    const logger = log ?? SILENT_LOGGER;
    this.writer = new BatchWriter<FeedItem>(
      (batch) =>
        db.query(
          `WITH r AS (INSERT INTO cluster_feed (from_instance, events) VALUES ($1, $2::jsonb) RETURNING id)
           SELECT pg_notify($3, r.id::text || ' ' || $1) FROM r`,
          [self, JSON.stringify(batch), db.channels.feed],
        ),
      { maxBatch: MAX_EVENTS_PER_ROW, maxQueued: MAX_QUEUED },
      logger,
      'cluster feed write failed',
    );
    this.reader = new RowReader<FeedRow>(
      // Only rows announced: another instance's batches, never the whole table.
      async (ids) =>
        ids === 'all'
          ? []
          : db.query('SELECT id, events AS items FROM cluster_feed WHERE id = ANY($1::bigint[])', [ids]),
      (_row, item) => {
        if (item.length === 2) this.local.finish(item[0], item[1]);
        else this.local.emit(item[0], item[1], item[2], item[3] as JobEventFields[(typeof item)[2]]);
      },
      logger,
      'cluster feed read failed',
    );
  }

  /** Batches written (and events, and events dropped), and batches read. */
  get stats(): { rowsWritten: number; events: number; dropped: number; rowsRead: number } {
    const w = this.writer.stats;
    return { rowsWritten: w.rows, events: w.items, dropped: w.dropped, rowsRead: this.reader.stats.rows };
  }

  emit<K extends JobEventName>(org: string, jobId: string, event: K, fields: JobEventFields[K]): void {
    this.local.emit(org, jobId, event, fields);
    this.writer.push([org, jobId, event, fields]);
  }

  finish(org: string, jobId: string): void {
    this.local.finish(org, jobId);
    this.writer.push([org, jobId]);
  }

  /** Resolves once what was emitted so far is written. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** A notification on the feed channel (`ID SENDER`): another instance's batch is replayed. */
  notified(payload: string): void {
    const [id, from] = payload.split(' ');
    if (id === undefined || from === undefined || from === this.self) return;
    this.reader.notified(id);
  }

  /** Removes batches older than `seconds` (run now and then by every instance; cheap). */
  async prune(seconds = 600): Promise<void> {
    await this.db.query('DELETE FROM cluster_feed WHERE created_at < now() - make_interval(secs => $1)', [
      seconds,
    ]);
  }

  close(): void {
    this.writer.close();
    this.reader.close();
  }
}
