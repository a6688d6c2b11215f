// The PostgreSQL the tests use (CI provides it), and what tests need to share it: an org name no
// other test uses, a schema of a test's own.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** `PUSH_JOBS_TEST_DATABASE_URL`, or the local trust-auth database `test`. */
export const PG_URL = process.env.PUSH_JOBS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** An org name no other test (or earlier run) used: users and orgs are global in a database. */
export function uniqueOrg(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** A new schema name starting with `prefix`, for a test that needs a database of its own. */
export function schemaName(prefix = 'pj_e2e_'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

/** {@link PG_URL} with a schema of its own, and its host and port replaced when `port` is given. */
export function schemaUrl(schema: string, port?: number): string {
  const url = new URL(PG_URL);
  if (port !== undefined) {
    url.hostname = '127.0.0.1';
    url.port = String(port);
  }
  url.searchParams.set('schema', schema);
  return url.toString();
}

/** Runs `fn` on a connection of its own to {@link PG_URL} (5 s to connect), closed after. */
export async function withPg<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Drops a schema made for one test, with everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  await withPg((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}
