/**
 * The embedded store: SQLite through better-sqlite3 (WAL, foreign keys on, a busy timeout).
 * Statements are prepared once and cached by their text; write programs run synchronously
 * inside `db.transaction()`, so a failure rolls everything back.
 *
 * Encoding: timestamps are INTEGER milliseconds since the epoch (UTC), booleans 0/1, JSON as
 * text.
 *
 * @module
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import {
  CREATE_MIGRATIONS_TABLE,
  LATEST_VERSION,
  RECORD_MIGRATION,
  SELECT_APPLIED,
  pendingMigrations,
} from './migrations.js';
import { driveSync, type Program, type SqlOp, type SqlParam } from './program.js';
import { SqlStore } from './sql-store.js';
import type { Store } from './types.js';
import { isSqliteBusyError, unavailable } from './unavailable.js';

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * How long an operation waits for another connection's lock, in ms (default 5000). The wait
   * does not block the event loop: each attempt waits at most {@link BUSY_SLICE_MS}
   * synchronously, then the store yields and tries again; after this long it fails with
   * {@link StoreUnavailableError}.
   */
  busyTimeoutMs?: number;
}

/**
 * The longest a single attempt blocks the event loop on a locked database (SQLite's own busy
 * handler, which sleeps synchronously inside better-sqlite3).
 */
export const BUSY_SLICE_MS = 20;

/** Pause between attempts on a locked database: doubling from 5 ms up to this. */
const MAX_BUSY_PAUSE_MS = 200;

/** A value as better-sqlite3 binds it. */
type SqliteValue = string | number | Buffer | null;

function encode(param: SqlParam): SqliteValue {
  if (param instanceof Date) return param.getTime();
  if (typeof param === 'boolean') return param ? 1 : 0;
  return param;
}

/** The SQLite {@link Store}. */
export class SqliteStore extends SqlStore implements Store {
  /** Always `sqlite`. */
  readonly kind = 'sqlite' as const;
  /** The database file (or `:memory:`). */
  readonly path: string;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement<SqliteValue[]>>();
  private readonly busyTimeoutMs: number;

  /**
   * Opens (creating if needed) the database file and its parent directory. Call
   * {@link SqliteStore.migrate} before use.
   */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    super();
    this.path = path;
    if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    this.busyTimeoutMs = Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000));
    this.db.pragma(`busy_timeout = ${Math.min(BUSY_SLICE_MS, this.busyTimeoutMs)}`);
    this.db.pragma('synchronous = NORMAL');
  }

  /** The current journal mode (`wal` for a file database). */
  journalMode(): string {
    return String(this.db.pragma('journal_mode', { simple: true }));
  }

  /** Applies pending migrations, each in its own transaction; returns the schema version. */
  async migrate(): Promise<number> {
    this.db.exec(CREATE_MIGRATIONS_TABLE);
    const applied = (this.db.prepare(SELECT_APPLIED).all() as { version: number }[]).map(
      (row) => row.version,
    );
    for (const migration of pendingMigrations(applied)) {
      this.db
        .transaction(() => {
          // Another process may have applied it while this one waited for the write lock.
          if (this.db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(migration.version))
            return;
          this.db.exec(migration.sqlite);
          this.db.prepare(RECORD_MIGRATION).run(migration.version, migration.name, new Date().toISOString());
        })
        .immediate();
    }
    const row = this.db.prepare('SELECT max(version) AS version FROM schema_migrations').get() as {
      version: number | null;
    };
    return row.version ?? LATEST_VERSION;
  }

  /** Closes the database. */
  async close(): Promise<void> {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }

  protected read<T>(program: Program<T>): Promise<T> {
    return this.whenUnlocked(program, (p) => driveSync(p, (op) => this.execute(op)));
  }

  protected write<T>(program: Program<T>): Promise<T> {
    return this.whenUnlocked(program, (p) =>
      this.db.transaction(() => driveSync(p, (op) => this.execute(op))).immediate(),
    );
  }

  /**
   * Runs `attempt`; while the database is locked by another connection before `program` has
   * started (BEGIN IMMEDIATE, or a read's first statement), waits without blocking and tries
   * again, for up to `busyTimeoutMs` in all. A lock met after the program started (it cannot be
   * replayed) or past the deadline fails with {@link StoreUnavailableError}.
   */
  private async whenUnlocked<T>(program: Program<T>, attempt: (p: Program<T>) => T): Promise<T> {
    const deadline = Date.now() + this.busyTimeoutMs;
    let started = false;
    const tracked = (function* (): Program<T> {
      started = true;
      return yield* program;
    })();
    for (let wait = 5; ; wait = Math.min(wait * 2, MAX_BUSY_PAUSE_MS)) {
      try {
        return attempt(tracked);
      } catch (error) {
        if (!isSqliteBusyError(error)) throw error;
        if (started || Date.now() >= deadline) throw unavailable('SQLite', error);
      }
      await sleep(wait, undefined, { ref: false });
    }
  }

  private statement(sql: string): Database.Statement<SqliteValue[]> {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare<SqliteValue[]>(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private execute(op: SqlOp): unknown {
    const statement = this.statement(op.sql);
    const params = op.params.map(encode);
    switch (op.kind) {
      case 'all':
        return statement.all(...params);
      case 'get':
        return statement.get(...params);
      case 'run':
        return statement.run(...params).changes;
    }
  }
}
