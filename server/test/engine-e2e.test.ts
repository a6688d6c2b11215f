// The job engine for real: the server's ROUTER (CURVE + ZAP), PUB, tracker and engine, and fake
// agents speaking the wire protocol over TCP on 127.0.0.1.
import { expect } from 'chai';
import { Dealer } from 'zeromq';
import { encodeMessage, formatHttpDate, signRequest } from '@push-jobs/protocol/internal';
import { generateCurveKeyPair } from '../src/zmq/curve-keys.js';
import { availableFakeAgent, type Behavior, type FakeAgent } from './helpers/fake-agent.js';
import { until } from '@push-jobs/testing';
import { PushFixture } from '@push-jobs/testing/push-server';

describe('job engine end to end (real sockets, fake agents)', function () {
  this.timeout(30_000);
  let h: PushFixture;
  const agents: FakeAgent[] = [];

  const agent = (node: string, behavior: Partial<Behavior> = {}): Promise<FakeAgent> =>
    availableFakeAgent(h, agents, node, behavior);

  const nodeStates = (job: Record<string, unknown>) => job.nodes as Record<string, string[]>;

  beforeEach(async () => {
    h = await PushFixture.start();
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.stop();
    await h.close();
  });

  it('a node connects: abort first, aborted, then available on both node_states endpoints', async () => {
    const a = await agent('web1');
    // The first command; a server heartbeat on the SUB socket may arrive before it.
    const firstCommand = a.received().find((m) => m.channel === 'command');
    expect(firstCommand?.body.type).to.equal('abort');
    const list = await h.request('GET', '/organizations/acme/pushy/node_states');
    expect(list.json).to.deep.equal([{ node_name: 'web1', availability: 'available', state: 'idle' }]);
    const one = await h.request('GET', '/organizations/acme/pushy/node_states/web1');
    expect(one.json).to.deep.equal({
      node_name: 'web1',
      status: 'online',
      availability: 'available',
      state: 'idle',
    });
  });

  it('complete: every node succeeds or fails; output is captured; feed events in order', async () => {
    await agent('web1', { stdout: 'hello\n', stderr: '' });
    await agent('web2', { result: 'failed', stdout: '', stderr: 'boom' });
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1', 'web2'], capture_output: true });
    const job = await h.waitForJob(id);
    expect(job.status).to.equal('complete');
    expect(nodeStates(job)).to.deep.equal({ succeeded: ['web1'], failed: ['web2'] });
    const out = await h.request(
      'GET',
      `/organizations/acme/pushy/jobs/${id}/output/web1/stdout`,
      undefined,
      '*/*',
    );
    expect(out.text).to.equal('hello\n');
    const err = await h.request(
      'GET',
      `/organizations/acme/pushy/jobs/${id}/output/web2/stderr`,
      undefined,
      '*/*',
    );
    expect(err.text).to.equal('boom');
    // Both nodes are back to available after the job.
    await until(
      () => h.server.tracker.isAvailable('acme', 'web1') && h.server.tracker.isAvailable('acme', 'web2'),
      'idle again',
    );
  });

  it('the job feed streams the job’s events in order over real HTTP and ends after job_complete', async () => {
    await agent('web1', { runDelayMs: 300 });
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1'] });
    const path = `/organizations/acme/pushy/job_status_feed/${id}`;
    const headers = signRequest({ method: 'GET', path, userId: 'alice', privateKey: h.adminKey });
    const res = await fetch(`${h.apiUrl}${path}`, { headers: { ...headers, accept: 'text/event-stream' } });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/event-stream/);
    const text = await res.text(); // resolves only when the server ends the stream
    expect(text.endsWith('\n\n')).to.equal(true);
    const events = text
      .trim()
      .split('\n\n')
      .map((block) => {
        const [event, idLine, data] = block.split('\n');
        return {
          event: event!.slice(7),
          id: idLine!.slice(4),
          data: JSON.parse(data!.slice(6)) as Record<string, unknown>,
        };
      });
    expect(events.map((e) => e.event)).to.deep.equal([
      'start',
      'quorum_vote',
      'quorum_succeeded',
      'run_start',
      'run_complete',
      'job_complete',
    ]);
    expect(events.map((e) => e.id)).to.deep.equal(['job-1', 'job-2', 'job-3', 'job-4', 'job-5', 'job-6']);
    expect(Object.keys(events[0]!.data)[0]).to.equal('timestamp');
    expect(events[0]!.data).to.deep.include({
      command: 'chef-client',
      user: 'alice',
      node_count: 1,
      quorum: 1,
      capture: false,
    });
    expect(events[5]!.data.status).to.equal('complete');
  });

  it('the commit carries the job’s options in the original order', async () => {
    const a = await agent('web1');
    const id = await h.startJob({
      command: 'deploy',
      nodes: ['web1'],
      user: 'app',
      dir: '/srv',
      env: { A: '1' },
      file: 'raw:x',
      capture_output: true,
    });
    const commit = await a.waitFor('commit');
    expect(Object.keys(commit.body)).to.deep.equal([
      'sequence',
      'timestamp',
      'type',
      'job_id',
      'server',
      'command',
      'user',
      'dir',
      'env',
      'file',
      'capture',
      'run_timeout',
      'voting_timeout',
      'output_stream_max_bytes',
    ]);
    expect(commit.body).to.deep.include({
      job_id: id,
      server: '127.0.0.1',
      command: 'deploy',
      capture: true,
      output_stream_max_bytes: 1_048_576,
    });
    await h.waitForJob(id);
  });

  it('runs unencrypted when disable_curve_encryption is set (for old clients)', async () => {
    await h.close();
    h = await PushFixture.start({ config: { disable_curve_encryption: true } });
    const a = await agent('web1');
    expect(a.config).to.not.have.property('curve_public_key');
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1'] });
    expect((await h.waitForJob(id)).status).to.equal('complete');
  });

  it('quorum_failed: an offline node, and a node that nacks', async () => {
    await agent('web1', { onCommit: 'nack' });
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1', 'ghost'], quorum: 1 });
    const job = await h.waitForJob(id);
    expect(job.status).to.equal('quorum_failed');
    expect(nodeStates(job)).to.deep.equal({ nacked: ['web1'], unavailable: ['ghost'] });
  });

  it('fails early: with one of two nodes offline and quorum 2, the job ends without waiting; the late vote is recorded', async () => {
    const a = await agent('web1', { onCommit: 'ignore' });
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1', 'ghost'] });
    const job = await h.waitForJob(id);
    expect(job.status).to.equal('quorum_failed');
    // web1 has not voted: it keeps its vote, and gets no abort (it may be busy elsewhere).
    expect(nodeStates(job)).to.deep.equal({ new: ['web1'], unavailable: ['ghost'] });
    // It acks late: was_ready, as the original records it, and it gets this job's abort.
    // The job may fail before the commit reaches web1 (the failure needs no vote): wait for it.
    const commit = await a.waitFor('commit', (m) => m.body.job_id === id);
    expect(await a.send('ack_commit', { job_id: id })).to.equal(true);
    const abort = await a.waitFor('abort', (m) => m.body.job_id === id);
    expect(abort.body.sequence).to.be.greaterThan(commit.body.sequence as number);
    await until(async () => {
      const after = await h.waitForJob(id);
      return (
        JSON.stringify(nodeStates(after)) === JSON.stringify({ unavailable: ['ghost'], was_ready: ['web1'] })
      );
    }, 'web1 recorded was_ready');
  });

  it('quorum met by count with one node offline; the online node runs', async () => {
    await agent('web1');
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1', 'ghost'], quorum: 1 });
    const job = await h.waitForJob(id);
    expect(job.status).to.equal('complete');
    expect(nodeStates(job)).to.deep.equal({ succeeded: ['web1'], unavailable: ['ghost'] });
  });

  it('voting timeout: a node that ignores the commit', async () => {
    await h.close();
    h = await PushFixture.start({ config: { voting_timeout: 1 } });
    await agent('web1', { onCommit: 'ignore' });
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1'] });
    const job = await h.waitForJob(id);
    expect(job.status).to.equal('quorum_failed');
    expect(nodeStates(job)).to.deep.equal({ unavailable: ['web1'] });
  });

  it('timed_out: a node that never finishes within run_timeout gets abort', async () => {
    const a = await agent('web1', { result: 'none' });
    const id = await h.startJob({ command: 'sleep 100', nodes: ['web1'], run_timeout: 1 });
    const job = await h.waitForJob(id);
    expect(job.status).to.equal('timed_out');
    expect(nodeStates(job)).to.deep.equal({ timed_out: ['web1'] });
    await a.waitFor('abort', (m) => m.body.sequence !== 1);
  });

  it('aborted through the API: abort reaches the running node, the job ends aborted', async () => {
    const a = await agent('web1', { result: 'none' });
    const id = await h.startJob({ command: 'sleep 100', nodes: ['web1'] });
    await a.waitFor('run');
    await until(
      async () =>
        nodeStates(
          (await h.request('GET', `/organizations/acme/pushy/jobs/${id}`)).json as Record<string, unknown>,
        ).running !== undefined,
      'running',
    );
    const res = await h.request('POST', `/organizations/acme/pushy/jobs/${id}/abort`);
    expect(res.status).to.equal(200);
    expect((res.json as { status: string }).status).to.equal('aborted');
    await a.waitFor('abort', (m) => m.body.sequence !== 1);
    await until(() => h.server.tracker.isAvailable('acme', 'web1'), 'available after abort');
  });

  it('a node that stops mid-job is crashed when its record dies; the server stays healthy', async () => {
    await h.close();
    h = await PushFixture.start({ config: { heartbeat_interval: 100, detect_offline_nodes_interval: 2 } });
    const a = await agent('web1', { result: 'none' });
    await agent('web2', { runDelayMs: 100 });
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1', 'web2'] });
    await a.waitFor('run');
    await a.stop();
    const job = await h.waitForJob(id);
    expect(job.status).to.equal('complete');
    expect(nodeStates(job)).to.deep.equal({ crashed: ['web1'], succeeded: ['web2'] });
    const status = await h.request('GET', '/pushy/_status');
    expect(status.status).to.equal(200);
  });

  it('a client restart mid-run (new incarnation) crashes its part of the job; it becomes available again', async () => {
    const a = await agent('web1', { result: 'none' });
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1'] });
    await a.waitFor('run');
    await a.restart();
    const job = await h.waitForJob(id);
    expect(nodeStates(job)).to.deep.equal({ crashed: ['web1'] });
    await until(() => h.server.tracker.isAvailable('acme', 'web1'), 'available after restart');
  });

  it('server restart mid-job: the job becomes crashed; agents reconnect through rehab and the next job succeeds', async () => {
    const a = await agent('web1', { result: 'none' });
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1'] });
    await a.waitFor('run');
    await h.restart();
    expect(h.server.crashedAtStart).to.deep.equal([id]);
    const job = (await h.request('GET', `/organizations/acme/pushy/jobs/${id}`)).json as Record<
      string,
      unknown
    >;
    expect(job.status).to.equal('crashed');
    expect(nodeStates(job)).to.deep.equal({ crashed: ['web1'] });
    a.setBehavior({ result: 'succeeded' });
    await a.restart();
    await until(() => h.server.tracker.isAvailable('acme', 'web1'), 'web1 back after server restart');
    const next = await h.startJob({ command: 'chef-client', nodes: ['web1'] });
    expect((await h.waitForJob(next)).status).to.equal('complete');
  });

  it('forged, replayed, skewed and garbage messages are dropped while a real job completes', async () => {
    // The run is held until the bad messages have been read, so they land mid-job however slow
    // the machine is.
    const a = await agent('web1', { result: 'none' });
    const id = await h.startJob({ command: 'chef-client', nodes: ['web1'] });
    await a.waitFor('run');
    const stats = h.server.broker.stats;
    const before = { ...stats };
    const transportBefore = h.server.transportStats().droppedMalformed;
    // Each send resolves true once the DEALER took the message; a full send queue is waited on.
    const taken: boolean[] = [];
    // Forged: signed with the wrong key, claiming the job failed.
    taken.push(await a.send('failed', { job_id: id }, { key: Buffer.alloc(32, 7) }));
    // Replayed: a message with a sequence already accepted on this connection.
    const last = a.sent('ack_run').at(-1)!;
    taken.push(
      await a.sendFrames(
        encodeMessage({ ...last, type: 'failed', job_id: id }, { method: 'hmac_sha256', key: a.sessionKey }),
      ),
    );
    // Too old.
    taken.push(
      await a.send('failed', { job_id: id, timestamp: formatHttpDate(new Date(Date.now() - 3_600_000)) }),
    );
    // Garbage: frames the ROUTER drops (one and three application frames), and a header and body
    // that reach the broker and do not parse.
    taken.push(await a.sendFrames([Buffer.from('garbage')]));
    taken.push(
      await a.sendFrames([
        Buffer.from('Version:2.0;SigningMethod:hmac_sha256;Signature:AAAA'),
        Buffer.from('{not json'),
      ]),
    );
    taken.push(await a.sendFrames([Buffer.alloc(10), Buffer.alloc(10), Buffer.alloc(10)]));
    expect(taken).to.deep.equal([true, true, true, true, true, true]);
    await until(
      () =>
        stats.badSignature > before.badSignature &&
        stats.replayed > before.replayed &&
        stats.badTimestamp > before.badTimestamp &&
        stats.malformed > before.malformed &&
        h.server.transportStats().droppedMalformed >= transportBefore + 2,
      'the bad messages to be dropped',
    );
    expect(stats.badSignature - before.badSignature).to.equal(1);
    expect(stats.replayed - before.replayed).to.equal(1);
    expect(stats.badTimestamp - before.badTimestamp).to.equal(1);
    expect(stats.malformed - before.malformed).to.equal(1);
    expect(h.server.transportStats().droppedMalformed - transportBefore).to.equal(2);
    // None of them touched the job: it is still running, and completes when the run ends.
    const running = (await h.request('GET', `/organizations/acme/pushy/jobs/${id}`)).json as Record<
      string,
      unknown
    >;
    expect(running.status).to.equal('running');
    expect(nodeStates(running)).to.deep.equal({ running: ['web1'] });
    expect(await a.finishRun('succeeded')).to.equal(true);
    const job = await h.waitForJob(id);
    expect(job.status).to.equal('complete');
    expect(nodeStates(job)).to.deep.equal({ succeeded: ['web1'] });
  });

  it('a CURVE key that was never admitted by a signed config fetch is refused by ZAP; nothing reaches the broker', async () => {
    const serverKey = (await agent('web1')).config.curve_public_key!;
    const stranger = generateCurveKeyPair();
    const dealer = new Dealer({
      linger: 0,
      curveServerKey: serverKey,
      curvePublicKey: stranger.publicKey,
      curveSecretKey: stranger.secretKey,
    });
    dealer.connect(h.server.endpoints.command);
    const deniedBefore = h.server.transportStats().zapDenied;
    const [header, body] = encodeMessage(
      { type: 'heartbeat', org: 'acme', node: 'web1' },
      { method: 'hmac_sha256', key: Buffer.alloc(32) },
    );
    await dealer.send([header, body]).catch(() => undefined);
    await until(() => h.server.transportStats().zapDenied > deniedBefore, 'the ZAP refusal');
    dealer.close();
    // Had the message been delivered, its zero-key signature would have been counted.
    expect(h.server.broker.stats.badSignature).to.equal(0);
  });
});

describe('job engine: a running node whose result was lost', function () {
  this.timeout(60_000);
  let h: PushFixture;
  const agents: FakeAgent[] = [];

  beforeEach(async () => {
    h = await PushFixture.start();
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.stop();
    await h.close();
  });

  it('is ended crashed once it says, twice, that it holds nothing (not at the run timeout)', async () => {
    const lost = await availableFakeAgent(h, agents, 'lost1', { result: 'none' });
    await availableFakeAgent(h, agents, 'fine1');
    const id = await h.startJob({ command: 'chef-client', nodes: ['lost1', 'fine1'], run_timeout: 3600 });
    await until(() => lost.state.jobState === 'running', 'lost1 running');
    expect(lost.loseResult()).to.equal(true);
    const job = await h.waitForJob(id, 30_000);
    expect(job.status).to.equal('complete');
    expect(job.nodes).to.deep.equal({ crashed: ['lost1'], succeeded: ['fine1'] });
    expect(h.server.engine.lostResults).to.equal(1);
  });
});
