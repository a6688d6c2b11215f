import { makeOrgGuid } from '@push-jobs/protocol/internal';
import { dropSchema, PG_URL, schemaName, withPg } from '@push-jobs/testing';
import { expect } from 'chai';
import type pg from 'pg';
import {
  LATEST_VERSION,
  PostgresStore,
  StoreUnavailableError,
  openStore,
  type Store,
} from '../src/store/index.js';
import type { SqlOp } from '../src/store/program.js';
import { storeContract } from './store/contract.js';

describe('store: postgres', function () {
  before(async function () {
    try {
      await withPg((client) => client.query('SELECT 1'));
    } catch (error) {
      throw new Error(
        `PostgreSQL is not reachable at ${PG_URL} (set PUSH_JOBS_TEST_PG_URL): ${String(error)}`,
      );
    }
  });

  const schemas = new Map<Store, string>();

  storeContract(
    'postgres',
    async () => {
      const schema = schemaName('pj_test_');
      const store = await openStore(PG_URL, { schema });
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
      const schema = schemaName('pj_test_');
      const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
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
        const tables = await withPg((client) =>
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
        await openStore(PG_URL, { schema: 'x"; DROP TABLE y; --' });
      } catch (error) {
        failed = true;
        expect(String(error)).to.match(/invalid schema name/);
      }
      expect(failed).to.equal(true);
    });

    it('survives its connection dropped in the middle of a transaction, and carries on', async function () {
      // Before: a checked-out client had no `error` listener; `pg_terminate_backend` of a
      // backend idle in transaction (a failover, a restart, idle_in_transaction_session_timeout)
      // was an unhandled 'error' event and ended the process.
      const schema = schemaName('pj_test_');
      let paused: (() => void) | undefined;
      let atPause: ((pid: number) => void) | undefined;
      let backendPid = 0;
      /** Holds the transaction open (idle in transaction) before the job update, until told. */
      class PausingStore extends PostgresStore {
        protected override async execute(on: pg.Pool | pg.PoolClient, op: SqlOp): Promise<unknown> {
          if (atPause !== undefined && op.sql.startsWith('UPDATE jobs SET status')) {
            const reached = atPause;
            atPause = undefined;
            backendPid = (await on.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
            await new Promise<void>((resolve) => {
              paused = resolve;
              reached(backendPid);
            });
          }
          return super.execute(on, op);
        }
      }
      const store = new PausingStore(PG_URL, { schema });
      try {
        await store.migrate();
        const org = await store.createOrg({ name: 'acme', guid: makeOrgGuid(), fullName: 'Acme' });
        const job = await store.createJob({
          id: `${org.guid.slice(0, 24)}00000001`,
          orgName: 'acme',
          command: 'x',
          status: 'new',
          runTimeout: 60,
          quorum: 1,
          createdBy: 'alice',
          createdAt: new Date(),
          nodes: ['n1'],
          options: {},
        });
        const reached = new Promise<number>((resolve) => (atPause = resolve));
        const write = store.updateJobStatus('acme', job.id, 'voting', new Date(), 'x');
        const pid = await reached;
        await withPg(async (client) => {
          await client.query('SELECT pg_terminate_backend($1)', [pid]);
          // Wait until the backend is gone (the client has seen its connection end).
          for (;;) {
            const { rows } = await client.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
            if (rows.length === 0) break;
          }
        });
        paused!();
        let error: unknown;
        await write.catch((e: unknown) => (error = e));
        expect(error).to.be.instanceOf(StoreUnavailableError);
        // Nothing of the failed transaction landed; the store works again on a new connection.
        expect((await store.getJob('acme', job.id))?.status).to.equal('new');
        expect(await store.updateJobStatus('acme', job.id, 'voting', new Date(), 'x')).to.equal(true);
        expect((await store.getJob('acme', job.id))?.status).to.equal('voting');
      } finally {
        await store.close();
        await dropSchema(schema);
      }
    });

    it('an unreachable database fails fast with StoreUnavailableError', async function () {
      // A port where nothing listens: connection refused.
      const store = new PostgresStore('postgres://postgres@127.0.0.1:1/test', { connectionTimeoutMs: 2000 });
      try {
        for (const attempt of [
          store.getOrg('acme'),
          store.createOrg({ name: 'a', guid: makeOrgGuid(), fullName: 'A' }),
        ]) {
          let error: unknown;
          await attempt.catch((e: unknown) => (error = e));
          expect(error).to.be.instanceOf(StoreUnavailableError);
        }
      } finally {
        await store.close();
      }
    });
  });
});
