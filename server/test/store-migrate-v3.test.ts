/**
 * Migration 3 (job search, rollouts, node results) on a database that already holds jobs: the
 * data stays, node states survive the SQLite rebuild of `job_nodes`, and the new statuses and
 * columns work afterwards. Both databases.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeJobId, makeOrgGuid } from '@push-jobs/protocol/internal';
import { dropSchema, PG_URL, schemaName, withPg } from '@push-jobs/testing';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { CREATE_MIGRATIONS_TABLE, MIGRATIONS, RECORD_MIGRATION } from '../src/store/migrations.js';
import { LATEST_VERSION, openStore, type Store } from '../src/store/index.js';

const guid = makeOrgGuid();
const jobId = makeJobId(guid);
const before3 = MIGRATIONS.filter((m) => m.version < 3);

/** What the database held before migration 3: one org, one job on two nodes (succeeded, failed). */
async function checkMigrated(store: Store): Promise<void> {
  expect(await store.migrate()).to.equal(LATEST_VERSION);
  const job = (await store.getJob('acme', jobId))!;
  expect(job.status).to.equal('complete');
  expect(job.search).to.equal(undefined);
  expect(job.options).to.deep.equal({ dir: '/srv' });
  expect(job.nodes.map((n) => [n.name, n.status, n.result])).to.deep.equal([
    ['n1', 'succeeded', undefined],
    ['n2', 'failed', undefined],
  ]);
  expect(
    await store.updateJobNodeResults(
      'acme',
      jobId,
      new Map([['n2', { exitStatus: 2, signal: null, startedAt: null, endedAt: null }]]),
    ),
  ).to.equal(1);
  const later = await store.createJob({
    id: makeJobId(guid),
    orgName: 'acme',
    command: 'true',
    status: 'running',
    runTimeout: 60,
    quorum: 1,
    createdBy: 'alice',
    createdAt: new Date(),
    nodes: ['n1'],
    options: { maxConcurrency: 1 },
    search: 'name:n*',
  });
  expect(await store.updateJobNodes('acme', later.id, ['n1'], 'skipped', new Date())).to.equal(1);
  expect(await store.updateJobStatus('acme', later.id, 'max_errors_exceeded', new Date(), 'x')).to.equal(
    true,
  );
  const read = (await store.getJob('acme', later.id))!;
  expect([read.status, read.search, read.nodes[0]!.status]).to.deep.equal([
    'max_errors_exceeded',
    'name:n*',
    'skipped',
  ]);
}

describe('store migration 3 on existing data', function () {
  it('sqlite: rebuilds job_nodes keeping every row', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'pj-mig3-'));
    const file = join(dir, 'db.sqlite');
    try {
      const db = new Database(file);
      db.pragma('foreign_keys = ON');
      db.exec(CREATE_MIGRATIONS_TABLE);
      for (const m of before3) {
        db.exec(m.sqlite);
        db.prepare(RECORD_MIGRATION).run(m.version, m.name, new Date().toISOString());
      }
      const t = Date.parse('2026-01-01T00:00:00Z');
      db.prepare('INSERT INTO orgs (guid, name, full_name, created_at) VALUES (?, ?, ?, ?)').run(
        guid,
        'acme',
        'Acme',
        t,
      );
      db.prepare(
        `INSERT INTO jobs (id, org_id, command, status, run_timeout, quorum, last_updated_by, created_by, created_at, updated_at)
         VALUES (?, ?, 'chef-client', 2, 3600, 2, 'alice', 'alice', ?, ?)`,
      ).run(jobId, guid, t, t);
      db.prepare("INSERT INTO job_options (job_id, dir) VALUES (?, '/srv')").run(jobId);
      const node = db.prepare(
        'INSERT INTO job_nodes (job_id, org_id, node_name, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      );
      node.run(jobId, guid, 'n1', 3, t, t);
      node.run(jobId, guid, 'n2', 4, t, t);
      db.close();
      const store = await openStore(file);
      try {
        await checkMigrated(store);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('postgres: widens the status check and adds the columns', async function () {
    const schema = schemaName('pj_mig3_');
    try {
      await withPg(async (client) => {
        await client.query(`CREATE SCHEMA ${schema}`);
        await client.query(`SET search_path TO ${schema}`);
        await client.query(CREATE_MIGRATIONS_TABLE);
        for (const m of before3) {
          await client.query(m.postgres);
          await client.query(
            'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
            [m.version, m.name, new Date().toISOString()],
          );
        }
        const t = new Date('2026-01-01T00:00:00Z');
        await client.query('INSERT INTO orgs (guid, name, full_name, created_at) VALUES ($1, $2, $3, $4)', [
          guid,
          'acme',
          'Acme',
          t,
        ]);
        await client.query(
          `INSERT INTO jobs (id, org_id, command, status, run_timeout, quorum, last_updated_by, created_by, created_at, updated_at)
           VALUES ($1, $2, 'chef-client', 2, 3600, 2, 'alice', 'alice', $3, $3)`,
          [jobId, guid, t],
        );
        await client.query("INSERT INTO job_options (job_id, dir) VALUES ($1, '/srv')", [jobId]);
        for (const [name, status] of [
          ['n1', 3],
          ['n2', 4],
        ] as const) {
          await client.query(
            'INSERT INTO job_nodes (job_id, org_id, node_name, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)',
            [jobId, guid, name, status, t],
          );
        }
      });
      const store = await openStore(PG_URL, { schema });
      try {
        await checkMigrated(store);
      } finally {
        await store.close();
      }
    } finally {
      await dropSchema(schema);
    }
  });
});
