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
import { errorMessage, SILENT_LOGGER, type Logger, type MessageBody } from '@push-jobs/protocol/internal';
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
/** Items handled per event-loop turn on receipt. */
const ITEMS_PER_TURN = 1000;

/** Writes batches of items to other instances. */
export class RelayOutbox {
  private readonly queues = new Map<string, RelayItem[]>();
  private readonly writing = new Map<string, Promise<void>>();
  private readonly log: Logger;
  private closed = false;
  /** Rows written, items written, items dropped (for the load figures). */
  readonly stats = { rows: 0, items: 0, dropped: 0 };

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
    let queue = this.queues.get(to);
    if (queue === undefined) this.queues.set(to, (queue = []));
    if (queue.length >= MAX_QUEUED_ITEMS) {
      this.stats.dropped += 1;
      return;
    }
    queue.push(item);
    if (!this.writing.has(to)) this.writing.set(to, this.drain(to));
  }

  /** Resolves once everything queued so far is written. */
  async flush(): Promise<void> {
    await Promise.all([...this.writing.values()]);
  }

  /** Drops what is queued for an instance that is gone. */
  forget(to: string): void {
    this.queues.delete(to);
  }

  private async drain(to: string): Promise<void> {
    // Let the current turn add its items first: one row for a whole loop over a job's nodes.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      for (;;) {
        const queue = this.queues.get(to);
        if (queue === undefined || queue.length === 0 || this.closed) return;
        const batch = queue.splice(0, MAX_ITEMS_PER_ROW);
        try {
          await this.db.query(
            `WITH r AS (INSERT INTO cluster_messages (to_instance, from_instance, items)
               VALUES ($1, $2, $3::jsonb) RETURNING id)
             SELECT pg_notify($4, r.id::text) FROM r`,
            [to, this.self, JSON.stringify(batch), instanceChannel(to)],
          );
          this.stats.rows += 1;
          this.stats.items += batch.length;
        } catch (error) {
          // The destination's jobs or nodes are in other hands now or soon (leases); items are not
          // retried forever: the jobs' own timers bound what waits for them.
          this.stats.dropped += batch.length;
          this.log.warn({ err: errorMessage(error), to, items: batch.length }, 'cluster relay write failed');
        }
      }
    } finally {
      this.writing.delete(to);
      const rest = this.queues.get(to);
      if (rest !== undefined && rest.length > 0 && !this.closed) this.writing.set(to, this.drain(to));
    }
  }

  close(): void {
    this.closed = true;
    this.queues.clear();
  }
}

/** Reads the rows addressed to this instance and hands their items over in order. */
export class RelayInbox {
  private readonly pending = new Set<string>();
  private sweepAll = false;
  private reading: Promise<void> | undefined;
  private readonly log: Logger;
  private closed = false;
  /** Rows and items received. */
  readonly stats = { rows: 0, items: 0 };

  constructor(
    private readonly db: ClusterDb,
    private readonly self: string,
    private readonly handle: (from: string, item: RelayItem) => void,
    log?: Logger,
  ) {
    this.log = log ?? SILENT_LOGGER;
  }

  /** A notification on this instance's channel (the row id). */
  notified(payload: string): void {
    if (!/^\d{1,19}$/.test(payload)) return;
    this.pending.add(payload);
    void this.schedule();
  }

  /** Reads every row addressed to this instance (start, after a reconnect, periodically). */
  sweep(): Promise<void> {
    this.sweepAll = true;
    return this.schedule();
  }

  private schedule(): Promise<void> {
    if (this.reading === undefined) {
      this.reading = this.readLoop().finally(() => {
        this.reading = undefined;
      });
    }
    return this.reading;
  }

  private async readLoop(): Promise<void> {
    while (!this.closed && (this.pending.size > 0 || this.sweepAll)) {
      const all = this.sweepAll;
      const ids = [...this.pending];
      this.sweepAll = false;
      this.pending.clear();
      let rows: { id: string; from_instance: string; items: RelayItem[] }[];
      try {
        rows = all
          ? await this.db.query(
              'DELETE FROM cluster_messages WHERE to_instance = $1 RETURNING id, from_instance, items',
              [this.self],
            )
          : await this.db.query(
              `DELETE FROM cluster_messages WHERE to_instance = $1 AND id = ANY($2::bigint[])
               RETURNING id, from_instance, items`,
              [this.self, ids],
            );
      } catch (error) {
        this.log.warn({ err: errorMessage(error) }, 'cluster relay read failed; sweeping again shortly');
        setTimeout(() => void this.sweep(), 1000).unref();
        return;
      }
      rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      let done = 0;
      for (const row of rows) {
        this.stats.rows += 1;
        if (!Array.isArray(row.items)) continue;
        for (const item of row.items) {
          this.stats.items += 1;
          try {
            this.handle(row.from_instance, item);
          } catch (error) {
            this.log.error({ err: errorMessage(error), item: item.t }, 'cluster relay item failed');
          }
          if (++done % ITEMS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      }
    }
  }

  close(): void {
    this.closed = true;
  }
}
