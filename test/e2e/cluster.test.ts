// Several servers, one fleet, with real processes: three `push-jobs-server --cluster` instances on
// one PostgreSQL schema, real `push-jobs-client` agents that reach the REST APIs through a TCP
// load balancer (each agent's balancer tries the instances in its own order, so the fleet is
// spread over all three), kill -9 of an instance mid-job, and a rolling restart of all three
// under a stream of jobs. Every wait is on an outcome (job status, node availability).
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { PushApiClient, isFinalJobState, type Job } from '@push-jobs/protocol';
import { dropSchema, FirstUpBalancer, schemaName, schemaUrl, uniqueOrg, until } from '@push-jobs/testing';
import { startFleet } from '../fleet/fleet.js';
import { E2eScope } from '../helpers/e2e-scope.js';
import { ServerProcess } from '../helpers/server-process.js';
import { nodesByState, waitForAvailability, waitForJob } from '../helpers/wait.js';

interface Cluster {
  servers: ServerProcess[];
  apis: PushApiClient[];
  balancers: FirstUpBalancer[];
  org: string;
}

describe('end to end: several servers on one PostgreSQL (cluster mode)', function () {
  this.timeout(300_000);
  const scope = E2eScope.use('pj-e2e-cluster-');
  let schema = '';

  beforeEach(() => {
    schema = schemaName('pj_e2e_cl_');
  });
  // Registered after the scope's: runs after the servers stopped.
  afterEach(() => dropSchema(schema));

  const settings = (name: string): Record<string, string | number> => ({
    cluster: 'true',
    'instance-name': name,
    'cluster-lease-seconds': 5,
    'cluster-drain-seconds': 60,
  });

  /** Three instances (the first runs `init`), a balancer per instance order, an admin client per instance. */
  async function startCluster(): Promise<Cluster> {
    const org = uniqueOrg('cl');
    const admin = `${org}-admin`;
    const databaseUrl = schemaUrl(schema);
    const servers: ServerProcess[] = [];
    for (const [i, name] of ['i1', 'i2', 'i3'].entries()) {
      const server = await ServerProcess.start({
        databaseUrl,
        org,
        admin,
        init: i === 0,
        heartbeatIntervalMs: 250,
        settings: settings(name),
      });
      scope.defer(() => server.stop());
      servers.push(server);
    }
    const adminKey = readFileSync(servers[0]!.adminKeyPath, 'utf8');
    const apis = servers.map(
      (s) => new PushApiClient({ serverUrl: s.orgUrl, userId: admin, privateKey: adminKey }),
    );
    for (const api of apis) scope.defer(() => api.close());
    const ports = servers.map((s) => s.ports.api);
    const balancers: FirstUpBalancer[] = [];
    for (let i = 0; i < 3; i++) {
      const lb = await FirstUpBalancer.start([0, 1, 2].map((k) => ports[(i + k) % 3]!));
      scope.defer(() => lb.close());
      balancers.push(lb);
    }
    return { servers, apis, balancers, org };
  }

  /** `stamp` appends the job id to the node's run log; `slow` does too, then waits. */
  function whitelist(): Record<string, unknown> {
    const log = `${scope.dir}/$CHEF_PUSH_NODE_NAME.runs`;
    return {
      stamp: `sh -c 'echo $CHEF_PUSH_JOB_ID >> ${log}'`,
      slow: `sh -c 'echo $CHEF_PUSH_JOB_ID >> ${log}; sleep 4'`,
    };
  }

  /** Agent `i` reaches the APIs through balancer `i % 3` (so it starts on instance `i % 3`). */
  async function startAgents(c: Cluster, nodes: string[]): Promise<void> {
    await Promise.all(
      nodes.map((node, i) =>
        scope.agent(c.servers[0]!, {
          node,
          whitelist: whitelist(),
          config: { chef_server_url: c.balancers[i % 3]!.orgUrl(c.org) },
        }),
      ),
    );
  }

  /** The job ids a node ran, in order. */
  function runs(node: string): string[] {
    const file = join(scope.dir, `${node}.runs`);
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
  }

  function expectNoJobRanTwice(nodes: string[]): void {
    for (const node of nodes) {
      const ids = runs(node);
      expect(new Set(ids).size, `${node} ran ${ids.join(', ')}`).to.equal(ids.length);
    }
  }

  const NODES = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];

  it('one job on nodes of all three instances, the same from each API; kill -9 mid-job: every job final, agents back, next job runs', async () => {
    const c = await startCluster();
    await startAgents(c, NODES);
    for (const api of c.apis) await waitForAvailability(api, NODES, 'available', 60_000);
    // The fleet is spread: each instance holds two nodes, and says which instance it is.
    for (const [i, server] of c.servers.entries()) {
      const status = (await (await fetch(`${server.apiUrl}/pushy/_status`)).json()) as {
        node_fsm_count: number;
        instance: { name: string; live_instances: number };
      };
      expect(status.node_fsm_count, `i${i + 1}`).to.equal(2);
      expect(status.instance.name).to.equal(`i${i + 1}`);
      expect(status.instance.live_instances).to.equal(3);
    }

    const { id: first } = await c.apis[1]!.startJob({ command: 'stamp', nodes: NODES });
    const job = await waitForJob(c.apis[1]!, first, 60_000);
    expect(job.status).to.equal('complete');
    expect(nodesByState(job)).to.deep.equal({ succeeded: NODES });
    for (const api of c.apis) {
      const seen = await api.getJob(first);
      expect(seen.status).to.equal('complete');
      expect(nodesByState(seen)).to.deep.equal({ succeeded: NODES });
    }

    // Two jobs running when i3 dies: one it owns, one i1 owns.
    const { id: ownedByDead } = await c.apis[2]!.startJob({ command: 'slow', nodes: ['n3', 'n6'] });
    const { id: ownedByLive } = await c.apis[0]!.startJob({
      command: 'slow',
      nodes: ['n1', 'n2', 'n4', 'n5'],
    });
    await until(
      async () =>
        (await c.apis[0]!.getJob(ownedByDead)).status === 'running' &&
        (await c.apis[0]!.getJob(ownedByLive)).status === 'running',
      'both jobs running',
      60_000,
    );
    const killedAt = Date.now();
    await c.servers[2]!.kill();

    // Its nodes come back on the others (through their balancers), without anyone clearing them.
    await until(
      async () => (await heldBy(c.servers[0]!)) + (await heldBy(c.servers[1]!)) === NODES.length,
      'every node held by a surviving instance',
      60_000,
    );
    const failoverMs = Date.now() - killedAt;
    await waitForAvailability(c.apis[0]!, NODES, 'available', 60_000);
    process.stdout.write(`      nodes of the killed instance available again after ${failoverMs} ms\n`);

    const dead = await waitForJob(c.apis[0]!, ownedByDead, 60_000);
    expect(dead.status).to.equal('crashed');
    const live = await waitForJob(c.apis[0]!, ownedByLive, 60_000);
    expect(live.status).to.equal('complete');
    for (const [state, names] of Object.entries(nodesByState(live))) {
      expect(['succeeded', 'crashed'], `${names.join(',')} ${state}`).to.include(state);
    }
    // The next job runs on every node, posted on a survivor.
    const { id: next } = await c.apis[1]!.startJob({ command: 'stamp', nodes: NODES });
    const after = await waitForJob(c.apis[1]!, next, 60_000);
    expect(after.status).to.equal('complete');
    expect(nodesByState(after)).to.deep.equal({ succeeded: NODES });
    expectNoJobRanTwice(NODES);
  });

  it('original (Ruby-style) clients on one instance run a job posted on another, as they would on a single server', async () => {
    const c = await startCluster();
    const fleet = await startFleet({
      orgUrl: c.balancers[2]!.orgUrl(c.org),
      nodes: 5,
      processes: 1,
      prefix: 'ruby',
      failureRate: 0,
      durationMs: 10,
      originalClient: true,
      registrar: {
        userId: c.servers[0]!.validatorName,
        privateKeyPem: readFileSync(c.servers[0]!.validatorKeyPath, 'utf8'),
      },
    });
    scope.defer(() => fleet.stop());
    await waitForAvailability(c.apis[0]!, fleet.nodeNames, 'available', 60_000);
    expect(await heldBy(c.servers[2]!)).to.equal(5);
    const { id } = await c.apis[0]!.startJob({ command: 'noop', nodes: fleet.nodeNames });
    const job = await waitForJob(c.apis[0]!, id, 60_000);
    expect(job.status).to.equal('complete');
    expect(nodesByState(job)).to.deep.equal({ succeeded: fleet.nodeNames });
    // The original client sends no result fields: null results, as on a single server.
    expect(Object.values(job.results ?? {}).every((r) => r.exit_status === null)).to.equal(true);
  });

  it('a rolling restart of all three instances during a stream of jobs loses no job', async () => {
    const c = await startCluster();
    await startAgents(c, NODES);
    for (const api of c.apis) await waitForAvailability(api, NODES, 'available', 60_000);

    const accepted: { id: string; api: number }[] = [];
    let streaming = true;
    let turn = 0;
    const stream = (async () => {
      while (streaming) {
        // A load balancer would send the request to a live instance: try each in turn.
        for (let k = 0; k < 3 && streaming; k++) {
          const i = turn++ % 3;
          try {
            const { id } = await c.apis[i]!.startJob({ command: 'stamp', nodes: NODES });
            accepted.push({ id, api: i });
            // The next one after this one is done somewhere (one job at a time on the fleet).
            await waitForFinal(c, id);
            break;
          } catch {
            // Down, draining (503) or restarting: the next instance.
          }
        }
      }
    })();

    for (const i of [0, 1, 2]) {
      const before = accepted.length;
      await until(() => accepted.length >= before + 2, `two more jobs before restarting i${i + 1}`, 120_000);
      const restarted = await c.servers[i]!.restart();
      scope.defer(() => restarted.stop());
      c.servers[i] = restarted;
      for (const api of c.apis)
        await waitForAvailability(api, NODES, 'available', 120_000).catch(() => undefined);
    }
    await until(() => accepted.length >= 8, 'jobs after the restarts', 120_000);
    streaming = false;
    await stream;

    const statuses = new Map<string, number>();
    for (const { id } of accepted) {
      const job = await waitForFinal(c, id);
      statuses.set(job.status, (statuses.get(job.status) ?? 0) + 1);
      expect(job.status, `job ${id}: ${JSON.stringify(job.nodes)}`).to.not.equal('crashed');
    }
    process.stdout.write(
      `      ${accepted.length} jobs across the rolling restart: ${JSON.stringify([...statuses])}\n`,
    );
    expectNoJobRanTwice(NODES);
  });

  /** How many nodes an instance holds (its `/pushy/_status`). */
  async function heldBy(server: ServerProcess): Promise<number> {
    const status = (await (await fetch(`${server.apiUrl}/pushy/_status`)).json()) as {
      node_fsm_count: number;
    };
    return status.node_fsm_count;
  }

  /** A job's final state, read from whichever instance answers. */
  async function waitForFinal(c: Cluster, id: string): Promise<Job> {
    let job: Job | undefined;
    await until(
      async () => {
        for (const api of c.apis) {
          try {
            job = await api.getJob(id);
            return isFinalJobState(job.status);
          } catch {
            // That instance is down: ask the next.
          }
        }
        return false;
      },
      `job ${id} final`,
      120_000,
    );
    return job!;
  }
});
