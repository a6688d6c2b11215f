/**
 * The PostgreSQL store, on a `pg.Pool`. Queries are parameterized (and prepared per connection,
 * named by a hash of their text); write programs run on one checked-out client between BEGIN
 * and COMMIT (ROLLBACK on any error). With a `schema`, every pool connection sets its
 * `search_path` to it, and {@link PostgresStore.migrate} creates it.
 *
 * Encoding: timestamps are `timestamptz` (read back as Dates), booleans `boolean`, node
 * documents `jsonb`, `job_options.env` JSON text.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import {
  CREATE_MIGRATIONS_TABLE,
  LATEST_VERSION,
  RECORD_MIGRATION,
  SELECT_APPLIED,
  pendingMigrations,
} from './migrations.js';
import { driveAsync, toPostgresPlaceholders, type Program, type SqlOp } from './program.js';
import { SqlStore } from './sql-store.js';
import type { Store } from './types.js';
import { isTransientPostgresError, unavailable } from './unavailable.js';

/** Options of {@link PostgresStore}. */
export interface PostgresStoreOptions {
  /** The schema holding the tables (created by migrate); default: the server's search_path. */
  schema?: string;
  /** Pool size (default 10). */
  max?: number;
  /** How long to wait for a new connection before failing, in ms (default 5000). */
  connectionTimeoutMs?: number;
}

/** A key for `pg_advisory_lock`, so concurrent servers migrate one at a time. */
const MIGRATION_LOCK = 0x70757368; // "push"

/** `name` quoted as an SQL identifier; only plain identifiers are accepted. */
export function quoteIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name))
    throw new TypeError(`invalid schema name ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** The PostgreSQL {@link Store}. */
export class PostgresStore extends SqlStore implements Store {
  /** Always `postgres`. */
  readonly kind = 'postgres' as const;
  /** The schema, when one was given. */
  readonly schema: string | undefined;
  /** The connection URL (cluster mode opens its own connections with it). */
  readonly connectionString: string;
  private readonly pool: pg.Pool;
  private readonly texts = new Map<string, { name: string; text: string }>();

  /** Creates the pool (connections open lazily). Call {@link PostgresStore.migrate} before use. */
  constructor(connectionString: string, options: PostgresStoreOptions = {}) {
    super();
    this.schema = options.schema;
    this.connectionString = connectionString;
    const searchPath = options.schema === undefined ? undefined : quoteIdentifier(options.schema);
    // The schema is chosen at connection start-up (`options=-c search_path=...`), so no query
    // has to run before the first one on a new connection.
    this.pool = new pg.Pool({
      connectionString,
      max: options.max ?? 10,
      // An unreachable database fails a request in seconds instead of hanging it (a dropped
      // host never answers a SYN), and a dead peer is noticed on idle connections.
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
      keepAlive: true,
      ...(searchPath === undefined ? {} : { options: `-c search_path=${searchPath}` }),
    });
    // An idle client's error (e.g. the server restarted) must not crash the process; the
    // pool discards that client and the next query gets a fresh one.
    this.pool.on('error', () => undefined);
  }

  /** Applies pending migrations, each in its own transaction; returns the schema version. */
  async migrate(): Promise<number> {
    const client = await this.pool.connect();
    // A connection lost here fails the migration (the query rejects) instead of ending the process.
    const ignore = (): void => undefined;
    client.on('error', ignore);
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        if (this.schema !== undefined) {
          const schema = quoteIdentifier(this.schema);
          await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
          await client.query(`SET search_path TO ${schema}`);
        }
        await client.query(CREATE_MIGRATIONS_TABLE);
        const applied = (await client.query<{ version: number }>(SELECT_APPLIED)).rows.map(
          (row) => row.version,
        );
        for (const migration of pendingMigrations(applied)) {
          await client.query('BEGIN');
          try {
            await client.query(migration.postgres);
            await client.query(toPostgresPlaceholders(RECORD_MIGRATION), [
              migration.version,
              migration.name,
              new Date().toISOString(),
            ]);
            await client.query('COMMIT');
          } catch (error) {
            await client.query('ROLLBACK');
            throw error;
          }
        }
        const row = (
          await client.query<{ version: number | null }>(
            'SELECT max(version) AS version FROM schema_migrations',
          )
        ).rows[0];
        return row?.version ?? LATEST_VERSION;
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } finally {
      client.removeListener('error', ignore);
      client.release();
    }
  }

  /** Closes every pooled connection. */
  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  protected async read<T>(program: Program<T>): Promise<T> {
    try {
      return await driveAsync(program, (op) => this.execute(this.pool, op));
    } catch (error) {
      throw this.classify(error);
    }
  }

  /**
   * Runs a write program between BEGIN and COMMIT on one checked-out client. While the client
   * is checked out it has an `error` listener: a connection that dies between two statements
   * (failover, restart, `pg_terminate_backend`, `idle_in_transaction_session_timeout`) emits
   * `error`, which would otherwise be an unhandled event that ends the process. The transaction
   * then fails with {@link StoreUnavailableError} and the broken client is discarded.
   */
  protected async write<T>(program: Program<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.classify(error);
    }
    let broken = false;
    const onError = (): void => {
      broken = true;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await driveAsync(program, (op) => this.execute(client, op));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      if (!broken) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
      }
      throw this.classify(error);
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  /** A transient failure as {@link StoreUnavailableError}; anything else unchanged. */
  private classify(error: unknown): unknown {
    return isTransientPostgresError(error) ? unavailable('PostgreSQL', error) : error;
  }

  /** A named query for `sql`: its PostgreSQL text and a name from its hash. */
  private query(sql: string): { name: string; text: string } {
    let query = this.texts.get(sql);
    if (query === undefined) {
      const text = toPostgresPlaceholders(sql);
      query = { name: `pj_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`, text };
      this.texts.set(sql, query);
    }
    return query;
  }

  protected async execute(on: pg.Pool | pg.PoolClient, op: SqlOp): Promise<unknown> {
    const result = await on.query({ ...this.query(op.sql), values: [...op.params] });
    switch (op.kind) {
      case 'all':
        return result.rows;
      case 'get':
        return result.rows[0];
      case 'run':
        return result.rowCount ?? 0;
    }
  }
}
