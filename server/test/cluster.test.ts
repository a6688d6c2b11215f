// Cluster mode on real parts: three instances in this process on one PostgreSQL schema, each
// with its own pool, data directory, HTTP and ZeroMQ ports; protocol-level agents over real
// sockets. Every wait is on an outcome (a job status, a node state, a lease), never a sleep.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { until } from '@push-jobs/testing';
import { TestCluster } from './helpers/cluster.js';
import { InstanceNameInUseError, listInstances } from '../src/cluster/index.js';
import { instanceChannel } from '../src/cluster/relay.js';
import { DEFAULT_SERVER_CONFIG } from '../src/config/index.js';
import { startPushServer } from '../src/push-server.js';
import { openStore } from '../src/store/index.js';

describe('cluster mode (three instances, PostgreSQL)', function () {
  this.timeout(120_000);
  let c: TestCluster;

  beforeEach(async () => {
    c = await TestCluster.create();
    await c.start('a');
    await c.start('b');
    await c.start('c');
  });

  afterEach(async () => {
    await c.close();
  });

  it('runs a job posted on one instance on nodes of all three, and every instance answers the same', async () => {
    const nodes = ['a1', 'a2', 'b1', 'b2', 'c1', 'c2'];
    const agents = await Promise.all(nodes.map((n) => c.agent(n[0]!, n)));
    await c.allAvailable(nodes);
    const id = await c.startJob('b', { command: 'chef-client', nodes });
    const job = await c.finalJob('b', id);
    expect(job.status).to.equal('complete');
    expect(job.nodes.succeeded).to.have.members(nodes);
    for (const name of ['a', 'c']) {
      const seen = await c.job(name, id);
      expect(seen.status, name).to.equal('complete');
      expect(seen.nodes.succeeded, name).to.have.members(nodes);
    }
    // Every node was asked once to commit and once to run, by whichever instance holds it.
    for (const agent of agents) {
      expect(agent.received('commit').length, agent.options.node).to.equal(1);
      expect(agent.received('run').length, agent.options.node).to.equal(1);
    }
    // Traffic between instances was relayed in batches, not one row per node message.
    const b = c.get('b').server.cluster!.stats();
    expect(b.relay.itemsWritten).to.be.greaterThan(b.relay.rowsWritten);
  });

  it('shows the job feed of a job owned elsewhere, live, and ends it', async () => {
    const nodes = ['a1', 'b1', 'c1'];
    await Promise.all(nodes.map((n) => c.agent(n[0]!, n)));
    await c.allAvailable(nodes);
    const id = await c.startJob('a', { command: 'chef-client', nodes });
    const events = await readJobFeed(c, 'c', id);
    const names = events.map((e) => e.event);
    expect(names[0]).to.equal('start');
    expect(names.at(-1)).to.equal('job_complete');
    expect(names.filter((n) => n === 'run_complete')).to.have.length(3);
    expect(events.at(-1)!.data).to.include('"status":"complete"');
  });

  it('keeps a running job on a node that moves to another instance (same client incarnation)', async () => {
    const mover = await c.agent('a', 'm1', { result: 'none' });
    await c.agent('b', 'b1');
    await c.allAvailable(['m1', 'b1']);
    const id = await c.startJob('b', { command: 'chef-client', nodes: ['m1', 'b1'] });
    await until(() => mover.state.jobState === 'running', 'm1 running');
    await mover.moveTo(c.get('c').apiUrl);
    await until(() => c.get('c').server.tracker.isAvailable(c.org, 'm1'), 'm1 on c');
    // Its result now goes through c to the job's owner, b.
    await until(
      async () => (await mover.finishRun('succeeded')) || mover.state.jobState === 'idle',
      'm1 finished',
    );
    const job = await c.finalJob('b', id);
    expect(job.status).to.equal('complete');
    expect(job.nodes.succeeded).to.have.members(['m1', 'b1']);
  });

  it('ends the jobs of a killed instance crashed at its lease expiry and clears its nodes; jobs elsewhere finish', async () => {
    await c.agent('a', 'a1');
    await c.agent('c', 'c1', { result: 'none' });
    await c.agent('c', 'c2', { result: 'none' });
    await c.allAvailable(['a1', 'c1', 'c2']);
    // Owned by c (dies): its nodes c1 (dies with it) and a1 (lives).
    const onC = await c.startJob('c', { command: 'chef-client', nodes: ['c1'] });
    // Owned by a (lives): c2 (dies with c) and a1.
    const onA = await c.startJob('a', { command: 'chef-client', nodes: ['a1', 'c2'] });
    await until(async () => (await c.job('a', onA)).nodes.running?.includes('c2') === true, 'c2 running');
    await until(async () => (await c.job('a', onC)).status === 'running', 'job on c running');
    for (const agent of c.agents.filter((a) => a.options.node.startsWith('c'))) await agent.stop();
    await c.kill('c');

    const crashed = await c.finalJob('a', onC);
    expect(crashed.status).to.equal('crashed');
    const finished = await c.finalJob('a', onA);
    expect(finished.status).to.equal('complete');
    expect(finished.nodes.succeeded).to.deep.equal(['a1']);
    expect(finished.nodes.crashed).to.deep.equal(['c2']);
    // Its nodes are gone from every survivor's node states, without anyone clearing them by hand.
    for (const name of ['a', 'b']) {
      const states = await c.nodeStates(name);
      expect(states.has('c1'), name).to.equal(false);
      expect(states.has('c2'), name).to.equal(false);
    }
    const instances = await listInstances(c.get('a').server.cluster!.db);
    expect(instances.find((i) => i.name === 'c')?.state).to.equal('gone');
    // The next job on a survivor runs.
    const next = await c.startJob('b', { command: 'chef-client', nodes: ['a1'] });
    expect((await c.finalJob('b', next)).status).to.equal('complete');
  });

  it('refuses a second server with a live name, and takes over at once when the same server restarts', async () => {
    let refused: unknown;
    await c.start('a').catch((error: unknown) => (refused = error));
    expect(refused).to.be.instanceOf(InstanceNameInUseError);
    expect((refused as Error).message).to.match(/instance name 'a' is held by a live instance/);

    await c.agent('b', 'b1', { result: 'none' });
    await c.allAvailable(['b1']);
    const id = await c.startJob('a', { command: 'chef-client', nodes: ['b1'] });
    await until(async () => (await c.job('b', id)).status === 'running', 'job running');
    const dir = c.get('a').dataDir;
    await c.kill('a');
    await c.start('a', { dataDir: dir });
    // The restarted server ended its previous incarnation's job at start, not after the lease.
    const job = await c.job('a', id);
    expect(job.status).to.equal('crashed');
  });

  it('an instance that stalls past its lease is cleared by another, and learns it at its next renewal', async () => {
    await c.agent('b', 'b1');
    await c.allAvailable(['b1']);
    const b = c.get('b').server;
    let lost = false;
    void b.leaseLost.then(() => (lost = true));
    b.cluster!.lease.stop(); // b stops renewing, as a stalled process would
    await until(async () => {
      const rows = await listInstances(c.get('a').server.cluster!.db);
      return rows.find((r) => r.name === 'b')?.state === 'gone';
    }, 'b cleared by another instance');
    expect((await c.nodeStates('a')).has('b1')).to.equal(false);
    await b.cluster!.lease.tick();
    await until(() => lost, 'b told it lost its lease');
    expect(b.cluster!.lease.stats.lost).to.equal(1);
  });

  it('after an outage longer than a lease (no instance renewed), the first back claims nobody for a lease', async () => {
    const a = c.get('a').server.cluster!;
    const b = c.get('b').server.cluster!;
    for (const name of ['a', 'b', 'c']) c.get(name).server.cluster!.lease.stop();
    await until(async () => {
      const rows = await listInstances(a.db);
      return rows.every((r) => !r.live);
    }, 'every lease run out');
    await a.lease.tick(); // back first: renews itself, claims nobody
    const rows = await listInstances(a.db);
    expect(rows.find((r) => r.name === 'b')?.state).to.equal('active');
    await b.lease.tick(); // b renews in time
    expect(b.lease.stats.lost).to.equal(0);
    expect(a.lease.stats.claimed).to.equal(0);
  });

  it('reopens a listening connection the database cut, reloads presence, and still gets relayed jobs', async () => {
    const a = c.get('a').server.cluster!;
    const cut = await a.db.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
        WHERE pid <> pg_backend_pid() AND query LIKE $1`,
      [`%${instanceChannel(a.id)}%`],
    );
    expect(cut.map((r) => r.ok)).to.deep.equal([true]);
    await until(() => a.db.reconnects === 1, 'a listening again');
    await c.agent('b', 'b1');
    await c.allAvailable(['b1'], ['a']);
    const id = await c.startJob('a', { command: 'chef-client', nodes: ['b1'] });
    expect((await c.finalJob('a', id)).status).to.equal('complete');
  });

  it('a draining instance takes no new job (503), finishes its own, and says so on /_status', async () => {
    const agent = await c.agent('a', 'a1', { result: 'none' });
    await c.allAvailable(['a1']);
    const id = await c.startJob('b', { command: 'chef-client', nodes: ['a1'] });
    let seen = '';
    await until(
      async () => {
        seen = JSON.stringify(await c.job('b', id));
        return agent.state.jobState === 'running';
      },
      () =>
        `a1 running (job ${seen}, agent got ${agent
          .received()
          .map((m) => m.type)
          .join(',')})`,
    );
    const b = c.get('b');
    const closing = b.server.drainAndClose(60_000);
    await until(() => b.server.cluster!.lease.draining, 'b draining');
    const status = await fetch(`${b.apiUrl}/pushy/_status`);
    expect(status.status).to.equal(503);
    expect(((await status.json()) as { instance: { state: string } }).instance.state).to.equal('draining');
    const refused = await c.request('b', 'POST', '/jobs', { command: 'chef-client', nodes: ['a1'] });
    expect(refused.status).to.equal(503);
    await agent.finishRun('succeeded');
    await closing;
    expect((await c.job('a', id)).status).to.equal('complete');
    c.instances.delete('b');
    await b.store.close();
  });
});

describe('push-jobs-server instance list', function () {
  this.timeout(60_000);
  const main = fileURLToPath(new URL('../bin/push-jobs-server.js', import.meta.url));
  const run = promisify(execFile);

  it('lists the live instances with their nodes and leases; --json; an error on SQLite', async () => {
    const c = await TestCluster.create();
    try {
      await c.start('east');
      await c.start('west');
      await c.agent('west', 'w1');
      await c.allAvailable(['w1']);
      // The counts are reported with each lease renewal.
      await until(async () => {
        const rows = await listInstances(c.get('east').server.cluster!.db);
        return rows.find((r) => r.name === 'west')?.nodeCount === 1;
      }, 'west reports its node');
      const env = { ...process.env, PUSH_JOBS_DATABASE_URL: c.url, FORCE_COLOR: '0' };
      const text = (await run(process.execPath, [main, 'instance', 'list'], { env })).stdout;
      const lines = text.trimEnd().split('\n');
      expect(lines[0]).to.match(/^NAME\s+STATE\s+NODES\s+JOBS\s+LEASE/);
      expect(lines.find((l) => l.startsWith('west'))).to.match(/^west\s+active\s+1\s+0\s+\d+s left/);
      expect(lines.find((l) => l.startsWith('east'))).to.match(/^east\s+active\s+0\s+0\s+/);
      const json = JSON.parse(
        (await run(process.execPath, [main, 'instance', 'list', '--json'], { env })).stdout,
      ) as {
        name: string;
        live: boolean;
      }[];
      expect(json.map((i) => i.name).sort()).to.deep.equal(['east', 'west']);
      expect(json.every((i) => i.live)).to.equal(true);
      let failed: { code?: number; stderr?: string } = {};
      const sqliteEnv: NodeJS.ProcessEnv = { ...env };
      delete sqliteEnv.PUSH_JOBS_DATABASE_URL;
      await run(process.execPath, [main, 'instance', 'list', '--database-url', '/tmp/none.sqlite'], {
        env: sqliteEnv,
      }).catch((e: { code?: number; stderr?: string }) => (failed = e));
      expect(failed.code, failed.stderr).to.equal(2);
      expect(failed.stderr).to.match(/instances exist only in cluster mode, on a PostgreSQL database_url/);
    } finally {
      await c.close();
    }
  });
});

describe('cluster mode settings', () => {
  it('refuses cluster mode on SQLite, naming the setting', async () => {
    const store = await openStore(':memory:');
    try {
      let error: unknown;
      await startPushServer({ config: { ...DEFAULT_SERVER_CONFIG, cluster: true }, store }).catch(
        (e: unknown) => (error = e),
      );
      expect((error as Error).message).to.match(/cluster mode needs a PostgreSQL database_url/);
    } finally {
      await store.close();
    }
  });
});

/** Reads an instance's SSE job feed until `job_complete`; returns the events. */
async function readJobFeed(
  c: TestCluster,
  name: string,
  id: string,
): Promise<{ event: string; data: string }[]> {
  const { signRequest } = await import('@push-jobs/protocol');
  const path = `/organizations/${c.org}/pushy/job_status_feed/${id}`;
  const headers = signRequest({ method: 'GET', path, body: '', userId: c.admin, privateKey: c.adminKeyPem });
  const res = await fetch(`${c.get(name).apiUrl}${path}`, {
    headers: { ...headers, accept: 'text/event-stream' },
  });
  expect(res.status).to.equal(200);
  const events: { event: string; data: string }[] = [];
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
      if (event !== undefined) events.push({ event, data });
      if (event === 'job_complete') return events;
    }
  }
  return events;
}
