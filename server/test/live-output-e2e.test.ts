// Live output end to end: the real server (ROUTER with CURVE, broker, tracker, engine, collector,
// store, feeds, HTTP) and fake agents that send `output` messages over TCP.
import http from 'node:http';
import { signRequest } from '@push-jobs/protocol/internal';
import { until } from '@push-jobs/testing';
import { PushFixture } from '@push-jobs/testing/push-server';
import { expect } from 'chai';
import type { SseEvent } from '../src/feeds/event-format.js';
import { availableFakeAgent, type Behavior, type FakeAgent } from './helpers/fake-agent.js';

interface ParsedEvent {
  event: string;
  id: string;
  data: Record<string, unknown>;
}

interface Stream {
  events(): ParsedEvent[];
  ended: Promise<void>;
  close(): void;
}

function parse(text: string): ParsedEvent[] {
  return text
    .split('\n\n')
    .slice(0, -1)
    .filter((b) => b.startsWith('event:'))
    .map((b) => {
      const [event, id, data] = b.split('\n') as [string, string, string];
      return {
        event: event.slice(7),
        id: id.slice(4),
        data: JSON.parse(data.slice(6)) as Record<string, unknown>,
      };
    });
}

describe('live output end to end (real sockets, fake agents)', function () {
  this.timeout(60_000);
  let h: PushFixture;
  const agents: FakeAgent[] = [];
  const streams: Stream[] = [];

  const agent = (node: string, behavior: Partial<Behavior> = {}): Promise<FakeAgent> =>
    availableFakeAgent(h, agents, node, behavior);

  /** Starts a capture job on `nodes` and waits until every one of them runs it. */
  async function running(nodes: string[], capture = true): Promise<string> {
    const id = await h.startJob({ command: 'chef-client', nodes, capture_output: capture });
    await until(
      () => nodes.every((n) => h.server.engine.run(id)?.nodes.get(n) === 'running'),
      `${nodes.join(',')} running`,
    );
    return id;
  }

  function output(a: FakeAgent, jobId: string, seq: number, channel: string, data: string, extra = {}) {
    return a.send('output', { job_id: jobId, seq, channel, data, ...extra });
  }

  /** GET output over HTTP, with the headers (signed as the admin). */
  async function read(id: string, node: string, channel: 'stdout' | 'stderr') {
    const path = `/organizations/acme/pushy/jobs/${id}/output/${node}/${channel}`;
    const headers = {
      accept: '*/*',
      ...signRequest({
        method: 'GET',
        path,
        body: '',
        userId: 'alice',
        privateKey: h.adminKey,
        version: '1.3',
      }),
    };
    const res = await fetch(`${h.apiUrl}${path}`, { headers });
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  function open(path: string): Promise<Stream> {
    const headers = {
      accept: 'text/event-stream',
      ...signRequest({
        method: 'GET',
        path,
        body: '',
        userId: 'alice',
        privateKey: h.adminKey,
        version: '1.3',
      }),
    };
    const url = new URL(h.apiUrl);
    return new Promise((resolve, reject) => {
      const req = http.get({ host: url.hostname, port: url.port, path, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        const ended = new Promise<void>((done) => res.on('end', done));
        const stream = { events: () => parse(body), ended, close: () => req.destroy() };
        streams.push(stream);
        expect(res.statusCode).to.equal(200);
        resolve(stream);
      });
      req.on('error', reject);
    });
  }

  beforeEach(async () => {
    h = await PushFixture.start();
  });
  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    for (const a of agents.splice(0)) await a.stop();
    await h.close();
  });

  it('the commit of a capture job carries output_stream_max_bytes; without capture it does not', async () => {
    const a = await agent('web1', { result: 'none' });
    const id = await running(['web1']);
    const commit = a.received('commit').find((m) => m.body.job_id === id);
    expect(commit?.body.output_stream_max_bytes).to.equal(h.server.config.output_stream_max_bytes);
    await a.finishRun();
    await h.waitForJob(id);
    const plain = await running(['web1'], false);
    const second = a.received('commit').find((m) => m.body.job_id === plain);
    expect(second?.body).to.not.have.property('output_stream_max_bytes');
    await a.finishRun();
    expect((await h.waitForJob(plain)).status).to.equal('complete');
  });

  it('chunks are appended in order, once each, readable while running, on the feed; the job completes', async () => {
    const a = await agent('web1', { result: 'none', stdout: 'a\nb\n', stderr: 'E\n' });
    const id = await running(['web1']);
    const live: SseEvent[] = [];
    h.server.feeds.subscribeJob('acme', id, undefined, {
      onEvent: (e) => live.push(e),
      onEnd: () => undefined,
    });
    const kept = h.server.feeds.jobEventCount('acme', id);
    await output(a, id, 0, 'stdout', 'a\n');
    await output(a, id, 1, 'stderr', 'E\n');
    await output(a, id, 1, 'stderr', 'again\n'); // a repeat
    await output(a, id, 2, 'stdout', 'b\n');
    await output(a, id, 0, 'stdout', 'old\n'); // late and repeated
    await until(async () => (await read(id, 'web1', 'stdout')).text === 'a\nb\n', 'partial stdout');
    const partial = await read(id, 'web1', 'stderr');
    expect(partial.text).to.equal('E\n');
    expect(partial.headers.get('x-push-jobs-output-partial')).to.equal('true');
    expect(h.server.engine.run(id)?.status).to.equal('running');
    const outputs = live.filter((e) => e.event === 'output').map((e) => e.data);
    expect(outputs.map((d) => [d.sequence, d.channel, d.data, d.node])).to.deep.equal([
      [0, 'stdout', 'a\n', 'web1'],
      [1, 'stderr', 'E\n', 'web1'],
      [2, 'stdout', 'b\n', 'web1'],
    ]);
    // Output is not kept for replay.
    expect(h.server.feeds.jobEventCount('acme', id)).to.equal(kept);
    expect(h.server.output?.stats.duplicates).to.equal(2);
    await a.finishRun();
    const job = await h.waitForJob(id);
    expect(job.status).to.equal('complete');
    expect((job.nodes as Record<string, string[]>).succeeded).to.deep.equal(['web1']);
    const final = await read(id, 'web1', 'stdout');
    expect(final.text).to.equal('a\nb\n');
    expect(final.headers.get('x-push-jobs-output-partial')).to.equal(null);
  });

  it('the cap is enforced (never more stored) and marks the output truncated', async () => {
    await h.close();
    h = await PushFixture.start({ config: { output_stream_max_bytes: 10 } });
    const a = await agent('web1', { result: 'none' });
    const id = await running(['web1']);
    await output(a, id, 0, 'stdout', '12345678');
    await output(a, id, 1, 'stdout', 'é€xyz'); // 2 + 3 bytes: only é fits
    await output(a, id, 2, 'stderr', 'zzz');
    await until(() => (h.server.output?.stats.capped ?? 0) >= 2, 'capped chunks');
    await until(async () => (await read(id, 'web1', 'stdout')).text === '12345678é', 'capped stdout');
    const res = await read(id, 'web1', 'stdout');
    expect(res.headers.get('x-push-jobs-output-truncated')).to.equal('true');
    expect((await read(id, 'web1', 'stderr')).text).to.equal('');
    await a.finishRun();
    expect((await h.waitForJob(id)).status).to.equal('complete');
    // No final output in the message (the agent sent none): the streamed one stays, truncated.
    const after = await read(id, 'web1', 'stdout');
    expect(after.text).to.equal('12345678é');
    expect(after.headers.get('x-push-jobs-output-truncated')).to.equal('true');
  });

  it('output from a node not running the job, or malformed, is dropped and is no fault', async () => {
    const a = await agent('web1', { result: 'none' });
    const idle = await agent('idle1');
    const id = await running(['web1']);
    await output(idle, id, 0, 'stdout', 'not mine'); // idle node
    await output(a, 'f'.repeat(32), 0, 'stdout', 'other job'); // a job web1 does not run
    await output(a, id, 'x' as unknown as number, 'stdout', 'bad seq');
    await output(a, id, 0, 'stdin', 'bad channel');
    await output(a, id, 0, 'stdout', 'x'.repeat(16_385));
    await output(a, id, 0, 'stdout', 'ok');
    await until(() => h.server.output?.stats.accepted === 1, 'the good chunk');
    const stats = h.server.outputStats();
    expect(stats.routed['not running the job']).to.equal(2);
    expect(stats.collector?.invalid).to.equal(3);
    // Nobody went to rehab; the job goes on and completes.
    expect(h.server.tracker.isAvailable('acme', 'idle1')).to.equal(true);
    expect(h.server.tracker.isAvailable('acme', 'web1')).to.equal(true);
    expect(h.server.engine.run(id)?.nodes.get('web1')).to.equal('running');
    await a.finishRun();
    expect((await h.waitForJob(id)).status).to.equal('complete');
    // After its result, a node's late output is dropped too.
    await output(a, id, 1, 'stdout', 'late');
    await until(() => h.server.outputStats().routed['not running the job'] === 3, 'late chunk dropped');
  });

  it('a node in rehab: its output is dropped, not a fault', async () => {
    const a = await agent('web1', { onCommit: 'ignore' });
    h.server.tracker.rehab('acme', 'web1');
    await output(a, 'f'.repeat(32), 0, 'stdout', 'x');
    await until(() => h.server.outputStats().routed['in rehab'] === 1, 'dropped in rehab');
  });

  it('a Ruby-style node (no chunks) gets its final output stored; its stream replays it, then ends', async () => {
    await agent('ruby1', { stdout: 'whole\n', stderr: 'err\n' });
    const id = await h.startJob({ command: 'chef-client', nodes: ['ruby1'], capture_output: true });
    expect((await h.waitForJob(id)).status).to.equal('complete');
    expect((await read(id, 'ruby1', 'stdout')).text).to.equal('whole\n');
    expect((await read(id, 'ruby1', 'stderr')).text).to.equal('err\n');
    const s = await open(`/organizations/acme/pushy/jobs/${id}/output/ruby1/stream`);
    await s.ended;
    expect(s.events().map((e) => [e.event, e.data.channel, e.data.data])).to.deep.equal([
      ['output', 'stdout', 'whole\n'],
      ['output', 'stderr', 'err\n'],
      ['end', undefined, undefined],
    ]);
    expect(s.events()[2]!.data).to.include({ node: 'ruby1', status: 'succeeded', stdout_truncated: false });
  });

  it('the per-node stream replays what is stored, follows live chunks, and ends with the node', async () => {
    const a = await agent('web1', { result: 'none', stdout: 'one\ntwo\nthree\n' });
    await agent('web2', { result: 'none' });
    const id = await running(['web1', 'web2']);
    await output(a, id, 0, 'stdout', 'one\n');
    await output(a, id, 1, 'stdout', 'two\n');
    await until(() => h.server.output?.stats.written === 2, 'two chunks written');
    const s = await open(`/organizations/acme/pushy/jobs/${id}/output/web1/stream`);
    await until(() => s.events().length === 2, 'replayed');
    await output(a, id, 2, 'stdout', 'three\n');
    await until(() => s.events().length === 3, 'followed');
    await a.finishRun();
    await s.ended;
    const events = s.events();
    expect(events.map((e) => e.id)).to.deep.equal(['output-0', 'output-1', 'output-2', 'end']);
    expect(events.slice(0, 3).map((e) => e.data.data)).to.deep.equal(['one\n', 'two\n', 'three\n']);
    expect(events[3]!.data).to.include({
      status: 'succeeded',
      stdout_truncated: false,
      stderr_truncated: false,
    });
    // The job still runs on web2: the stream ended with its node.
    expect(h.server.engine.run(id)?.status).to.equal('running');
    const missing = await h.request(
      'GET',
      `/organizations/acme/pushy/jobs/${id}/output/nope/stream`,
      undefined,
      'text/event-stream',
    );
    expect(missing.status).to.equal(404);
  });

  it('a flood of output from many nodes does not change a concurrent job’s votes or results', async () => {
    const flooders = await Promise.all(
      Array.from({ length: 12 }, (_, i) => agent(`flood${i}`, { result: 'none' })),
    );
    const workers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        agent(`work${i}`, { result: i % 2 === 0 ? 'succeeded' : 'failed' }),
      ),
    );
    const floodJob = await running(flooders.map((_, i) => `flood${i}`));
    const line = 'x'.repeat(2000);
    const sends = flooders.map(async (a) => {
      for (let seq = 0; seq < 300; seq++) await output(a, floodJob, seq, 'stdout', line);
    });
    const job = await h.startJob({
      command: 'chef-client',
      nodes: workers.map((_, i) => `work${i}`),
      quorum: 6,
    });
    const done = await h.waitForJob(job, 30_000);
    await Promise.all(sends);
    expect(done.status).to.equal('complete');
    expect(done.nodes).to.deep.equal({
      succeeded: ['work0', 'work2', 'work4'],
      failed: ['work1', 'work3', 'work5'],
    });
    // The flooding nodes are still healthy and their job completes when they finish.
    for (const a of flooders) await a.finishRun();
    expect((await h.waitForJob(floodJob, 30_000)).status).to.equal('complete');
    const stats = h.server.outputStats();
    expect(stats.collector!.accepted + stats.socket.shedBudget + stats.socket.shedBacklog).to.be.greaterThan(
      0,
    );
    expect(stats.socket.shedBudget).to.be.greaterThan(0); // 300 messages at once is over any node's budget
  });
});
