// The fake agent against the real config endpoint (over HTTP) and the real ZeroMQ transports
// (ROUTER with CURVE + ZAP + the allow-list the endpoint fills, PUB for server heartbeats),
// without the job engine: the test plays the broker by hand.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import {
  encodeMessage,
  formatHttpDate,
  openMessage,
  validators,
  z85Decode,
  type MessageBody,
} from '@push-jobs/protocol/internal';
import { removeDir, tempDir, waitForValue } from '@push-jobs/testing';
import { Dealer } from 'zeromq';
import type { PushRuntime } from '../src/app.js';
import { createClientWithKey } from '../src/identity/service.js';
import { loadOrCreateServerKey, type ServerKeyPair } from '../src/keys/server-key.js';
import { SessionKeyManager } from '../src/keys/session-keys.js';
import { ZmqCommandTransport } from '../src/zmq/command-socket.js';
import { createZmqContext } from '../src/zmq/context.js';
import { MemoryCurveAllowList } from '../src/zmq/curve-allow-list.js';
import { generateCurveKeyPair } from '../src/zmq/curve-keys.js';
import { ZmqHeartbeatTransport } from '../src/zmq/heartbeat-socket.js';
import type { InboundMessage } from '../src/zmq/types.js';
import { ZapHandler } from '../src/zmq/zap-handler.js';
import { FakeAgent } from './helpers/fake-agent.js';
import { type ApiHarness, startApi } from './helpers/api.js';

const SERVER_INCARNATION = randomBytes(16).toString('hex');

interface Inbound {
  identity: Buffer;
  body: MessageBody;
}

function portOf(endpoint: string): number {
  const port = Number(/:(\d+)$/.exec(endpoint)?.[1]);
  if (!Number.isInteger(port)) throw new Error(`no port in ${endpoint}`);
  return port;
}

