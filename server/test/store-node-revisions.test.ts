// Node revisions (schema version 4) on SQLite and PostgreSQL: migrating a version 3 database
// that holds nodes, revisions and tombstones kept by any writer, the order of revisions of
// concurrent PostgreSQL transactions, and the search indexes built on them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import pg from 'pg';
import { makeOrgGuid } from '@push-jobs/protocol/internal';
import { dropSchema, PG_URL, schemaName, waitForValue } from '@push-jobs/testing';
import { OrgSearchIndexes } from '../src/search/org-indexes.js';
import {
  CREATE_MIGRATIONS_TABLE,
  LATEST_VERSION,
  MIGRATIONS,
  RECORD_MIGRATION,
} from '../src/store/migrations.js';
import { PostgresStore, SqliteStore, type Store } from '../src/store/index.js';
import type { NodeDocument } from '../src/store/types.js';

function node(name: string, tags: string[] = []): NodeDocument {
  return {
    name,
    chef_environment: '_default',
    json_class: 'Chef::Node',
    chef_type: 'node',
    run_list: [],
    normal: { tags },
    default: {},
    override: {},
    automatic: {},
  };
}

const V3 = MIGRATIONS.filter((m) => m.version <= 3);
const GUID_A = makeOrgGuid();
const GUID_B = makeOrgGuid();

