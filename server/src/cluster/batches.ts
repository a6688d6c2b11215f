/**
 * The two halves every cross-instance channel shares: a {@link BatchWriter} that turns items
 * queued in one turn (and while a write is in flight) into one row, one write at a time so a
 * sender's rows commit in order; and a {@link RowReader} that reads the rows it is told of (by
 * id, from notifications) and hands them over in id order, yielding between slices.
 *
 * @module
 */
import { errorMessage, type Logger } from '@push-jobs/protocol/internal';

/** What a {@link BatchWriter} counts. */
export interface BatchWriterStats {
  rows: number;
  items: number;
  /** Items dropped: the queue was full, or their write failed. */
  dropped: number;
}

/** Queues items and writes them in batches, one write in flight. */
export class BatchWriter<T> {
  private queue: T[] = [];
  private writing: Promise<void> | undefined;
  private closed = false;

  constructor(
    /** Writes one batch (one row and its notification). */
    private readonly write: (batch: T[]) => Promise<unknown>,
    private readonly limits: { maxBatch: number; maxQueued: number },
    private readonly log: Logger,
    /** What the log says a failed write was (`cluster relay write failed`, ...). */
    private readonly what: string,
    readonly stats: BatchWriterStats = { rows: 0, items: 0, dropped: 0 },
  ) {}

  /** Queues an item; written with whatever else is queued (dropped and counted when full). */
  push(item: T): void {
    if (this.closed) return;
    if (this.queue.length >= this.limits.maxQueued) {
      this.stats.dropped += 1;
      return;
    }
    this.queue.push(item);
    this.kick();
  }

  /** Resolves once everything queued so far is written. */
  async flush(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  /** Drops what is queued; nothing more is written. */
  close(): void {
    this.closed = true;
    this.queue = [];
  }

  private kick(): void {
    if (this.writing !== undefined || this.closed) return;
    this.writing = this.drain().finally(() => {
      this.writing = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    // Let the current turn add its items first: one row for a whole loop over a job's nodes.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queue.length > 0 && !this.closed) {
      const batch = this.queue.splice(0, this.limits.maxBatch);
      try {
        await this.write(batch);
        this.stats.rows += 1;
        this.stats.items += batch.length;
      } catch (error) {
        // Not retried for ever: the jobs' own timers (and the leases) bound what waits for it.
        this.stats.dropped += batch.length;
        this.log.warn({ err: errorMessage(error), items: batch.length }, this.what);
      }
    }
  }
}

/** A row a {@link RowReader} reads: its id (a bigint, as text) and its items. */
export interface IdRow<T> {
  id: string;
  items: T[];
}

/** Items handled per event-loop turn. */
const ITEMS_PER_TURN = 1000;

/** Reads notified rows and hands their items over in id order; one read at a time. */
export class RowReader<R extends IdRow<unknown>> {
  private readonly pending = new Set<string>();
  private everything = false;
  private reading: Promise<void> | undefined;
  private closed = false;
  /** Rows and items handed over. */
  readonly stats = { rows: 0, items: 0 };

  constructor(
    /** Reads the rows of these ids, or (`'all'`) every row there is for this reader. */
    private readonly read: (ids: string[] | 'all') => Promise<R[]>,
    /** Handles one item of a row (a failure is logged, the rest go on). */
    private readonly handle: (row: R, item: R['items'][number]) => void,
    private readonly log: Logger,
    /** What the log says a failed read was. */
    private readonly what: string,
  ) {}

  /** A row id from a notification. */
  notified(id: string): void {
    if (!/^\d{1,19}$/.test(id)) return;
    this.pending.add(id);
    void this.schedule();
  }

  /** Reads every row there is (start, after a reconnect, periodically). */
  sweep(): Promise<void> {
    this.everything = true;
    return this.schedule();
  }

  close(): void {
    this.closed = true;
  }

  private schedule(): Promise<void> {
    this.reading ??= this.loop().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async loop(): Promise<void> {
    while (!this.closed && (this.pending.size > 0 || this.everything)) {
      const ids = this.everything ? 'all' : [...this.pending];
      this.everything = false;
      this.pending.clear();
      let rows: R[];
      try {
        rows = await this.read(ids);
      } catch (error) {
        // Read again in a second: the rows stay in their table until read.
        this.log.warn({ err: errorMessage(error) }, this.what);
        if (ids === 'all') this.everything = true;
        else for (const id of ids) this.pending.add(id);
        setTimeout(() => void this.schedule(), 1000).unref();
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
            this.handle(row, item);
          } catch (error) {
            this.log.error({ err: errorMessage(error) }, `${this.what}: an item failed`);
          }
          if (++done % ITEMS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      }
    }
  }
}
