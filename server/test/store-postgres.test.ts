import { randomBytes } from 'node:crypto';
import { makeOrgGuid } from '@push-jobs/protocol';
import { expect } from 'chai';
import pg from 'pg';
import { LATEST_VERSION, PostgresStore, openStore, type Store } from '../src/store/index.js';
import { storeContract } from './store/contract.js';

const DATABASE_URL = process.env.PUSH_JOBS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh schema name for one store. */
function schemaName(): string {
  return `pj_test_${randomBytes(6).toString('hex')}`;
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function dropSchema(schema: string): Promise<void> {
  await withAdmin((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

describe('store: postgres', function () {
  before(async function () {
    try {
      await withAdmin((client) => client.query('SELECT 1'));
    } catch (error) {
      throw new Error(
        `PostgreSQL is not reachable at ${DATABASE_URL} (set PUSH_JOBS_TEST_DATABASE_URL): ${String(error)}`,
      );
    }
  });

  const schemas = new Map<Store, string>();

  storeContract(
    'postgres',
    async () => {
      const schema = schemaName();
      const store = await openStore(DATABASE_URL, { schema });
      schemas.set(store, schema);
      return store;
    },
    async (store) => {
      await store.close();
      const schema = schemas.get(store);
      schemas.delete(store);
      if (schema !== undefined) await dropSchema(schema);
    },
  );

  describe('postgres specifics', function () {
    it('takes the schema from the URL, creates it, and keeps data across reopening', async function () {
      const schema = schemaName();
      const url = `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}schema=${schema}`;
      try {
        const first = await openStore(url);
        expect(first).to.be.instanceOf(PostgresStore);
        expect((first as PostgresStore).schema).to.equal(schema);
        const org = await first.createOrg({ name: 'acme', guid: makeOrgGuid(), fullName: 'Acme' });
        await first.close();
        const second = await openStore(url);
        try {
          expect(await second.migrate()).to.equal(LATEST_VERSION);
          expect(await second.getOrg('acme')).to.deep.equal(org);
        } finally {
          await second.close();
        }
        const tables = await withAdmin((client) =>
          client.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1',
            [schema],
          ),
        );
        expect(tables.rows[0]?.n).to.be.greaterThan(10);
      } finally {
        await dropSchema(schema);
      }
    });

    it('rejects an unsafe schema name', async function () {
      let failed = false;
      try {
        await openStore(DATABASE_URL, { schema: 'x"; DROP TABLE y; --' });
      } catch (error) {
        failed = true;
        expect(String(error)).to.match(/invalid schema name/);
      }
      expect(failed).to.equal(true);
    });
  });
});