describe('FakeAgent against the config endpoint and the ZeroMQ transports', function () {
  let dataDir: string;
  let serverKey: ServerKeyPair;
  let allowList: MemoryCurveAllowList;
  let sessionKeys: SessionKeyManager;
  let zap: ZapHandler;
  let command: ZmqCommandTransport;
  let pub: ZmqHeartbeatTransport;
  let api: ApiHarness;
  let apiUrl: string;
  let clientKey: string;
  let heartbeatTimer: NodeJS.Timeout;
  let serverSequence = 0;
  /** Verified messages the "broker" received, with the key that verified them. */
  const inbound: Inbound[] = [];
  const unverified: InboundMessage[] = [];
  const agents: FakeAgent[] = [];

  function receivedByServer(type: string, predicate: (b: MessageBody) => boolean = () => true): Inbound[] {
    return inbound.filter((m) => m.body['type'] === type && predicate(m.body));
  }

  function sendToAgent(identity: Buffer, node: string, fields: Record<string, unknown>, seq: number) {
    const key = sessionKeys.candidates('acme', node)[0]!;
    const [header, body] = encodeMessage(
      { sequence: seq, timestamp: formatHttpDate(new Date()), ...fields },
      { method: 'hmac_sha256', key },
    );
    return command.send(identity, header, body);
  }

  async function startAgent(
    node: string,
    key = clientKey,
    extra: Partial<Parameters<typeof FakeAgent.start>[0]> = {},
  ) {
    const agent = await FakeAgent.start({ apiUrl, org: 'acme', node, clientKeyPem: key, ...extra });
    agents.push(agent);
    return agent;
  }

  before(async () => {
    dataDir = tempDir('pj-fake-agent-');
    serverKey = await loadOrCreateServerKey(dataDir);
    allowList = new MemoryCurveAllowList();
    sessionKeys = new SessionKeyManager({ lifetimeMs: 3_600_000 });
    const serverCurve = generateCurveKeyPair();
    zap = await ZapHandler.start({ allowList, context: createZmqContext() });
    command = await ZmqCommandTransport.bind({ endpoint: 'tcp://127.0.0.1:0', curve: serverCurve, zap });
    pub = await ZmqHeartbeatTransport.bind({ endpoint: 'tcp://127.0.0.1:0' });
    command.onMessage((message) => {
      const opened = openMessage([message.header, message.body], (body) => {
        const [key] = sessionKeys.candidates(String(body['org']), String(body['node']));
        return key;
      });
      if (opened.ok) inbound.push({ identity: message.identity, body: opened.body });
      else unverified.push(message);
    });
    heartbeatTimer = setInterval(() => {
      const [header, body] = encodeMessage(
        {
          sequence: serverSequence++,
          timestamp: formatHttpDate(new Date()),
          server: 'test-host',
          type: 'heartbeat',
          incarnation_id: SERVER_INCARNATION,
        },
        { method: 'rsa2048_sha1', privateKey: serverKey.privateKeyPem },
      );
      pub.publish(header, body);
    }, 50);
    heartbeatTimer.unref();

    const runtime: PushRuntime = {
      serverPublicKeyPem: serverKey.publicKeyPem,
      curvePublicKey: serverCurve.publicKey,
      allowList,
      sessionKeys,
    };
    api = await startApi({
      config: {
        server_name: '127.0.0.1',
        command_port: portOf(command.endpoint),
        server_heartbeat_port: portOf(pub.endpoint),
        heartbeat_interval: 200,
      },
      app: { runtime, incarnationId: SERVER_INCARNATION },
    });
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    apiUrl = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    clientKey = (await createClientWithKey(api.store, { org: 'acme', name: 'web01' })).privateKey!;
  });

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    inbound.length = 0;
    unverified.length = 0;
  });

  after(async () => {
    clearInterval(heartbeatTimer);
    await api?.close();
    await command?.close();
    await pub?.close();
    await zap?.close();
    removeDir(dataDir);
  });

  it('fetches its config, decrypts the server’s session key, and gets its CURVE key admitted', async () => {
    const agent = await startAgent('web01');
    expect(validators.configDocument.errors(agent.config)).to.deep.equal([]);
    expect(agent.config.push_jobs.heartbeat.command_addr).to.equal(command.endpoint);
    expect(agent.config.push_jobs.heartbeat.out_addr).to.equal(pub.endpoint);
    expect(agent.config.public_key).to.equal(`${serverKey.publicKeyPem.trimEnd()}\n\n`);
    expect(agent.sessionKey).to.deep.equal(sessionKeys.candidates('acme', 'web01')[0]);
    expect(allowList.lookup(z85Decode(agent.curvePublicKey)!)).to.deep.equal({ org: 'acme', node: 'web01' });
  });

  it('sends signed heartbeats with the envelope of spec 5.3 over CURVE', async () => {
    const agent = await startAgent('web01');
    const [first] = await waitForValue('a heartbeat', () => {
      const hb = receivedByServer('heartbeat', (b) => b['incarnation_id'] === agent.incarnationId);
      return hb.length >= 2 ? hb : undefined;
    });
    const body = first!.body;
    expect(Object.keys(body)).to.deep.equal([
      'node',
      'client',
      'protocol_version',
      'org',
      'type',
      'sequence',
      'timestamp',
      'incarnation_id',
      'job_state',
      'job_id',
    ]);
    expect(body).to.deep.include({
      node: 'web01',
      protocol_version: '2.0',
      org: 'acme',
      type: 'heartbeat',
      sequence: 1,
      incarnation_id: agent.incarnationId,
      job_state: 'idle',
      job_id: null,
    });
    expect(validators.clientMessage.errors(body)).to.deep.equal([]);
    expect(unverified).to.deep.equal([]);
  });

  it('verifies the server heartbeats and records the server incarnation and sequence', async () => {
    const agent = await startAgent('web01');
    const hb = await agent.waitFor('heartbeat');
    expect(hb.channel).to.equal('heartbeat');
    expect(hb.body['server']).to.equal('test-host');
    await waitForValue('two server heartbeats', () =>
      agent.received('heartbeat').length >= 2 ? true : undefined,
    );
    expect(agent.serverIncarnation).to.equal(SERVER_INCARNATION);
    expect(agent.serverSequence).to.be.a('number');
    expect(agent.rejected()).to.deep.equal([]);
  });

  it('answers an abort sent through the transport with aborted', async () => {
    const agent = await startAgent('web01');
    const hb = await waitForValue('a heartbeat', () => receivedByServer('heartbeat')[0]);
    expect(await sendToAgent(hb.identity, 'web01', { type: 'abort' }, 1)).to.equal(true);
    const abort = await agent.waitFor('abort');
    expect(abort.channel).to.equal('command');
    const aborted = await waitForValue('aborted', () => receivedByServer('aborted')[0]);
    expect(aborted.body).to.deep.include({ node: 'web01', org: 'acme', job_id: null });
    expect(agent.state).to.deep.equal({ jobState: 'idle', jobId: null });
  });

  it('runs a job: ack_commit, ack_run, then succeeded with the captured output', async () => {
    const agent = await startAgent('web01', clientKey, {
      behavior: { stdout: 'hello\n', stderr: 'warn\n', runDelayMs: 50 },
    });
    const { identity } = await waitForValue('a heartbeat', () => receivedByServer('heartbeat')[0]);
    const job = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
    await sendToAgent(
      identity,
      'web01',
      { type: 'commit', job_id: job, server: 'x', command: 'chef-client', capture: true },
      1,
    );
    await waitForValue('ack_commit', () => receivedByServer('ack_commit')[0]);
    expect(agent.state).to.deep.equal({ jobState: 'committed', jobId: job });
    // Heartbeats now report the job.
    await waitForValue(
      'a committed heartbeat',
      () => receivedByServer('heartbeat', (b) => b['job_state'] === 'committed' && b['job_id'] === job)[0],
    );
    await sendToAgent(identity, 'web01', { type: 'run', job_id: job }, 2);
    await waitForValue('ack_run', () => receivedByServer('ack_run', (b) => b['job_id'] === job)[0]);
    const done = await waitForValue('succeeded', () => receivedByServer('succeeded')[0]);
    expect(done.body).to.deep.include({ job_id: job, stdout: 'hello\n', stderr: 'warn\n' });
    expect(Object.keys(done.body).slice(-2)).to.deep.equal(['stdout', 'stderr']);
    expect(agent.state).to.deep.equal({ jobState: 'idle', jobId: null });
  });

  it('nacks, ignores and fails as its behavior says, and drops forged server messages', async () => {
    const agent = await startAgent('web01', clientKey, { behavior: { onCommit: 'nack' } });
    const { identity } = await waitForValue('a heartbeat', () => receivedByServer('heartbeat')[0]);
    await sendToAgent(
      identity,
      'web01',
      { type: 'commit', job_id: 'j1', server: 'x', command: 'c', capture: false },
      1,
    );
    await waitForValue('nack_commit', () => receivedByServer('nack_commit', (b) => b['job_id'] === 'j1')[0]);

    agent.setBehavior({ onCommit: 'ack', result: 'failed', stdout: 'out' });
    await sendToAgent(
      identity,
      'web01',
      { type: 'commit', job_id: 'j2', server: 'x', command: 'c', capture: false },
      2,
    );
    await waitForValue('ack_commit', () => receivedByServer('ack_commit', (b) => b['job_id'] === 'j2')[0]);
    await sendToAgent(identity, 'web01', { type: 'run', job_id: 'j2' }, 3);
    const failed = await waitForValue(
      'failed',
      () => receivedByServer('failed', (b) => b['job_id'] === 'j2')[0],
    );
    expect(failed.body).to.not.have.property('stdout'); // capture was false

    // A run for a job it did not commit to: nack_run.
    await sendToAgent(identity, 'web01', { type: 'run', job_id: 'j9' }, 4);
    await waitForValue('nack_run', () => receivedByServer('nack_run', (b) => b['job_id'] === 'j9')[0]);

    // A commit signed with another key is dropped, unanswered.
    const [header, body] = encodeMessage(
      { sequence: 5, timestamp: formatHttpDate(new Date()), type: 'commit', job_id: 'j3', command: 'c' },
      { method: 'hmac_sha256', key: randomBytes(32) },
    );
    await command.send(identity, header, body);
    await waitForValue('a rejected message', () => (agent.rejected().length > 0 ? true : undefined));
    expect(agent.rejected()[0]).to.include({ channel: 'command', code: 'bad_signature' });
    expect(agent.received('commit').map((m) => m.body['job_id'])).to.deep.equal(['j1', 'j2']);
    expect(receivedByServer('ack_commit', (b) => b['job_id'] === 'j3')).to.deep.equal([]);
  });

  it('sends raw and forged messages for tests, with the envelope or without', async () => {
    const agent = await startAgent('web01', clientKey, { behavior: { heartbeats: false } });
    await agent.send('ack_commit', { job_id: 'x1', extra: 1 });
    await waitForValue('ack_commit', () => receivedByServer('ack_commit')[0]);
    expect(receivedByServer('ack_commit')[0]!.body).to.deep.include({ job_id: 'x1', extra: 1, sequence: 1 });
    await agent.send('heartbeat', {}, { key: randomBytes(32) });
    await waitForValue('an unverified message', () => unverified[0]);
    expect(receivedByServer('heartbeat')).to.deep.equal([]);
    expect(agent.sent().map((b) => b['type'])).to.deep.equal(['ack_commit', 'heartbeat']);
  });

  it('restarts as a new incarnation with a new CURVE key and sequence from 1', async () => {
    const agent = await startAgent('web01');
    const before = { incarnation: agent.incarnationId, curve: agent.curvePublicKey };
    await waitForValue('a heartbeat', () => receivedByServer('heartbeat')[0]);
    await agent.restart();
    expect(agent.incarnationId).to.not.equal(before.incarnation);
    expect(agent.curvePublicKey).to.not.equal(before.curve);
    expect(allowList.lookup(z85Decode(agent.curvePublicKey)!)).to.deep.equal({ org: 'acme', node: 'web01' });
    // One admitted key per node: the old one is out.
    expect(allowList.lookup(z85Decode(before.curve)!)).to.equal(undefined);
    const hb = await waitForValue(
      'a heartbeat of the new incarnation',
      () => receivedByServer('heartbeat', (b) => b['incarnation_id'] === agent.incarnationId)[0],
    );
    expect(hb.body['sequence']).to.equal(1);
  });

  it('a CURVE client whose key was never admitted cannot reach the command socket', async () => {
    const stranger = generateCurveKeyPair();
    const deniedBefore = zap.denied;
    const dealer = new Dealer({
      linger: 0,
      sendTimeout: 0,
      curveServerKey: (await startAgent('web01')).config.curve_public_key!,
      curvePublicKey: stranger.publicKey,
      curveSecretKey: stranger.secretKey,
    });
    try {
      dealer.connect(command.endpoint);
      const key = sessionKeys.candidates('acme', 'web01')[0]!;
      await dealer
        .send(
          encodeMessage(
            {
              node: 'web01',
              org: 'acme',
              type: 'heartbeat',
              timestamp: formatHttpDate(new Date()),
              incarnation_id: 'x',
            },
            { method: 'hmac_sha256', key },
          ),
        )
        .catch(() => undefined);
      await waitForValue('a ZAP denial', () => (zap.denied > deniedBefore ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(receivedByServer('heartbeat', (b) => b['incarnation_id'] === 'x')).to.deep.equal([]);
    } finally {
      dealer.close();
    }
  });

  it('stop() closes everything: waiters reject and sends are refused', async () => {
    const agent = await startAgent('web01');
    const pending = agent.waitFor('commit', undefined, 10_000);
    await agent.stop();
    let error: unknown;
    try {
      await pending;
    } catch (err) {
      error = err;
    }
    expect((error as Error).message).to.match(/stopped/);
    expect(() => agent.send('heartbeat')).to.throw(/not connected/);
    await agent.stop(); // idempotent
  });
});