/** SQL for a version 3 database with two orgs and their nodes (both dialects accept it). */
function seedSql(now: string): string[] {
  const rows: string[] = [];
  for (const [guid, name, count] of [
    [GUID_A, 'a', 3],
    [GUID_B, 'b', 2],
  ] as const) {
    rows.push(
      `INSERT INTO orgs (guid, name, full_name, created_at) VALUES ('${guid}', '${name}', '${name}', ${now})`,
    );
    for (let i = 0; i < count; i++) {
      const doc = JSON.stringify(node(`n${i}`, ['old'])).replace(/'/g, "''");
      rows.push(
        `INSERT INTO nodes (org_id, name, document, updated_at) VALUES ('${guid}', 'n${i}', '${doc}', ${now})`,
      );
    }
  }
  return rows;
}

/** What both dialects must show after migrating a version 3 database to 4. */
async function checkMigrated(store: Store): Promise<void> {
  const a = await store.nodeChanges(GUID_A, 0, 100);
  const b = await store.nodeChanges(GUID_B, 0, 100);
  expect(a.map((c) => c.name)).to.have.members(['n0', 'n1', 'n2']);
  expect(b.map((c) => c.name)).to.have.members(['n0', 'n1']);
  const revisions = a.map((c) => c.revision);
  expect(new Set(revisions).size, 'distinct revisions').to.equal(3);
  expect(Math.min(...revisions)).to.be.greaterThan(0);
  // Later writes come after every migrated revision, and only they are new.
  const top = Math.max(...revisions);
  await store.putNode('a', node('n1', ['new']));
  const after = await store.nodeChanges(GUID_A, top, 100);
  expect(after.map((c) => [c.name, c.node?.normal.tags])).to.deep.equal([['n1', ['new']]]);
  expect(after[0]!.revision).to.be.greaterThan(top);
  // Paging by revision: pages of one return the three nodes once each.
  const seen: string[] = [];
  let since = 0;
  for (;;) {
    const page = await store.nodeChanges(GUID_A, since, 1);
    if (page.length === 0) break;
    seen.push(page[0]!.name);
    since = page[0]!.revision;
  }
  expect(seen).to.have.members(['n0', 'n1', 'n2']).and.have.length(3);
}

/** What both dialects must do with revisions and tombstones. */
function revisionContract(open: () => Promise<Store>, close: (s: Store) => Promise<void>): void {
  let store: Store;
  let guid: string;
  beforeEach(async () => {
    store = await open();
    guid = (await store.createOrg({ name: 'acme', guid: makeOrgGuid(), fullName: 'Acme' })).guid;
  });
  afterEach(() => close(store));

  it('gives every write the next revision of its org, and a delete a tombstone', async () => {
    await store.createNode('acme', node('a'));
    await store.createNode('acme', node('b'));
    await store.putNode('acme', node('a', ['x']));
    const all = await store.nodeChanges(guid, 0, 100);
    expect(all.map((c) => c.name)).to.deep.equal(['b', 'a']);
    expect(all[1]!.node!.normal.tags).to.deep.equal(['x']);
    const top = all[1]!.revision;
    expect(top).to.be.greaterThan(all[0]!.revision);
    expect(await store.nodeChanges(guid, top, 100)).to.deep.equal([]);

    await store.deleteNode('acme', 'b');
    const deleted = await store.nodeChanges(guid, top, 100);
    expect(deleted).to.have.length(1);
    expect(deleted[0]).to.include({ name: 'b' });
    expect(deleted[0]!.node).to.equal(undefined);

    // Made again: the node, not its tombstone.
    await store.putNode('acme', node('b', ['back']));
    const back = await store.nodeChanges(guid, 0, 100);
    expect(back.map((c) => [c.name, c.node === undefined])).to.deep.equal([
      ['a', false],
      ['b', false],
    ]);
  });

  it('keeps orgs apart, and deleting an org leaves no revision or tombstone behind', async () => {
    const other = (await store.createOrg({ name: 'other', guid: makeOrgGuid(), fullName: 'O' })).guid;
    await store.createNode('acme', node('a'));
    await store.createNode('other', node('z'));
    await store.deleteNode('other', 'z');
    expect((await store.nodeChanges(guid, 0, 100)).map((c) => c.name)).to.deep.equal(['a']);
    expect((await store.nodeChanges(other, 0, 100)).map((c) => c.name)).to.deep.equal(['z']);
    await store.createNode('other', node('y'));
    expect(await store.deleteOrg('other')).to.equal(true);
    expect(await store.nodeChanges(other, 0, 100)).to.deep.equal([]);
  });

  it('an index over the store pages through changes and stays current', async () => {
    for (let i = 0; i < 7; i++) await store.putNode('acme', node(`n${i}`, i % 2 === 0 ? ['even'] : []));
    const indexes = new OrgSearchIndexes(store, { pageSize: 2, sliceMs: 0 });
    const [first, second] = await Promise.all([indexes.current(guid), indexes.current(guid)]);
    expect(first).to.equal(second);
    expect(first.matchNames('tags:even')).to.deep.equal(['n0', 'n2', 'n4', 'n6']);
    await store.deleteNode('acme', 'n0');
    await store.putNode('acme', node('n1', ['even']));
    const index = await indexes.current(guid);
    expect(index.size).to.equal(6);
    expect(index.matchNames('tags:even')).to.deep.equal(['n1', 'n2', 'n4', 'n6']);
    const last = await store.nodeChanges(guid, indexes.revision(guid), 100);
    expect(last, 'nothing left past the index revision').to.deep.equal([]);
  });
}

describe('store: node revisions (sqlite)', function () {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pj-rev-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('migrates a version 3 database holding nodes to version 4', async () => {
    const file = join(dir, 'v3.sqlite');
    const db = new Database(file);
    db.pragma('foreign_keys = ON');
    db.exec(CREATE_MIGRATIONS_TABLE);
    for (const m of V3) {
      db.exec(m.sqlite);
      db.prepare(RECORD_MIGRATION).run(m.version, m.name, new Date().toISOString());
    }
    for (const sql of seedSql(String(Date.now()))) db.exec(sql);
    db.close();
    const store = new SqliteStore(file);
    try {
      expect(await store.migrate()).to.equal(LATEST_VERSION);
      await checkMigrated(store);
    } finally {
      await store.close();
    }
  });

  describe('revisions', () => {
    const dirs: string[] = [];
    revisionContract(
      async () => {
        const d = mkdtempSync(join(tmpdir(), 'pj-rev-'));
        dirs.push(d);
        const store = new SqliteStore(join(d, 'db.sqlite'));
        await store.migrate();
        return store;
      },
      async (store) => {
        await store.close();
        for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
      },
    );
  });
});

describe('store: node revisions (postgres)', function () {
  this.timeout(30_000);
  const schemas = new Map<Store, string>();

  it('migrates a version 3 database holding nodes to version 4', async () => {
    const schema = schemaName('pj_rev_');
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA "${schema}"`);
      await client.query(`SET search_path TO "${schema}"`);
      await client.query(CREATE_MIGRATIONS_TABLE);
      for (const m of V3) {
        await client.query(m.postgres);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          new Date().toISOString(),
        ]);
      }
      for (const sql of seedSql('now()')) await client.query(sql);
    } finally {
      await client.end();
    }
    const store = new PostgresStore(PG_URL, { schema });
    try {
      expect(await store.migrate()).to.equal(LATEST_VERSION);
      await checkMigrated(store);
    } finally {
      await store.close();
      await dropSchema(schema);
    }
  });

  it('hands out revisions in commit order: a writer waits for the one before it', async () => {
    const schema = schemaName('pj_rev_');
    const store = new PostgresStore(PG_URL, { schema });
    await store.migrate();
    const guid = (await store.createOrg({ name: 'acme', guid: makeOrgGuid(), fullName: 'A' })).guid;
    const connect = async (): Promise<pg.Client> => {
      const c = new pg.Client({ connectionString: PG_URL, application_name: `pj-rev-${schema}` });
      await c.connect();
      await c.query(`SET search_path TO "${schema}"`);
      return c;
    };
    const first = await connect();
    const second = await connect();
    const insert = 'INSERT INTO nodes (org_id, name, document, updated_at) VALUES ($1, $2, $3, now())';
    try {
      await first.query('BEGIN');
      await first.query(insert, [guid, 'first', JSON.stringify(node('first'))]);
      await second.query('BEGIN');
      const secondInsert = second.query(insert, [guid, 'second', JSON.stringify(node('second'))]);
      // The second writer waits on the org's counter row until the first commits.
      await waitForValue('the second writer to wait for a lock', async () => {
        const { rows } = await first.query(
          `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [`pj-rev-${schema}`],
        );
        return rows.length > 0 ? true : undefined;
      });
      expect(await store.nodeChanges(guid, 0, 100)).to.deep.equal([]);
      await first.query('COMMIT');
      await secondInsert;
      const afterFirst = await store.nodeChanges(guid, 0, 100);
      expect(afterFirst.map((c) => c.name)).to.deep.equal(['first']);
      await second.query('COMMIT');
      const both = await store.nodeChanges(guid, 0, 100);
      expect(both.map((c) => c.name)).to.deep.equal(['first', 'second']);
      expect(both[1]!.revision).to.be.greaterThan(both[0]!.revision);
    } finally {
      await first.end();
      await second.end();
      await store.close();
      await dropSchema(schema);
    }
  });

  describe('revisions', () => {
    revisionContract(
      async () => {
        const schema = schemaName('pj_rev_');
        const store = new PostgresStore(PG_URL, { schema });
        await store.migrate();
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
  });
});
