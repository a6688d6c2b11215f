// Job creation by search and the search index over node revisions, on SQLite and PostgreSQL:
// the real app and store, signed requests through Fastify's inject; node writes made behind the
// server's back with SQL on a connection of their own, as another server or the node import
// command would.
import Database from 'better-sqlite3';
import { expect } from 'chai';
import pg from 'pg';
import { PG_URL } from '@push-jobs/testing';
import { PushFixture } from '@push-jobs/testing/push-server';
import { startApi, type ApiHarness } from './helpers/api.js';
import type { PostgresStore } from '../src/store/postgres.js';
import type { SqliteStore } from '../src/store/sqlite.js';
import type { NodeDocument } from '../src/store/types.js';

function node(name: string, tags: string[], platform = 'debian'): NodeDocument {
  return {
    name,
    chef_environment: '_default',
    json_class: 'Chef::Node',
    chef_type: 'node',
    run_list: ['recipe[push-jobs]'],
    normal: { tags },
    default: {},
    override: {},
    automatic: { platform },
  };
}

/** Runs SQL on the harness's database through a connection of its own (not the server's store). */
type RawSql = (sql: string, params?: unknown[]) => Promise<void>;

async function rawSqlOf(h: ApiHarness): Promise<{ exec: RawSql; close: () => Promise<void> }> {
  if (h.store.kind === 'sqlite') {
    const db = new Database((h.store as SqliteStore).path);
    db.pragma('foreign_keys = ON');
    return {
      exec: async (sql, params = []) => void db.prepare(sql).run(...params),
      close: async () => void db.close(),
    };
  }
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`SET search_path TO "${(h.store as PostgresStore).schema!}"`);
  return {
    exec: async (sql, params = []) => {
      let n = 0;
      await client.query(
        sql.replace(/\?/g, () => `$${++n}`),
        params,
      );
    },
    close: () => client.end(),
  };
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`API: jobs by search (${kind})`, function () {
    this.timeout(60_000);
    let h: ApiHarness;

    const createJob = (body: object) => h.send('POST', `/organizations/${h.org}/pushy/jobs`, { body });
    const getJob = async (res: { json(): unknown }) => {
      const id = (res.json() as { uri: string }).uri.split('/').pop()!;
      const job = await h.send('GET', `/organizations/${h.org}/pushy/jobs/${id}`);
      expect(job.statusCode).to.equal(200);
      return { id, job: job.json() as Record<string, unknown> };
    };
    const search = async (q: string) => {
      const res = await h.send('GET', `/organizations/${h.org}/search/node?q=${encodeURIComponent(q)}`);
      expect(res.statusCode, res.body).to.equal(200);
      return (res.json() as { rows: NodeDocument[] }).rows.map((n) => n.name);
    };

    beforeEach(async () => {
      h = await startApi({ store: kind, config: { max_job_nodes: 4 } });
      await h.store.putNode(h.org, node('web1', ['web']));
      await h.store.putNode(h.org, node('web2', ['web'], 'ubuntu'));
      await h.store.putNode(h.org, node('db1', ['db']));
    });
    afterEach(() => h.close());

    it('records the search and the nodes it matched in the job', async () => {
      const res = await createJob({ command: 'chef-client', search: 'tags:web' });
      expect(res.statusCode, res.body).to.equal(201);
      const { id, job } = await getJob(res);
      expect(job.search).to.equal('tags:web');
      expect(job.nodes).to.deep.equal({ new: ['web1', 'web2'] });
      expect(job.quorum).to.equal(2);
      const stored = await h.store.getJob(h.org, id);
      expect(stored!.search).to.equal('tags:web');
      expect(stored!.nodes.map((n) => n.name)).to.deep.equal(['web1', 'web2']);
    });

    it('runs on the given nodes and the matched ones, each once, given ones first', async () => {
      const res = await createJob({ command: 'x', nodes: ['zeta', 'web2'], search: 'tags:web OR tags:db' });
      expect(res.statusCode, res.body).to.equal(201);
      const { id, job } = await getJob(res);
      expect(job.nodes).to.deep.equal({ new: ['db1', 'web1', 'web2', 'zeta'] });
      const stored = await h.store.getJob(h.org, id);
      expect(stored!.nodes.map((n) => n.name)).to.have.members(['zeta', 'web2', 'db1', 'web1']);
      expect(stored!.quorum).to.equal(4);
    });

    it('refuses a search that matches no node, naming it', async () => {
      const res = await createJob({ command: 'x', search: 'role:nothing' });
      expect(res.statusCode).to.equal(400);
      expect(res.json()).to.deep.equal({
        error:
          "search 'role:nothing' matched no nodes (set allow_empty_search to true to create the job anyway)",
      });
      // Also beside given nodes: a search that finds nothing is most likely a mistake.
      const withNodes = await createJob({ command: 'x', nodes: ['web1'], search: 'role:nothing' });
      expect(withNodes.statusCode).to.equal(400);
      expect(await h.store.countJobs(h.org)).to.equal(0);
    });

    it('with allow_empty_search, creates a job with no nodes', async () => {
      const res = await createJob({ command: 'x', search: 'role:nothing', allow_empty_search: true });
      expect(res.statusCode, res.body).to.equal(201);
      const { job } = await getJob(res);
      expect(job.search).to.equal('role:nothing');
      expect(job.nodes).to.deep.equal({});
      expect(job.quorum).to.equal(0);
    });

    it('refuses an invalid query with the problem', async () => {
      const res = await createJob({ command: 'x', search: 'tags:(web' });
      expect(res.statusCode).to.equal(400);
      const error = (res.json() as { error: string }).error;
      expect(error).to.match(/^invalid search query 'tags:\(web': .*position \d+ of the search query/);
    });

    it('refuses more than max_job_nodes in all, saying what the search matched', async () => {
      await h.store.putNode(h.org, node('web3', ['web']));
      await h.store.putNode(h.org, node('web4', ['web']));
      const res = await createJob({ command: 'x', nodes: ['other'], search: 'tags:web' });
      expect(res.statusCode).to.equal(400);
      expect(res.json()).to.deep.equal({
        error:
          "too many nodes: the search 'tags:web' matched 4 nodes and 1 were named, 5 distinct in all; " +
          'at most 4 are allowed per job (server setting max_job_nodes)',
      });
      // The same nodes named and matched count once.
      const ok = await createJob({ command: 'x', nodes: ['web1'], search: 'tags:web' });
      expect(ok.statusCode, ok.body).to.equal(201);
    });

    it('stores max_concurrency and max_errors as given', async () => {
      const res = await createJob({
        command: 'x',
        search: 'tags:web',
        max_concurrency: '50%',
        max_errors: 1,
      });
      expect(res.statusCode, res.body).to.equal(201);
      const { job } = await getJob(res);
      expect(job.max_concurrency).to.equal('50%');
      expect(job.max_errors).to.equal(1);
    });

    it('is refused to a user outside the org before any search', async () => {
      const outsider = await h.send('POST', `/organizations/${h.org}/pushy/jobs`, {
        as: h.outsider,
        body: { command: 'x', search: 'tags:web' },
      });
      expect(outsider.statusCode).to.equal(403);
    });

    it('sees nodes created, changed and deleted behind the server’s back on the next search', async () => {
      expect(await search('tags:web')).to.deep.equal(['web1', 'web2']);
      const raw = await rawSqlOf(h);
      try {
        const guid = (await h.store.getOrg(h.org))!.guid;
        const doc = (n: NodeDocument) => JSON.stringify(n);
        await raw.exec('INSERT INTO nodes (org_id, name, document, updated_at) VALUES (?, ?, ?, ?)', [
          guid,
          'web9',
          doc(node('web9', ['web'])),
          kind === 'sqlite' ? Date.now() : new Date(),
        ]);
        await raw.exec('UPDATE nodes SET document = ? WHERE org_id = ? AND name = ?', [
          doc(node('web2', ['db'])),
          guid,
          'web2',
        ]);
        await raw.exec('DELETE FROM nodes WHERE org_id = ? AND name = ?', [guid, 'web1']);
        expect(await search('tags:web')).to.deep.equal(['web9']);
        expect(await search('tags:db')).to.deep.equal(['db1', 'web2']);
        // Deleted and made again: back in the index.
        await raw.exec('INSERT INTO nodes (org_id, name, document, updated_at) VALUES (?, ?, ?, ?)', [
          guid,
          'web1',
          doc(node('web1', ['web'])),
          kind === 'sqlite' ? Date.now() : new Date(),
        ]);
        const res = await createJob({ command: 'x', search: 'tags:web' });
        expect(res.statusCode, res.body).to.equal(201);
        expect((await getJob(res)).job.nodes).to.deep.equal({ new: ['web1', 'web9'] });
      } finally {
        await raw.close();
      }
    });

    it('reports a deletion as a change after the last revision, without a document', async () => {
      expect(await search('*:*')).to.deep.equal(['db1', 'web1', 'web2']);
      const guid = (await h.store.getOrg(h.org))!.guid;
      const changes = await h.store.nodeChanges(guid, 0, 100);
      expect(changes.map((c) => c.name)).to.have.members(['db1', 'web1', 'web2']);
      const last = Math.max(...changes.map((c) => c.revision));
      await h.store.deleteNode(h.org, 'db1');
      const after = await h.store.nodeChanges(guid, last, 100);
      expect(after).to.have.length(1);
      expect(after[0]!.name).to.equal('db1');
      expect(after[0]!.node).to.equal(undefined);
      expect(after[0]!.revision).to.be.greaterThan(last);
    });
  });
}

describe('a job with no nodes (allow_empty_search), run by the engine', function () {
  this.timeout(30_000);
  let h: PushFixture;
  before(async () => {
    h = await PushFixture.start();
  });
  after(() => h.close());

  it('completes at once', async () => {
    const id = await h.startJob({ command: 'chef-client', search: 'role:none', allow_empty_search: true });
    const job = await h.waitForJob(id);
    expect(job.status).to.equal('complete');
    expect(job.nodes).to.deep.equal({});
    expect(job.search).to.equal('role:none');
  });
});
