import { expect } from 'chai';
import { Agent } from '../src/agent.js';
import { AgentStartError } from '../src/connection.js';
import { SharedHeartbeatFeed } from '../src/heartbeat-feed.js';
import { SimulatedJobRunner } from '../src/simulated-runner.js';
import { until } from '@push-jobs/testing';
import { PushTestServer, TestRunner } from './helpers/agent-harness.js';

describe('agent against the real push server', function () {
  this.timeout(30_000);
  let h: PushTestServer;
  const agents: Agent[] = [];

  async function startAgent(node: string): Promise<{ agent: Agent; runner: TestRunner }> {
    const options = await h.agentOptions(node);
    const agent = await Agent.create(options, { runner: (reply) => new TestRunner(reply) });
    agents.push(agent);
    return { agent, runner: agent.runner as TestRunner };
  }

  beforeEach(async () => {
    h = await PushTestServer.start();
  });

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.shutdown()));
    await h.close();
  });

  it('connects: the server shows the node available, the command channel works', async () => {
    const { agent, runner } = await startAgent('web1');
    await until(() => h.isAvailable('web1'), 'web1 available');
    await until(() => agent.status().commandChannelVerified, 'a command message');
    const status = agent.status();
    expect(status.state).to.equal('running');
    expect(status.serverOnline).to.equal(true);
    expect(status.serverIncarnationId).to.equal(h.server.incarnationId);
    expect(status.heartbeatsSent).to.be.greaterThan(0);
    expect(status.droppedMessages).to.equal(0);
    // The server aborts a node that connects; the runner answered `aborted`.
    expect(runner.aborts).to.be.greaterThan(0);
  });

  it('agents sharing one heartbeat SUB socket each verify server heartbeats and run jobs', async () => {
    const feed = new SharedHeartbeatFeed();
    const started: Agent[] = [];
    for (const node of ['shared1', 'shared2']) {
      const options = await h.agentOptions(node);
      const agent = await Agent.create(options, {
        runner: (reply) => new TestRunner(reply),
        heartbeatFeed: feed,
      });
      agents.push(agent);
      started.push(agent);
    }
    expect(feed.socketCount).to.equal(1);
    await until(() => h.isAvailable('shared1') && h.isAvailable('shared2'), 'both available');
    await until(() => started.every((a) => a.status().serverOnline), 'both see the server online');
    const id = await h.startJob({ command: 'chef-client', nodes: ['shared1', 'shared2'] });
    const job = await h.waitForJob(id);
    expect(job['nodes']).to.deep.equal({ succeeded: ['shared1', 'shared2'] });
    await Promise.all(started.map((a) => a.shutdown()));
    expect(feed.socketCount).to.equal(0);
    await feed.close();
  });

  it('runs a job posted to the API through the runner to complete', async () => {
    const { runner } = await startAgent('web1');
    await until(() => h.isAvailable('web1'), 'web1 available');
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1'], capture_output: true });
    const job = await h.waitForJob(id);
    expect(job['status']).to.equal('complete');
    expect(job['nodes']).to.deep.equal({ succeeded: ['web1'] });
    expect(runner.commits).to.have.length(1);
    expect(runner.commits[0]).to.deep.include({ jobId: id, command: 'chef-client' });
    expect(runner.commits[0]!.options.capture).to.equal(true);
  });

  it('answers an abort of a running job with aborted', async () => {
    const { runner } = await startAgent('web1');
    runner.mode = 'hang';
    await until(() => h.isAvailable('web1'), 'web1 available');
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1'] });
    await until(() => runner.state().state === 'running', 'the job running');
    const before = runner.aborts;
    const res = await h.request('POST', `/organizations/acme/pushy/jobs/${id}/abort`);
    expect(res.status).to.be.lessThan(300);
    const job = await h.waitForJob(id);
    expect(runner.aborts).to.be.greaterThan(before);
    expect(job['status']).to.equal('aborted');
    expect(job['nodes']).to.deep.equal({ aborted: ['web1'] });
    expect(runner.state().state).to.equal('idle');
  });

  it('reconfigures after a server restart and becomes available again', async () => {
    const { agent } = await startAgent('web1');
    await until(() => h.isAvailable('web1'), 'web1 available');
    const oldIncarnation = h.server.incarnationId;
    await h.restart();
    expect(h.server.incarnationId).to.not.equal(oldIncarnation);
    await until(() => agent.status().reconfigures >= 1, 'a reconfigure');
    await until(() => h.isAvailable('web1'), 'web1 available after restart');
    expect(agent.status().serverIncarnationId).to.equal(h.server.incarnationId);
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1'] });
    expect((await h.waitForJob(id))['status']).to.equal('complete');
  });

  it('reconfigures on request (SIGUSR1 in the executable) with a fresh config and sockets', async () => {
    const { agent } = await startAgent('web1');
    await until(() => h.isAvailable('web1'), 'web1 available');
    await Promise.all([agent.reconfigure(), agent.reconfigure()]);
    expect(agent.status().reconfigures).to.equal(1);
    await until(() => agent.status().commandChannelVerified, 'the new command channel');
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1'] });
    expect((await h.waitForJob(id))['status']).to.equal('complete');
  });

  it('runs several agents in one process; shutdown is idempotent and settles run()', async () => {
    const a = await startAgent('web1');
    const b = await startAgent('web2');
    await until(() => h.isAvailable('web1') && h.isAvailable('web2'), 'both available');
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1', 'web2'] });
    expect((await h.waitForJob(id))['nodes']).to.deep.equal({ succeeded: ['web1', 'web2'] });
    const ran = a.agent.run();
    await Promise.all([a.agent.shutdown(), a.agent.shutdown()]);
    await ran;
    expect(a.agent.status().state).to.equal('stopped');
    expect(b.agent.status().state).to.equal('running');
  });

  it('refuses to start for an unknown client', async () => {
    const options = await h.agentOptions('web1');
    let error: unknown;
    try {
      await Agent.create(
        { ...options, node_name: 'nobody', client_name: 'nobody' },
        {
          runner: (reply) => new TestRunner(reply),
        },
      );
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(AgentStartError);
    expect((error as AgentStartError).exitCode).to.equal(2);
  });

  it('sends no output message to a server whose commit does not allow it; the output arrives at the end', async () => {
    await h.close();
    // Live output off: commits carry no output_stream_max_bytes, as the original server's never do.
    h = await PushTestServer.start({ config: { output_stream_max_bytes: 0 } });
    const types: string[] = [];
    const options = await h.agentOptions('web1');
    const agent = await Agent.create(options, {
      runner: (reply) =>
        new SimulatedJobRunner(
          (r) => {
            types.push(r.type);
            reply(r);
          },
          { durationMs: 300, outputIntervalMs: 20 },
        ),
    });
    agents.push(agent);
    await until(() => h.isAvailable('web1'), 'web1 available');
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1'], capture_output: true });
    const job = await h.waitForJob(id);
    expect(job['nodes']).to.deep.equal({ succeeded: ['web1'] });
    expect(types).to.include('succeeded');
    expect(types).to.not.include('output');
    expect(await h.stdout(id, 'web1')).to.match(/^simulated line 0 at \d{13}\n/);
  });
});
