// Jobs never disturb each other and nodes never get stranded: real server and agent processes.
// An overlapping job must not kill a running one, votes are recorded as the original records
// them, a failed job leaves no false unavailability, busy nodes are visible, and restarts
// (kill -9, SIGTERM, a stalled server) leave no node stranded in `committed`.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Job, NodeState, PushApiClient } from '@push-jobs/protocol';
import { isAlive, until } from '@push-jobs/testing';
import type { AgentProcess } from '../helpers/agent-process.js';
import { E2eScope, type ServerAndClient } from '../helpers/e2e-scope.js';
import type { ServerProcess } from '../helpers/server-process.js';
import { nodesByState, waitForAvailability, waitForJob } from '../helpers/wait.js';

/** A job's nodes by state (lists sorted by the server), keys sorted. */
const byState = (job: Job): Record<string, string[]> =>
  Object.fromEntries(Object.entries(nodesByState(job)).sort(([a], [b]) => (a < b ? -1 : 1)));
const same = (a: unknown, b: Record<string, string[]>): boolean =>
  JSON.stringify(a) ===
  JSON.stringify(Object.fromEntries(Object.entries(b).sort(([x], [y]) => (x < y ? -1 : 1))));

describe('end to end: job isolation and stranded nodes', function () {
  this.timeout(180_000);
  const scope = E2eScope.use('pj-e2e-iso-');

  /** Every agent allows these; `pidfile NODE` is where `slow` writes its shell's pid. */
  function whitelist(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      hello: 'echo hello',
      slow: `sh -c 'echo $$ > ${scope.dir}/$CHEF_PUSH_NODE_NAME.pid; exec sleep 60'`,
      ...extra,
    };
  }
  const pidfile = (node: string): string => join(scope.dir, `${node}.pid`);

  function startServer(): Promise<ServerAndClient> {
    // Liveness slow enough that a stopped agent stays "connected" for the length of a test.
    return scope.server({
      heartbeatIntervalMs: 200,
      settings: { 'decay-window': 100, 'down-threshold': 0.05 },
    });
  }

  function startAgents(
    server: ServerProcess,
    nodes: string[],
    extra: Record<string, unknown> = {},
  ): Promise<AgentProcess[]> {
    return Promise.all(nodes.map((node) => scope.agent(server, { node, whitelist: whitelist(extra) })));
  }

  function nodeState(api: PushApiClient, node: string): Promise<NodeState> {
    return api.getNodeState(node);
  }

  /** Waits until the job's node map (after late votes) equals `expected`. */
  async function waitForNodes(
    api: PushApiClient,
    id: string,
    expected: Record<string, string[]>,
  ): Promise<void> {
    let last: unknown;
    try {
      await until(
        async () => {
          last = byState(await api.getJob(id));
          return same(last, expected);
        },
        `job ${id} nodes ${JSON.stringify(expected)}`,
        30_000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(last)}`);
    }
  }

  it('an overlapping job on a busy node neither kills the running job nor aborts it; the busy node is visible', async () => {
    const { server, api } = await startServer();
    await startAgents(server, ['web1', 'web2', 'web3']);
    await waitForAvailability(api, ['web1', 'web2', 'web3'], 'available', 30_000);
    const first = await api.startJob({ command: 'slow', nodes: ['web1'] });
    await until(() => existsSync(pidfile('web1')), 'job 1 running on web1');
    const pid = Number(readFileSync(pidfile('web1'), 'utf8'));
    await until(async () => (await nodeState(api, 'web1')).state === 'running', 'web1 reported running');
    expect(await nodeState(api, 'web1')).to.deep.include({
      availability: 'available',
      state: 'running',
      job_id: first.id,
    });

    // Job 2 on the busy node and a free one: web1 nacks (busy), web2 acks; the quorum fails.
    const second = await api.startJob({ command: 'slow', nodes: ['web1', 'web2'] });
    const events: { event: string; data: Record<string, unknown> }[] = [];
    const stream = await api.jobEvents(second.id);
    for await (const e of stream) {
      events.push({ event: e.event, data: e.data as Record<string, unknown> });
      if (e.event === 'job_complete') break;
    }
    stream.close();
    const job2 = await waitForJob(api, second.id);
    expect(job2.status).to.equal('quorum_failed');
    await waitForNodes(api, second.id, { nacked: ['web1'], was_ready: ['web2'] });

    // Job 1 is untouched: still running on web1, its process alive.
    expect(isAlive(pid)).to.equal(true);
    const job1 = await api.getJob(first.id);
    expect(job1.status).to.equal('running');
    expect(byState(job1)).to.deep.equal({ running: ['web1'] });
    // web2 dropped job 2's commit and is free again.
    await until(async () => (await nodeState(api, 'web2')).state === 'idle', 'web2 idle again');

    // The job feed said why web1 nacked.
    const vote = events.find((e) => e.event === 'quorum_vote' && e.data['node'] === 'web1');
    expect(vote?.data).to.deep.include({ status: 'failure', busy: { job_id: first.id, state: 'running' } });

    await api.abortJob(first.id);
    expect((await waitForJob(api, first.id)).status).to.equal('aborted');
    await until(() => !isAlive(pid), 'job 1 process stopped by its abort');
  });

  it('nodes that all nack within a few ms are all nacked; a failure on an unavailable node leaves the ready ones was_ready', async () => {
    const { server, api } = await startServer();
    await startAgents(server, ['n1', 'n2', 'n3']);
    await waitForAvailability(api, ['n1', 'n2', 'n3'], 'available', 30_000);
    const nacked = await api.startJob({ command: 'not-allowed-anywhere', nodes: ['n1', 'n2', 'n3'] });
    expect((await waitForJob(api, nacked.id)).status).to.equal('quorum_failed');
    await waitForNodes(api, nacked.id, { nacked: ['n1', 'n2', 'n3'] });

    // `ghost` never connected: the 100% quorum fails at once; n1 and n2 still vote.
    const failed = await api.startJob({ command: 'hello', nodes: ['n1', 'n2', 'ghost'] });
    expect((await waitForJob(api, failed.id)).status).to.equal('quorum_failed');
    await waitForNodes(api, failed.id, { unavailable: ['ghost'], was_ready: ['n1', 'n2'] });
    await until(
      async () =>
        (await api.listNodeStates()).every((s) => s.state === 'idle' && s.availability === 'available'),
      'every node idle and available again',
    );
  });

  it('a job posted right after a failed quorum on the same nodes succeeds: 50 back-to-back pairs', async () => {
    const { server, api } = await startServer();
    // `only_ab` is allowed on a and b, not c: a and b ack (then was_ready, released), c nacks.
    const [a, b] = await startAgents(server, ['a', 'b'], { only_ab: 'true' });
    const [c] = await startAgents(server, ['c']);
    expect(a && b && c).to.not.equal(undefined);
    await waitForAvailability(api, ['a', 'b', 'c'], 'available', 30_000);
    const failures: string[] = [];
    for (let i = 0; i < 50; i++) {
      const bad = await api.startJob({ command: 'only_ab', nodes: ['a', 'b', 'c'] });
      const badJob = await waitForJob(api, bad.id);
      if (badJob.status !== 'quorum_failed') failures.push(`pair ${i}: first job ${badJob.status}`);
      const good = await waitForJob(
        api,
        (await api.startJob({ command: 'hello', nodes: ['a', 'b', 'c'] })).id,
      );
      if (good.status !== 'complete' || !same(byState(good), { succeeded: ['a', 'b', 'c'] }))
        failures.push(`pair ${i}: second job ${good.status} ${JSON.stringify(good.nodes)}`);
    }
    expect(failures).to.deep.equal([]);
  });

  it('after a server kill -9, an agent running a command reconnects at once, reports itself busy, and stops the orphan at its run_timeout', async () => {
    const { server, api } = await startServer();
    const [agent] = await startAgents(server, ['solo']);
    await waitForAvailability(api, ['solo'], 'available', 30_000);
    const { id } = await api.startJob({ command: 'slow', nodes: ['solo'], run_timeout: 4 });
    await until(() => existsSync(pidfile('solo')), 'the job running');
    const pid = Number(readFileSync(pidfile('solo'), 'utf8'));
    await server.kill();
    const { api: api2 } = await scope.restart(server);
    expect((await api2.getJob(id)).status).to.equal('crashed');

    // Back while the command still runs: heartbeats flow, the node says what it runs.
    const reconnectStart = Date.now();
    await until(
      async () => {
        const s = await nodeState(api2, 'solo');
        return s.availability === 'available' && s.state === 'running' && s.job_id === id;
      },
      'solo back and reporting the orphaned job',
      30_000,
    );
    const reconnectMs = Date.now() - reconnectStart;
    expect(isAlive(pid)).to.equal(true);
    // The agent stops the orphan at its run_timeout (4 s) plus grace, not at the 60 s sleep.
    await until(() => !isAlive(pid), 'the orphan stopped at its run_timeout', 40_000);
    await until(async () => (await nodeState(api2, 'solo')).state === 'idle', 'solo idle');
    const next = await waitForJob(api2, (await api2.startJob({ command: 'hello', nodes: ['solo'] })).id);
    expect(next.status).to.equal('complete');
    const log = agent!.output.join('');
    expect(log).to.match(/run_timeout of 4 s passed; the agent stopped the job/);
    // One line per state change, not one per retry.
    expect(log.match(/ZMQ socket enqueue error/g)?.length ?? 0).to.be.at.most(3);
    console.log(`      (reconnected while running in ${reconnectMs} ms)`);
  });

  for (const fault of ['kill -9', 'SIGTERM restart', 'SIGSTOP 6 s'] as const) {
    it(`agents committed to a job are not stranded by a ${fault} of the server; the next job succeeds`, async () => {
      const { server, api } = await startServer();
      const agents = await startAgents(server, ['c1', 'c2', 'mute']);
      await waitForAvailability(api, ['c1', 'c2', 'mute'], 'available', 30_000);
      // `mute` is stopped: it never votes, so c1 and c2 stay committed (100% quorum).
      const mute = agents[2]!;
      process.kill(mute.pid, 'SIGSTOP');
      scope.defer(() => mute.running && process.kill(mute.pid, 'SIGCONT'));
      const { id } = await api.startJob({ command: 'hello', nodes: ['c1', 'c2', 'mute'] });
      await waitForNodes(api, id, { new: ['mute'], ready: ['c1', 'c2'] });
      for (const n of ['c1', 'c2']) expect((await nodeState(api, n)).state).to.equal('committed');

      let liveApi = api;
      const t0 = Date.now();
      if (fault === 'SIGSTOP 6 s') {
        process.kill(server.pid, 'SIGSTOP');
        await new Promise((r) => setTimeout(r, 6000)); // the fault itself is a 6 s stall
        process.kill(server.pid, 'SIGCONT');
      } else {
        if (fault === 'kill -9') await server.kill();
        ({ api: liveApi } = await scope.restart(server));
        expect((await liveApi.getJob(id)).status).to.equal('crashed');
      }
      const backMs = Date.now() - t0;
      await until(
        async () => {
          const states = await liveApi.listNodeStates();
          const of = new Map(states.map((s) => [s.node_name, s]));
          return ['c1', 'c2'].every(
            (n) => of.get(n)?.availability === 'available' && of.get(n)?.state === 'idle',
          );
        },
        'c1 and c2 idle and available again',
        30_000,
      );
      const recoveredMs = Date.now() - t0;
      const next = await waitForJob(
        liveApi,
        (await liveApi.startJob({ command: 'hello', nodes: ['c1', 'c2'] })).id,
      );
      expect(next.status).to.equal('complete');
      expect(byState(next)).to.deep.equal({ succeeded: ['c1', 'c2'] });
      console.log(
        `      (${fault}: server answering ${backMs} ms after the fault began; c1, c2 idle and available after ${recoveredMs} ms)`,
      );
    });
  }

  it('100 jobs racing a forced reconfigure (SIGUSR1): no commit or run is lost', async () => {
    const { server, api } = await startServer();
    const agents = await startAgents(server, ['r1', 'r2']);
    await waitForAvailability(api, ['r1', 'r2'], 'available', 30_000);
    const bad: string[] = [];
    for (let i = 0; i < 100; i++) {
      // Alternate which comes first: the reconfigure or the job.
      if (i % 2 === 0) for (const a of agents) process.kill(a.pid, 'SIGUSR1');
      const { id } = await api.startJob({ command: 'hello', nodes: ['r1', 'r2'] });
      if (i % 2 === 1) for (const a of agents) process.kill(a.pid, 'SIGUSR1');
      const job = await waitForJob(api, id, 60_000);
      if (job.status !== 'complete' || !same(byState(job), { succeeded: ['r1', 'r2'] }))
        bad.push(`${i}: ${job.status} ${JSON.stringify(job.nodes)}`);
      await waitForAvailability(api, ['r1', 'r2'], 'available', 30_000);
    }
    expect(bad).to.deep.equal([]);
    const reconfigures = agents.map((a) => (a.output.join('').match(/Reconfigured client/g) ?? []).length);
    expect(Math.min(...reconfigures)).to.be.greaterThan(0);
    console.log(`      (reconfigures per agent: ${reconfigures.join(', ')})`);
  });
});
