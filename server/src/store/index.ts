/**
 * Opening a store from a database URL, and the store types.
 *
 * @example
 * ```ts
 * const store = await openStore('push-jobs.sqlite3', { dataDir: '/var/lib/push-jobs' });
 * const org = await store.createOrg({ name: 'acme', guid: makeOrgGuid(), fullName: 'Acme' });
 * await store.close();
 * ```
 *
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import { isPostgresUrl } from '@push-jobs/protocol/internal';
import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export * from './types.js';
export { StoreUnavailableError } from './unavailable.js';
export { MIGRATIONS, LATEST_VERSION, type Migration } from './migrations.js';
export { PostgresStore, type PostgresStoreOptions } from './postgres.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite.js';

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** The directory a relative SQLite path is resolved against (default: the working directory). */
  dataDir?: string;
  /** The PostgreSQL schema (overrides a `schema` query parameter of the URL). */
  schema?: string;
}

/**
 * Opens the store `databaseUrl` names and applies pending migrations: a `postgres://` or
 * `postgresql://` URL opens a {@link PostgresStore} (its `schema` query parameter, or
 * `opts.schema`, selects the schema); anything else is a SQLite file path (`:memory:` too),
 * relative to `opts.dataDir`.
 */
export async function openStore(databaseUrl: string, opts: OpenStoreOptions = {}): Promise<Store> {
  let store: Store;
  if (isPostgresUrl(databaseUrl)) {
    const url = new URL(databaseUrl);
    const schema = opts.schema ?? url.searchParams.get('schema') ?? undefined;
    url.searchParams.delete('schema');
    store = new PostgresStore(url.toString(), schema === undefined ? {} : { schema });
  } else {
    const path =
      databaseUrl === ':memory:' || isAbsolute(databaseUrl)
        ? databaseUrl
        : resolve(opts.dataDir ?? '.', databaseUrl);
    store = new SqliteStore(path);
  }
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
