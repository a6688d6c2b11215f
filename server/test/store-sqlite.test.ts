import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeOrgGuid } from '@push-jobs/protocol/internal';
import { expect } from 'chai';
import { LATEST_VERSION, SqliteStore, openStore, type Store } from '../src/store/index.js';
import { storeContract } from './store/contract.js';

const dirs = new Map<Store, string>();

storeContract(
  'sqlite',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pj-store-'));
    const store = await openStore('nested/dir/push-jobs.sqlite3', { dataDir: dir });
    dirs.set(store, dir);
    return store;
  },
  async (store) => {
    await store.close();
    const dir = dirs.get(store);
    dirs.delete(store);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  },
);

describe('store: sqlite specifics', function () {
  let dir: string;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'pj-store-'));
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens a relative path under dataDir, creating the directory, in WAL mode', async function () {
    const store = await openStore('a/b/db.sqlite3', { dataDir: dir });
    try {
      expect(store).to.be.instanceOf(SqliteStore);
      expect(store.kind).to.equal('sqlite');
      const sqlite = store as SqliteStore;
      expect(sqlite.path).to.equal(join(dir, 'a/b/db.sqlite3'));
      expect(sqlite.journalMode()).to.equal('wal');
    } finally {
      await store.close();
    }
  });

  it('keeps the data when the file is reopened, and migrating again is a no-op', async function () {
    const path = join(dir, 'db.sqlite3');
    const first = new SqliteStore(path);
    expect(await first.migrate()).to.equal(LATEST_VERSION);
    const org = await first.createOrg({ name: 'acme', guid: makeOrgGuid(), fullName: 'Acme' });
    await first.createUser({ name: 'bob', displayName: 'Bob', email: 'b@x' });
    await first.close();

    const second = new SqliteStore(path);
    try {
      expect(await second.migrate()).to.equal(LATEST_VERSION);
      expect(await second.migrate()).to.equal(LATEST_VERSION);
      expect(await second.getOrg('acme')).to.deep.equal(org);
      expect((await second.listUsers()).map((u) => u.name)).to.deep.equal(['bob']);
    } finally {
      await second.close();
    }
  });

  it('works in memory', async function () {
    const store = await openStore(':memory:');
    try {
      await store.createOrg({ name: 'acme', guid: makeOrgGuid(), fullName: 'Acme' });
      expect((await store.listOrgs()).map((o) => o.name)).to.deep.equal(['acme']);
    } finally {
      await store.close();
    }
  });
});
