// Failover with real servers: two instances on one store, an agent connected to the first, the
// first killed. The agent notices the missing heartbeats, re-fetches its config (through a load
// balancer, or from the next of chef_server_urls) and lands on the second, where it runs a job.
// And when no server answers: the sockets are reopened on the cached config and the fetch is
// tried again with back-off until the server is back.
import { expect } from 'chai';
import { Agent } from '../src/agent.js';
import { TcpProxy, until } from '@push-jobs/testing';
import { PushTestServer, TestRunner, ORG } from './helpers/agent-harness.js';
import {
  FirstUpBalancer,
  LogLines,
  PausableHeartbeatFeed,
  portOf,
  SecondInstance,
} from './helpers/cluster.js';

/** Small bounds, so that a test waits on outcomes that come quickly. */
const FAST = { refetchBackoff: { initialMs: 50, maxMs: 400 }, refetchTimeoutMs: 5000 } as const;

/** Failover times seen (ms), shown with PJ_TEST_FAILOVER_TIMES=1. */
const failoverTimes: { test: string; ms: number }[] = [];

describe('agent failover between real server instances', function () {
  this.timeout(60_000);
  let h: PushTestServer;
  let second: SecondInstance | undefined;
  let lb: FirstUpBalancer | undefined;
  let proxy: TcpProxy | undefined;
  let feed: PausableHeartbeatFeed | undefined;
  const agents: Agent[] = [];

  beforeEach(async () => {
    h = await PushTestServer.start();
  });

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.shutdown()));
    await feed?.close();
    await lb?.close();
    await proxy?.close();
    await second?.close();
    await h.close();
    feed = undefined;
    lb = undefined;
    proxy = undefined;
    second = undefined;
  });

  after(() => {
    if (process.env.PJ_TEST_FAILOVER_TIMES === '1') {
      for (const t of failoverTimes) process.stderr.write(`failover ${t.ms} ms: ${t.test}\n`);
    }
  });

  async function startAgent(
    node: string,
    urls: string[],
    log: LogLines,
    extra: { heartbeatFeed?: PausableHeartbeatFeed } = {},
  ): Promise<Agent> {
    const options = await h.agentOptions(node);
    const agent = await Agent.create(
      { ...options, chef_server_url: urls[0]!, chef_server_urls: urls },
      { runner: (reply) => new TestRunner(reply), log, ...FAST, ...extra },
    );
    agents.push(agent);
    return agent;
  }

  /** Kills the first instance and waits until `node` is available on the second; returns the ms. */
  async function killFirstAndWait(node: string): Promise<number> {
    const started = performance.now();
    await h.server.close();
    await until(() => second!.isAvailable(node), `${node} available on the second instance`);
    return Math.round(performance.now() - started);
  }

  it('behind a load balancer: moves to the live instance, keeps its incarnation and runs a job there', async function () {
    second = await SecondInstance.start(h);
    lb = await FirstUpBalancer.start([portOf(h.apiUrl), portOf(second.apiUrl)]);
    const log = new LogLines();
    const agent = await startAgent('web1', [lb.orgUrl(ORG)], log);
    await until(() => h.isAvailable('web1'), 'web1 available on the first instance');
    const before = agent.status();
    expect(before.server.commandAddress).to.equal(h.server.endpoints.command);
    expect(second.isAvailable('web1')).to.equal(false);

    const ms = await killFirstAndWait('web1');
    failoverTimes.push({ test: 'load balancer', ms });

    const after = agent.status();
    expect(after.incarnationId).to.equal(before.incarnationId);
    expect(after.serverIncarnationId).to.equal(second.server.incarnationId);
    expect(after.server.commandAddress).to.equal(second.server.endpoints.command);
    expect(after.serverUrl).to.equal(lb.orgUrl(ORG));
    expect(after.moves).to.equal(1);
    expect(after.refetching).to.equal(false);
    expect(log.has(new RegExp(`Server offline, re-fetching config from ${lb.orgUrl(ORG)}$`))).to.equal(true);
    expect(
      log.has(new RegExp(`Moved to server 127\\.0\\.0\\.1 \\(commands ${second.server.endpoints.command},`)),
    ).to.equal(true);

    const job = await second.runJob({ command: 'chef-client', nodes: ['web1'] });
    expect(job['nodes']).to.deep.equal({ succeeded: ['web1'] });
    // No line ever carries the agent's CURVE key (the config URL's query).
    expect(log.lines.filter((l) => !l.includes('Retrieving configuration'))).to.not.satisfy(
      (lines: string[]) =>
        lines.some((l) => l.includes(agent.identity.curve.publicKey) || l.includes('ccpk=')),
    );
  });

  it('with chef_server_urls and no load balancer: tries the next URL and runs a job there', async function () {
    second = await SecondInstance.start(h);
    const log = new LogLines();
    const agent = await startAgent('web2', [h.orgUrl, second.orgUrl], log);
    await until(() => h.isAvailable('web2'), 'web2 available on the first instance');
    expect(agent.status().serverUrl).to.equal(h.orgUrl);

    const ms = await killFirstAndWait('web2');
    failoverTimes.push({ test: 'chef_server_urls', ms });

    const status = agent.status();
    expect(status.serverUrl).to.equal(second.orgUrl);
    expect(status.server.commandAddress).to.equal(second.server.endpoints.command);
    expect(log.has(new RegExp(`re-fetching config from ${second.orgUrl}, then ${h.orgUrl}$`))).to.equal(true);
    const job = await second.runJob({ command: 'chef-client', nodes: ['web2'] });
    expect(job['nodes']).to.deep.equal({ succeeded: ['web2'] });
  });

  it('starts on the first URL that answers', async function () {
    second = await SecondInstance.start(h);
    const deadUrl = `http://127.0.0.1:${portOf(h.apiUrl)}/organizations/${ORG}`;
    await h.server.close();
    const log = new LogLines();
    const agent = await startAgent('web3', [deadUrl, second.orgUrl], log);
    expect(agent.status().serverUrl).to.equal(second.orgUrl);
    await until(() => second!.isAvailable('web3'), 'web3 available on the second instance');
  });

  it('with no server answering: reopens on the cached config, retries with back-off, finds the server back', async function () {
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: portOf(h.apiUrl) });
    const url = `http://127.0.0.1:${proxy.port}/organizations/${ORG}`;
    const log = new LogLines();
    const agent = await startAgent('web4', [url], log);
    await until(() => h.isAvailable('web4'), 'web4 available');

    // The API is gone through the balancer and the server stops: nothing answers.
    proxy.cut();
    await h.server.close();
    await until(() => log.has(/Closing and reopening sockets since server is down/), 'the fallback reopen');
    await until(
      () =>
        log.has(new RegExp(`WARN .*Could not fetch config from ${url} \\(.*\\); next try in \\d+\\.\\d+ s$`)),
      'a failure line with the next try',
    );
    expect(agent.status().refetching).to.equal(true);

    // The same server is back (same ports, a new incarnation); the API answers again.
    await h.restart();
    proxy.restore();
    await until(() => h.isAvailable('web4'), 'web4 available after the restart');
    await until(() => !agent.status().refetching, 'the re-fetch to end');
    expect(agent.status().serverIncarnationId).to.equal(h.server.incarnationId);
    expect(agent.status().moves).to.equal(0);
    const id = await h.startJob({ command: 'chef-client', nodes: ['web4'] });
    expect((await h.waitForJob(id))['nodes']).to.deep.equal({ succeeded: ['web4'] });
    // Failure lines are throttled: at most one a minute when nothing changes.
    const failures = log.lines.filter((l) => /WARN .*Could not fetch config/.test(l));
    expect(failures.length).to.be.at.most(2);
  });

  it('keeps reopened sockets when a re-fetch returns the same instance', async function () {
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: portOf(h.apiUrl) });
    const url = `http://127.0.0.1:${proxy.port}/organizations/${ORG}`;
    feed = new PausableHeartbeatFeed();
    const log = new LogLines();
    let subscriptionsWhenKept: number | undefined;
    log.watch((line) => {
      if (line.includes('Same server; kept the reopened sockets'))
        subscriptionsWhenKept ??= feed!.subscriptions;
    });
    const agent = await startAgent('web5', [url], log, { heartbeatFeed: feed });
    await until(() => h.isAvailable('web5'), 'web5 available');
    expect(feed.subscriptions).to.equal(1);

    // Heartbeats stop reaching the agent and the API does not answer: the fallback reopen.
    feed.paused = true;
    proxy.cut();
    await until(() => log.has(/Closing and reopening sockets since server is down/), 'the fallback reopen');
    expect(feed.subscriptions).to.equal(2);
    // The API answers again with the same instance: the reopened sockets stay.
    proxy.restore();
    await until(() => subscriptionsWhenKept !== undefined, 'a re-fetch that keeps the sockets');
    expect(subscriptionsWhenKept).to.equal(2);
    feed.paused = false;
    await until(() => agent.status().serverOnline && h.isAvailable('web5'), 'web5 available again');
    expect(agent.status().moves).to.equal(0);
    const id = await h.startJob({ command: 'chef-client', nodes: ['web5'] });
    expect((await h.waitForJob(id))['nodes']).to.deep.equal({ succeeded: ['web5'] });
  });
});
