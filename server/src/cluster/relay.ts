/**
 * Job traffic between instances, in batches: what a job's owner sends to the nodes another
 * instance holds (`commit`, `run`, releases, vote waits), and what those nodes answer (votes,
 * results, held jobs). Items for one instance accumulate while a write to it is in flight and go
 * as one row of `cluster_messages` with one notification on that instance's channel; the
 * receiver deletes the rows it is told of (and, after its listening connection was reopened,
 * every row addressed to it) and handles their items in order. One writer per destination keeps
 * each sender's rows in commit order.
 *
 * @module
 */
import { SILENT_LOGGER, type Logger, type MessageBody } from '@push-jobs/protocol/internal';
import { BatchWriter, RowReader, type BatchWriterStats } from './batches.js';
import type { ClusterDb } from './db.js';
import type { CommitBody, RunBody } from '@push-jobs/protocol/internal';

/** An item an owner sends to the instance holding the node. */
export type OwnerItem =
  | { t: 'send'; o: string; n: string; j: string; m: CommitBody | RunBody }
  | { t: 'release' | 'await' | 'voted'; o: string; n: string; j: string }
  /** The job ended: the holder forgets it (and flushes its live output). */
  | { t: 'forget'; o: string; j: string };

/** An item a holder (or any instance) sends to a job's owner. */
export type HolderItem =
  | { t: 'msg'; o: string; n: string; j: string; b: MessageBody }
  | { t: 'held'; o: string; n: string; j: string; s: 'committed' | 'running' }
  /** The node reconnected from a new address on its instance. */
  | { t: 'addr'; o: string; n: string; j: string }
  /** Abort asked on another instance's API. */
  | { t: 'abort'; o: string; j: string; by: string };

/** Any relayed item. */
export type RelayItem = OwnerItem | HolderItem;

/** The channel an instance's relayed items are announced on. */
export function instanceChannel(id: string): string {
  return `push_jobs_to_${id.replace(/-/g, '')}`;
}

/** Items per row. */
const MAX_ITEMS_PER_ROW = 2000;
/** Items queued for one instance beyond which new ones are dropped (the jobs' timers end them). */
const MAX_QUEUED_ITEMS = 200_000;

/** Writes batches of items to other instances: one {@link BatchWriter} per destination. */
export class RelayOutbox {
  private readonly writers = new Map<string, BatchWriter<RelayItem>>();
  private readonly log: Logger;
  private closed = false;
  /** Rows written, items written, items dropped (for the load figures), over every destination. */
  readonly stats: BatchWriterStats = { rows: 0, items: 0, dropped: 0 };

  constructor(
    private readonly db: ClusterDb,
    private readonly self: string,
    log?: Logger,
  ) {
    this.log = log ?? SILENT_LOGGER;
  }

  /** Queues an item for `to`; written with whatever else is queued for it. */
  send(to: string, item: RelayItem): void {
    if (this.closed) return;
    let writer = this.writers.get(to);
    if (writer === undefined) {
      writer = new BatchWriter<RelayItem>(
        (batch) =>
          this.db.query(
            `WITH r AS (INSERT INTO cluster_messages (to_instance, from_instance, items)
               VALUES ($1, $2, $3::jsonb) RETURNING id)
             SELECT pg_notify($4, r.id::text) FROM r`,
            [to, this.self, JSON.stringify(batch), instanceChannel(to)],
          ),
        { maxBatch: MAX_ITEMS_PER_ROW, maxQueued: MAX_QUEUED_ITEMS },
        this.log,
        'cluster relay write failed',
        this.stats,
      );
      this.writers.set(to, writer);
    }
    writer.push(item);
  }

  /** Resolves once everything queued so far is written. */
  async flush(): Promise<void> {
    await Promise.all([...this.writers.values()].map((w) => w.flush()));
  }

  /** Drops what is queued for an instance that is gone. */
  forget(to: string): void {
    this.writers.get(to)?.close();
    this.writers.delete(to);
  }

  close(): void {
    this.closed = true;
    for (const writer of this.writers.values()) writer.close();
    this.writers.clear();
  }
}

/** A row of `cluster_messages` as this instance reads it. */
interface MessageRow {
  id: string;
  from_instance: string;
  items: RelayItem[];
}

/** Reads the rows addressed to this instance (deleting them) and hands their items over in order. */
export class RelayInbox {
  private readonly reader: RowReader<MessageRow>;

  constructor(db: ClusterDb, self: string, handle: (from: string, item: RelayItem) => void, log?: Logger) {
    this.reader = new RowReader<MessageRow>(
      (ids) =>
        ids === 'all'
          ? db.query(
              'DELETE FROM cluster_messages WHERE to_instance = $1 RETURNING id, from_instance, items',
              [self],
            )
          : db.query(
              `DELETE FROM cluster_messages WHERE to_instance = $1 AND id = ANY($2::bigint[])
               RETURNING id, from_instance, items`,
              [self, ids],
            ),
      (row, item) => handle(row.from_instance, item),
      log ?? SILENT_LOGGER,
      'cluster relay read failed',
    );
  }

  /** Rows and items received. */
  get stats(): { rows: number; items: number } {
    return this.reader.stats;
  }

  /** A notification on this instance's channel (the row id). */
  notified(payload: string): void {
    this.reader.notified(payload);
  }

  /** Reads every row addressed to this instance (start, after a reconnect, periodically). */
  sweep(): Promise<void> {
    return this.reader.sweep();
  }

  close(): void {
    this.reader.close();
  }
}
