// The SSE feeds over real HTTP, served by the app `buildApp` builds (the harness's), with the
// FeedHub passed in its options. Jobs are created through the API; events are emitted on the hub.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signRequest } from '@push-jobs/protocol/internal';
import { until } from '@push-jobs/testing';
import { expect } from 'chai';
import { DEFAULT_SERVER_CONFIG } from '../src/config/defaults.js';
import type { ServerConfig } from '../src/config/types.js';
import { parseEventTimestamp } from '../src/feeds/event-format.js';
import { FeedHub } from '../src/feeds/feed-hub.js';
import { startApi, type ApiHarness, type Principal } from './helpers/api.js';
import { START } from './helpers/feed-events.js';

const JOB_FEED = '/organizations/:org/pushy/job_status_feed/:id';

interface Stream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Everything received so far. */
  text(): string;
  /** Resolves once the body received so far satisfies `test`. */
  waitFor(test: (text: string) => boolean, ms?: number): Promise<string>;
  /** Resolves with the whole body when the server ends the response. */
  ended: Promise<string>;
  close(): void;
}

interface ParsedEvent {
  event: string;
  id: string;
  data: Record<string, unknown>;
}

/** Splits an SSE body into events (comments skipped); every block must be terminated. */
function parseEvents(text: string): ParsedEvent[] {
  const blocks = text.split('\n\n');
  expect(blocks.pop(), 'unterminated trailing data').to.equal('');
  return blocks
    .filter((b) => b !== '' && !b.startsWith(':'))
    .map((b) => {
      const lines = b.split('\n');
      expect(lines).to.have.length(3);
      const [event, id, data] = lines as [string, string, string];
      expect(event).to.match(/^event: /);
      expect(id).to.match(/^id: /);
      expect(data).to.match(/^data: \{"timestamp":"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}Z"/);
      return {
        event: event.slice(7),
        id: id.slice(4),
        data: JSON.parse(data.slice(6)) as Record<string, unknown>,
      };
    });
}

describe('feeds: routes over HTTP', function () {
  this.timeout(20_000);
  const config: ServerConfig = {
    ...DEFAULT_SERVER_CONFIG,
    keep_alive_time: 1,
    wait_complete_time: 30,
    org_feed_expiration: 60,
  };
  let api: ApiHarness;
  let port: number;
  let hub: FeedHub;
  let offsetMs = 0;
  const streams: Stream[] = [];

  before(async () => {
    hub = new FeedHub({
      orgFeedExpiration: config.org_feed_expiration,
      waitCompleteTime: config.wait_complete_time,
      now: () => new Date(Date.now() + offsetMs),
    });
    api = await startApi({ config, app: { feeds: hub } });
    expect(api.app.hasRoute({ method: 'GET', url: JOB_FEED }), 'feed routes registered by buildApp').to.equal(
      true,
    );
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    port = (api.app.server.address() as AddressInfo).port;
  });
  afterEach(() => {
    for (const s of streams.splice(0)) s.close();
    offsetMs = 0;
  });
  after(async () => {
    await api.close();
    hub.close();
  });

  async function createJob(nodes = ['n1']): Promise<string> {
    const res = await api.send('POST', '/organizations/acme/pushy/jobs', {
      body: { command: 'uptime', nodes },
    });
    expect(res.statusCode).to.equal(201);
    return (res.json() as { uri: string }).uri.split('/').pop()!;
  }

  function open(
    path: string,
    opts: { headers?: Record<string, string>; as?: Principal } = {},
  ): Promise<Stream> {
    const as = opts.as ?? api.admin;
    const headers = {
      accept: 'text/event-stream',
      ...signRequest({
        method: 'GET',
        path,
        body: '',
        userId: as.name,
        privateKey: as.privateKey,
        version: '1.3',
      }),
      ...opts.headers,
    };
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path, headers }, (res) => {
        let body = '';
        const waiters = new Set<() => void>();
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          for (const w of [...waiters]) w();
        });
        const ended = new Promise<string>((done) => res.on('end', () => done(body)));
        ended.catch(() => undefined);
        const stream: Stream = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: () => body,
          ended,
          waitFor: (test, ms = 5000) =>
            new Promise((done, fail) => {
              const check = (): void => {
                if (!test(body)) return;
                waiters.delete(check);
                clearTimeout(timer);
                done(body);
              };
              const timer = setTimeout(() => {
                waiters.delete(check);
                fail(new Error(`timed out; received so far: ${JSON.stringify(body)}`));
              }, ms);
              waiters.add(check);
              check();
            }),
          close: () => req.destroy(),
        };
        streams.push(stream);
        resolve(stream);
      });
      req.on('error', reject);
    });
  }

  const eventCount = (n: number) => (text: string) =>
    text.split('\n\n').filter((b) => b.startsWith('event:')).length >= n;

  /** The events' timestamps as microseconds, checking that each parses. */
  function stamps(events: readonly ParsedEvent[]): number[] {
    return events.map((e) => {
      const us = parseEventTimestamp(e.data.timestamp as string);
      expect(Number.isSafeInteger(us), String(e.data.timestamp)).to.equal(true);
      return us;
    });
  }
  const strictlyIncreasing = (values: readonly number[]): boolean =>
    values.every((v, i) => i === 0 || v > values[i - 1]!);

  describe('job feed', () => {
    it('streams the snapshot, then live events, and ends after job_complete', async () => {
      const id = await createJob();
      hub.emit('acme', id, 'start', START);
      hub.emit('acme', id, 'quorum_vote', { node: 'n1', status: 'success' });
      const s = await open(`/organizations/acme/pushy/job_status_feed/${id}`);
      expect(s.status).to.equal(200);
      expect(s.headers['content-type']).to.equal('text/event-stream');
      expect(s.headers['cache-control']).to.equal('no-cache');
      expect(s.headers['x-accel-buffering']).to.equal('no');
      expect(s.headers['transfer-encoding']).to.equal('chunked');
      await s.waitFor(eventCount(2));
      expect(hub.jobListenerCount('acme', id)).to.equal(1);

      hub.emit('acme', id, 'quorum_succeeded', {});
      hub.emit('acme', id, 'run_start', { node: 'n1' });
      await s.waitFor(eventCount(4));
      hub.emit('acme', id, 'run_complete', { node: 'n1', status: 'success' });
      hub.emit('acme', id, 'job_complete', { status: 'complete' });
      const body = await s.ended;
      hub.finish('acme', id);
      expect(body.endsWith('\n\n')).to.equal(true);
      const events = parseEvents(body);
      expect(events.map((e) => [e.event, e.id])).to.deep.equal([
        ['start', 'job-1'],
        ['quorum_vote', 'job-2'],
        ['quorum_succeeded', 'job-3'],
        ['run_start', 'job-4'],
        ['run_complete', 'job-5'],
        ['job_complete', 'job-6'],
      ]);
      expect(events[0]!.data).to.deep.include({ command: 'uptime', quorum: 1, node_count: 1 });
      expect(events[5]!.data).to.deep.include({ status: 'complete' });
      expect(hub.jobListenerCount('acme', id)).to.equal(0);
    });

    it('streams a backlog far over the slow-client limit in full, then the live events, in order', async () => {
      // 30,000 events of ~200 bytes (a job on 10,000 nodes): one write of it all used to exceed
      // the 4 MiB slow-client limit and the connection was dropped at once.
      const id = await createJob();
      const backlog = 30_000;
      const pad = 'x'.repeat(100);
      hub.emit('acme', id, 'start', START);
      for (let i = 1; i < backlog; i++)
        hub.emit('acme', id, 'quorum_vote', { node: `n${i}-${pad}`, status: 'success' });
      const s = await open(`/organizations/acme/pushy/job_status_feed/${id}`);
      hub.emit('acme', id, 'quorum_succeeded', {});
      hub.emit('acme', id, 'job_complete', { status: 'complete' });
      const body = await s.ended;
      hub.finish('acme', id);
      expect(body.length).to.be.greaterThan(4 * 1024 * 1024);
      const events = parseEvents(body);
      expect(events).to.have.length(backlog + 2);
      events.forEach((e, i) => expect(e.id).to.equal(`job-${i + 1}`));
      expect(events[backlog - 1]!.data).to.deep.include({ node: `n${backlog - 1}-${pad}` });
      expect(events.slice(-2).map((e) => e.event)).to.deep.equal(['quorum_succeeded', 'job_complete']);
    });

    it('events emitted in one tick reach the client with distinct, increasing timestamps', async () => {
      const id = await createJob();
      hub.emit('acme', id, 'start', START);
      for (let i = 1; i <= 2000; i++) hub.emit('acme', id, 'run_start', { node: `n${i}` });
      hub.emit('acme', id, 'job_complete', { status: 'complete' });
      hub.finish('acme', id);
      const s = await open(`/organizations/acme/pushy/job_status_feed/${id}`);
      const events = parseEvents(await s.ended);
      expect(events).to.have.length(2002);
      expect(events.map((e) => e.id)).to.deep.equal(events.map((_, i) => `job-${i + 1}`));
      expect(strictlyIncreasing(stamps(events))).to.equal(true);
    });

    it('ends the stream when the job finishes, even without job_complete', async () => {
      const id = await createJob();
      hub.emit('acme', id, 'start', START);
      const s = await open(`/organizations/acme/pushy/job_status_feed/${id}`);
      await s.waitFor(eventCount(1));
      hub.finish('acme', id);
      expect(parseEvents(await s.ended).map((e) => e.id)).to.deep.equal(['job-1']);
    });

    it('resumes after Last-Event-ID with only later events', async () => {
      const id = await createJob();
      hub.emit('acme', id, 'start', START);
      hub.emit('acme', id, 'quorum_succeeded', {});
      const s = await open(`/organizations/acme/pushy/job_status_feed/${id}`, {
        headers: { 'last-event-id': 'job-2' },
      });
      hub.emit('acme', id, 'run_start', { node: 'n1' });
      await s.waitFor(eventCount(1));
      hub.emit('acme', id, 'job_complete', { status: 'complete' });
      hub.finish('acme', id);
      expect(parseEvents(await s.ended).map((e) => e.id)).to.deep.equal(['job-3', 'job-4']);

      // The job is finished but its log is still kept: the stored events, then the end.
      const again = await open(`/organizations/acme/pushy/job_status_feed/${id}`, {
        headers: { 'last-event-id': 'job-3' },
      });
      const body = await again.ended;
      expect(parseEvents(body).map((e) => e.id)).to.deep.equal(['job-4']);
      expect(body.endsWith('\n\n')).to.equal(true);
    });

    it('sends one summary event and ends for a job whose log is gone', async () => {
      const id = await createJob(['n2', 'n1']);
      hub.emit('acme', id, 'start', START);
      hub.finish('acme', id);
      offsetMs = (config.wait_complete_time + 1) * 1000;
      const s = await open(`/organizations/acme/pushy/job_status_feed/${id}`, {
        headers: { 'last-event-id': 'job-7' },
      });
      const body = await s.ended;
      expect(s.headers['content-type']).to.equal('text/event-stream');
      expect(body.endsWith('\n\n')).to.equal(true);
      const events = parseEvents(body);
      expect(events).to.have.length(1);
      expect(events[0]!.event).to.equal('summary');
      expect(events[0]!.id).to.equal('job-1');
      const job = (await api.send('GET', `/organizations/acme/pushy/jobs/${id}`)).json() as Record<
        string,
        unknown
      >;
      expect(Object.keys(events[0]!.data)).to.deep.equal(['timestamp', ...Object.keys(job)]);
      expect(events[0]!.data).to.deep.include(job);
      expect(events[0]!.data).to.deep.include({ id, command: 'uptime', nodes: { new: ['n1', 'n2'] } });
    });

    it('404s an unknown job', async () => {
      const s = await open('/organizations/acme/pushy/job_status_feed/0123456789abcdef0123456789abcdef');
      expect(s.status).to.equal(404);
      const body = JSON.parse(await s.ended) as { error: unknown };
      expect(body.error).to.be.an('array').with.length(1);
    });

    it('answers 406 to Accept: application/json', async () => {
      const id = await createJob();
      const s = await open(`/organizations/acme/pushy/job_status_feed/${id}`, {
        headers: { accept: 'application/json' },
      });
      expect(s.status).to.equal(406);
      expect(JSON.parse(await s.ended)).to.have.property('error');
    });

    it('answers 403 to a user outside the org', async () => {
      const id = await createJob();
      const s = await open(`/organizations/acme/pushy/job_status_feed/${id}`, { as: api.outsider });
      expect(s.status).to.equal(403);
      await s.ended;
    });

    it('drops the subscription when the client disconnects', async () => {
      const id = await createJob();
      hub.emit('acme', id, 'start', START);
      const s = await open(`/organizations/acme/pushy/job_status_feed/${id}`);
      await s.waitFor(eventCount(1));
      expect(hub.jobListenerCount('acme', id)).to.equal(1);
      s.close();
      await until(() => hub.jobListenerCount('acme', id) === 0, 'the job subscription to end');
      expect(hub.jobListenerCount('acme', id)).to.equal(0);
      hub.finish('acme', id);
    });
  });

  describe('org feed', () => {
    const ORG_FEED = '/organizations/acme/pushy/job_status_feed';

    it('sends a keepalive after keep_alive_time seconds of silence', async () => {
      const s = await open(ORG_FEED);
      expect(s.status).to.equal(200);
      const started = Date.now();
      const body = await s.waitFor((t) => t.includes(':keepalive'), 4000);
      expect(Date.now() - started).to.be.greaterThan(800);
      expect(body).to.equal(':keepalive\n\n');
    });

    it('streams start and job_complete with job, and nothing else, without history', async () => {
      const before = await createJob();
      hub.emit('acme', before, 'start', START); // before the subscription: not sent
      const s = await open(ORG_FEED);
      const id = await createJob();
      hub.emit('acme', id, 'start', { ...START, command: 'uptime', user: 'alice' });
      hub.emit('acme', id, 'quorum_vote', { node: 'n1', status: 'success' });
      hub.emit('acme', id, 'job_complete', { status: 'complete' });
      hub.finish('acme', id);
      const body = await s.waitFor(eventCount(2));
      const events = parseEvents(body.replace(/^(:keepalive\n\n)+/, ''));
      expect(events.map((e) => [e.event, e.data.job])).to.deep.equal([
        ['start', id],
        ['job_complete', id],
      ]);
      const [first, second] = events.map((e) => Number(/^org-(\d+)$/.exec(e.id)?.[1]));
      expect(second).to.equal(first! + 1);
      expect(Object.keys(events[0]!.data)).to.deep.equal([
        'timestamp',
        'job',
        'command',
        'run_timeout',
        'quorum',
        'node_count',
        'user',
        'capture',
      ]);
      expect(s.text()).to.not.include(before);
    });

    it('live events of many jobs emitted in one tick have distinct, increasing timestamps and ids', async () => {
      const s = await open(ORG_FEED);
      const jobs = Array.from({ length: 300 }, (_, i) => `job${i}`);
      for (const job of jobs) hub.emit('acme', job, 'start', START);
      for (const job of jobs) hub.emit('acme', job, 'job_complete', { status: 'complete' });
      for (const job of jobs) hub.finish('acme', job);
      const events = parseEvents((await s.waitFor(eventCount(600))).replace(/^(:keepalive\n\n)+/, ''));
      expect(events.map((e) => [e.event, e.data.job])).to.deep.equal([
        ...jobs.map((job) => ['start', job]),
        ...jobs.map((job) => ['job_complete', job]),
      ]);
      expect(new Set(events.map((e) => e.id)).size).to.equal(600);
      expect(strictlyIncreasing(stamps(events))).to.equal(true);
    });

    it('starts with start_of_history for an unknown Last-Event-ID, then the retained events', async () => {
      const id = await createJob();
      hub.emit('acme', id, 'start', START);
      const s = await open(ORG_FEED, { headers: { 'last-event-id': 'org-999999' } });
      const body = await s.waitFor((t) => t.includes(`"job":"${id}"`));
      const events = parseEvents(body);
      expect(events[0]).to.deep.include({ event: 'start_of_history', id: 'start_id' });
      expect(Object.keys(events[0]!.data)).to.deep.equal(['timestamp']);
      expect(events.at(-1)).to.deep.include({ event: 'start' });
      expect(events.at(-1)!.data.job).to.equal(id);

      // Resuming from that event gets only what follows it.
      const last = events.at(-1)!.id;
      hub.emit('acme', id, 'job_complete', { status: 'complete' });
      hub.finish('acme', id);
      const resumed = await open(ORG_FEED, { headers: { 'last-event-id': last } });
      const more = parseEvents(await resumed.waitFor(eventCount(1)));
      expect(more.map((e) => [e.event, e.data.job])).to.deep.equal([['job_complete', id]]);
    });

    it('drops the org subscription when the client disconnects, and never ends on its own', async () => {
      const s = await open(ORG_FEED);
      await until(() => hub.orgListenerCount('acme') === 1, 'the org subscription');
      expect(hub.orgListenerCount('acme')).to.equal(1);
      let ended = false;
      void s.ended.then(() => (ended = true));
      s.close();
      await until(() => hub.orgListenerCount('acme') === 0, 'the org subscription to end');
      expect(hub.orgListenerCount('acme')).to.equal(0);
      expect(ended).to.equal(false);
    });
  });
});

describe('feeds: shutdown', () => {
  it('app.close() ends open streams instead of waiting for them', async () => {
    const hub = new FeedHub({ orgFeedExpiration: 60, waitCompleteTime: 5 });
    const api = await startApi({ app: { feeds: hub } });
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = api.app.server.address() as AddressInfo;
    const path = '/organizations/acme/pushy/job_status_feed';
    const headers = {
      accept: 'text/event-stream',
      ...signRequest({
        method: 'GET',
        path,
        body: '',
        userId: api.admin.name,
        privateKey: api.admin.privateKey,
        version: '1.3',
      }),
    };
    const ended = new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    await until(() => hub.orgListenerCount('acme') === 1, 'the org subscription');
    expect(hub.orgListenerCount('acme')).to.equal(1);
    const started = Date.now();
    await api.close();
    expect(await ended).to.equal(200);
    expect(Date.now() - started).to.be.lessThan(2000);
    expect(hub.orgListenerCount('acme')).to.equal(0);
    hub.close();
  });
});
