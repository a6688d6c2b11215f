/**
 * The cluster's own PostgreSQL connections: a small pool for its batched writes and reads, and
 * one dedicated connection that `LISTEN`s. Notifications are delivered in commit order; when the
 * listening connection breaks it is reopened with back-off, every channel is listened to again,
 * and `onReconnect` runs so the owner can sweep for what was sent while it was away (a
 * notification missed is never a message lost: the rows stay in their tables until read).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { SILENT_LOGGER, errorMessage, type Logger } from '@push-jobs/protocol/internal';
import { quoteIdentifier } from '../store/postgres.js';

/** Where the cluster's tables are. */
export interface ClusterDbOptions {
  connectionString: string;
  /** The schema of the store (tests use one per test); default: the server's search_path. */
  schema?: string;
  /** Pool size. @default 4 */
  max?: number;
  log?: Logger;
}

/**
 * The cluster's shared channels: notification channels are per database, not per schema, so two
 * clusters in two schemas of one database (tests do this) must not hear each other. The names
 * carry a short hash of the schema.
 */
export function clusterChannels(schema: string | undefined): { presence: string; feed: string } {
  const ns = createHash('sha256')
    .update(schema ?? '')
    .digest('hex')
    .slice(0, 12);
  return { presence: `push_jobs_presence_${ns}`, feed: `push_jobs_feed_${ns}` };
}

/** A handler of one channel's notifications (payload text). */
export type NotificationHandler = (payload: string) => void;

/** Longest pause between attempts to reopen the listening connection, ms. */
const MAX_RECONNECT_MS = 5000;

/** The cluster's connections. */
export class ClusterDb {
  readonly pool: pg.Pool;
  private readonly clientConfig: pg.ClientConfig;
  private readonly handlers = new Map<string, NotificationHandler>();
  private listener: pg.Client | undefined;
  private closed = false;
  private readonly log: Logger;
  /** Runs after the listening connection was reopened (not after the first open). */
  onReconnect: (() => void) | undefined;
  /** Times the listening connection was lost and reopened. */
  reconnects = 0;
  /** This cluster's shared channels (see {@link clusterChannels}). */
  readonly channels: { presence: string; feed: string };

  constructor(options: ClusterDbOptions) {
    const searchPath = options.schema === undefined ? undefined : quoteIdentifier(options.schema);
    this.clientConfig = {
      connectionString: options.connectionString,
      keepAlive: true,
      connectionTimeoutMillis: 5000,
      ...(searchPath === undefined ? {} : { options: `-c search_path=${searchPath}` }),
    };
    this.pool = new pg.Pool({ ...this.clientConfig, max: options.max ?? 4 });
    this.pool.on('error', () => undefined);
    this.log = options.log ?? SILENT_LOGGER;
    this.channels = clusterChannels(options.schema);
  }

  /** A query on the pool. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
  ): Promise<R[]> {
    return (await this.pool.query<R>(text, values)).rows;
  }

  /** Listens to `channel` (a plain identifier); call before {@link connect}. */
  on(channel: string, handler: NotificationHandler): void {
    quoteIdentifier(channel);
    this.handlers.set(channel, handler);
  }

  /** Opens the listening connection and listens to every channel registered with {@link on}. */
  async connect(): Promise<void> {
    this.listener = await this.openListener();
  }

  private async openListener(): Promise<pg.Client> {
    const client = new pg.Client(this.clientConfig);
    client.on('notification', (n) => {
      const handler = this.handlers.get(n.channel);
      if (handler !== undefined && n.payload !== undefined) handler(n.payload);
    });
    client.on('error', (error) => {
      if (this.listener !== client || this.closed) return;
      this.log.warn({ err: errorMessage(error) }, 'cluster listening connection lost; reopening');
      this.listener = undefined;
      client.end().catch(() => undefined);
      void this.reopen();
    });
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`LISTEN ${quoteIdentifier(channel)}`);
    return client;
  }

  private async reopen(): Promise<void> {
    let delay = 100;
    while (!this.closed) {
      try {
        const client = await this.openListener();
        if (this.closed) {
          await client.end().catch(() => undefined);
          return;
        }
        this.listener = client;
        this.reconnects += 1;
        this.log.info({}, 'cluster listening connection reopened');
        this.onReconnect?.();
        return;
      } catch (error) {
        this.log.warn({ err: errorMessage(error), retryMs: delay }, 'cluster listening connection failed');
        await sleep(delay);
        delay = Math.min(delay * 2, MAX_RECONNECT_MS);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    if (!this.pool.ended) await this.pool.end().catch(() => undefined);
  }
}

/** PostgreSQL's limit on a notification payload is 8000 bytes; we stay well under it. */
export const MAX_NOTIFY_PAYLOAD_BYTES = 7000;

/**
 * Packs strings into JSON-array payloads of at most {@link MAX_NOTIFY_PAYLOAD_BYTES} each (a
 * single item over the limit is left out: callers keep items small).
 */
export function packPayloads(items: readonly unknown[]): string[] {
  const out: string[] = [];
  let current: string[] = [];
  let bytes = 2;
  for (const item of items) {
    const text = JSON.stringify(item);
    const size = Buffer.byteLength(text) + 1;
    if (size + 2 > MAX_NOTIFY_PAYLOAD_BYTES) continue;
    if (bytes + size > MAX_NOTIFY_PAYLOAD_BYTES) {
      out.push(`[${current.join(',')}]`);
      current = [];
      bytes = 2;
    }
    current.push(text);
    bytes += size;
  }
  if (current.length > 0) out.push(`[${current.join(',')}]`);
  return out;
}
