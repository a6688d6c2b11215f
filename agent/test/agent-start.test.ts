// The first config fetch: retried while the server is unreachable or answers 5xx (A.4), not
// retried on answers that another try cannot fix.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { Agent } from '../src/agent.js';
import { AgentStartError } from '../src/connection.js';
import { until } from '@push-jobs/testing';
import { PushTestServer, TestRunner, ORG } from './helpers/agent-harness.js';

/** An HTTP front that answers `status` to the first `failures` requests, then forwards to `target`. */
async function flakyFront(
  target: string,
  failures: number,
  status: number,
): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    if (hits <= failures) {
      res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":["try later"]}');
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string' && k !== 'host') headers[k] = v;
    void fetch(`${target}${req.url ?? ''}`, { headers }).then(async (upstream) => {
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('agent start-up config fetch retries', function () {
  this.timeout(30_000);
  let h: PushTestServer;

  beforeEach(async () => {
    h = await PushTestServer.start();
  });

  afterEach(async () => {
    await h.close();
  });

  it('retries a 503 and starts once the server answers', async () => {
    const options = await h.agentOptions('web1');
    const front = await flakyFront(h.apiUrl, 2, 503);
    const agent = await Agent.create(
      { ...options, chef_server_url: `${front.url}/organizations/${ORG}` },
      { runner: (reply) => new TestRunner(reply), startRetries: { count: 3, delayMs: 20 } },
    );
    try {
      expect(front.hits()).to.equal(3);
      await until(() => h.isAvailable('web1'), 'web1 available');
    } finally {
      await agent.shutdown();
      await front.close();
    }
  });

  it('gives up after the configured retries with a retryable error', async () => {
    const options = await h.agentOptions('web2');
    const front = await flakyFront(h.apiUrl, 100, 502);
    try {
      const err = await Agent.create(
        { ...options, chef_server_url: `${front.url}/organizations/${ORG}` },
        { runner: (reply) => new TestRunner(reply), startRetries: { count: 2, delayMs: 10 } },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(AgentStartError);
      expect((err as AgentStartError).retryable).to.equal(true);
      expect((err as AgentStartError).message).to.match(/HTTP 502/);
      expect(front.hits()).to.equal(3);
    } finally {
      await front.close();
    }
  });

  it('does not retry an answer another try cannot fix (401)', async () => {
    const options = await h.agentOptions('web3');
    const front = await flakyFront(h.apiUrl, 100, 401);
    try {
      const err = await Agent.create(
        { ...options, chef_server_url: `${front.url}/organizations/${ORG}` },
        { runner: (reply) => new TestRunner(reply), startRetries: { count: 5, delayMs: 10 } },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as AgentStartError).retryable).to.equal(false);
      expect(front.hits()).to.equal(1);
    } finally {
      await front.close();
    }
  });

  it('stops waiting to retry when its signal aborts', async () => {
    const options = await h.agentOptions('web4');
    const front = await flakyFront(h.apiUrl, 100, 503);
    const controller = new AbortController();
    try {
      const pending = Agent.create(
        { ...options, chef_server_url: `${front.url}/organizations/${ORG}` },
        {
          runner: (reply) => new TestRunner(reply),
          startRetries: { count: 5, delayMs: 60_000 },
          signal: controller.signal,
        },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      await until(() => front.hits() === 1, 'the first attempt');
      controller.abort();
      const err = await pending;
      expect((err as Error).message).to.match(/stopped while waiting/);
      expect(front.hits()).to.equal(1);
    } finally {
      await front.close();
    }
  });
});
