// Processes dying mid-job: an agent, the server. And the same happy path on PostgreSQL.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { isAlive, PG_URL, until } from '@push-jobs/testing';
import type { AgentProcess } from '../helpers/agent-process.js';
import { E2eScope, type ServerAndClient } from '../helpers/e2e-scope.js';
import type { ServerProcess, ServerProcessOptions } from '../helpers/server-process.js';
import { nodesByState, waitForAvailability, waitForJob } from '../helpers/wait.js';

describe('end to end: failures and PostgreSQL', function () {
  this.timeout(120_000);
  const scope = E2eScope.use('pj-e2e-fail-');

  function whitelist(): Record<string, unknown> {
    return {
      hello: 'echo hello',
      slow: `sh -c 'echo $$ > ${scope.dir}/$CHEF_PUSH_NODE_NAME.pid; sleep 60'`,
      short: `sh -c 'echo $$ > ${scope.dir}/$CHEF_PUSH_NODE_NAME.pid; sleep 4'`,
    };
  }

  function startServer(options: ServerProcessOptions = {}): Promise<ServerAndClient> {
    return scope.server({ heartbeatIntervalMs: 200, ...options });
  }

  function startAgent(server: ServerProcess, node: string): Promise<AgentProcess> {
    return scope.agent(server, { node, whitelist: whitelist() });
  }

  it('an agent killed mid-job: its node ends crashed/unavailable, the server stays healthy', async () => {
    const { server, api } = await startServer();
    const one = await startAgent(server, 'one');
    await startAgent(server, 'two');
    await waitForAvailability(api, ['one', 'two'], 'available', 30_000);
    const { id } = await api.startJob({ command: 'slow', nodes: ['one', 'two'] });
    await until(() => readdirSync(scope.dir).length === 2, 'both jobs running');
    await one.kill();
    await waitForAvailability(api, ['one'], 'unavailable');
    await until(async () => {
      const job = await api.getJob(id);
      return nodesByState(job)['crashed']?.includes('one') === true;
    }, 'node one crashed in the job');
    const status = (await api.request('GET', '/pushy/_status')) as Record<string, unknown>;
    expect(status).to.have.property('status');
    expect(server.child.exitCode).to.equal(null);
    await api.abortJob(id);
    expect((await waitForJob(api, id)).status).to.equal('aborted');
  });

  it('the server killed mid-job: the job ends crashed, agents reconnect to the new incarnation, the next job succeeds', async () => {
    const { server, api } = await startServer();
    const agent = await startAgent(server, 'solo');
    await waitForAvailability(api, ['solo'], 'available', 30_000);
    const { id } = await api.startJob({ command: 'short', nodes: ['solo'] });
    await until(() => readdirSync(scope.dir).some((f) => f.endsWith('.pid')), 'the job running');
    const pid = Number(readFileSync(join(scope.dir, 'solo.pid'), 'utf8'));
    expect(isAlive(pid)).to.equal(true);
    await server.kill();
    const { api: api2 } = await scope.restart(server);
    expect((await api2.getJob(id)).status).to.equal('crashed');
    // The agent lets the running job finish (it may be a chef-client run) but reconnects to the
    // new incarnation at once, reporting itself busy until the job ends.
    await until(
      async () => (await api2.getNodeState('solo')).state === 'idle',
      'solo idle after its job ended',
      60_000,
    );
    expect(isAlive(pid)).to.equal(false);
    expect(agent.running).to.equal(true);
    const next = await waitForJob(api2, (await api2.startJob({ command: 'hello', nodes: ['solo'] })).id);
    expect(next.status).to.equal('complete');
    expect(next.nodes).to.deep.equal({ succeeded: ['solo'] });
  });

  it('PostgreSQL as the store: the happy path', async () => {
    const org = `e2e${Date.now().toString(36)}`;
    const { server, api } = await startServer({ databaseUrl: PG_URL, org, admin: `${org}-admin` });
    await startAgent(server, `${org}-a`);
    await startAgent(server, `${org}-b`);
    const nodes = [`${org}-a`, `${org}-b`];
    await waitForAvailability(api, nodes, 'available', 30_000);
    const { id } = await api.startJob({ command: 'hello', nodes, capture_output: true });
    const job = await waitForJob(api, id);
    expect(job.status).to.equal('complete');
    expect(job.nodes).to.deep.equal({ succeeded: nodes });
    expect((await api.getJobOutput(id, nodes[0]!, 'stdout')).output).to.equal('hello\n');
    expect(server.output.join('')).to.match(/database: postgres/);
  });
});
