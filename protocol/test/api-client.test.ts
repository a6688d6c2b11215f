import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { localhostCertificate } from '@push-jobs/testing';
import { expect } from 'chai';

import {
  API_ERROR_CODES,
  ApiConflictError,
  ApiForbiddenError,
  ApiHttpError,
  ApiNotFoundError,
  ApiResponseError,
  ApiServerError,
  ApiTimeoutError,
  ApiTlsError,
  ApiUnauthorizedError,
  ApiUnreachableError,
  ApiValidationError,
  PushApiClient,
  PushApiError,
  isPushApiError,
  type ParsedFeedEvent,
} from '../src/api-client/index.js';
import { verifyRequest } from '../src/chef-auth/index.js';
import { InvalidArgumentError } from '../src/errors.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  verified: ReturnType<typeof verifyRequest>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, seen: Seen) => void;

/** A real HTTP server that records each request and checks its Chef signature. */
class TestServer {
  readonly seen: Seen[] = [];
  handler: Handler = (_req, res) => json(res, 200, { ok: true });
  server!: Server;
  url = '';

  async start(server: Server = createServer(), scheme = 'http'): Promise<this> {
    this.server = server;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const verified = verifyRequest(
          { method: req.method ?? '', path: req.url ?? '', body, headers: req.headers },
          [publicKey],
        );
        const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, verified };
        this.seen.push(seen);
        this.handler(req, res, seen);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    this.url = `${scheme}://127.0.0.1:${port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

async function collect(iterable: AsyncIterable<ParsedFeedEvent>): Promise<ParsedFeedEvent[]> {
  const out: ParsedFeedEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

describe('PushApiClient', () => {
  let srv: TestServer;
  let client: PushApiClient;

  beforeEach(async () => {
    srv = await new TestServer().start();
    client = new PushApiClient({
      serverUrl: `${srv.url}/organizations/acme`,
      userId: 'alice',
      privateKey,
    });
  });

  afterEach(async () => {
    client.close();
    await srv.close();
  });

  describe('signed requests', () => {
    it('signs a GET with version 1.3 by default; the server verifies it with the public key', async () => {
      srv.handler = (_req, res) => json(res, 200, [{ id: 'j1' }]);
      const out = await client.request('GET', 'pushy/jobs');
      expect(out).to.deep.equal([{ id: 'j1' }]);
      const seen = srv.seen[0]!;
      expect(seen.url).to.equal('/organizations/acme/pushy/jobs');
      expect(seen.verified).to.deep.equal({ ok: true, userId: 'alice', version: '1.3', keyIndex: 0 });
      expect(seen.headers['x-ops-sign']).to.equal('algorithm=sha256;version=1.3');
      expect(seen.headers['accept']).to.equal('application/json');
    });

    it('sends a JSON body whose content hash verifies', async () => {
      srv.handler = (_req, res) => json(res, 201, { uri: `${srv.url}/organizations/acme/pushy/jobs/abc123` });
      const started = await client.startJob({ command: 'chef-client', nodes: ['web1'], quorum: 1 });
      expect(started).to.deep.equal({ id: 'abc123', uri: `${srv.url}/organizations/acme/pushy/jobs/abc123` });
      const seen = srv.seen[0]!;
      expect(seen.method).to.equal('POST');
      expect(JSON.parse(seen.body)).to.deep.equal({ command: 'chef-client', nodes: ['web1'], quorum: 1 });
      expect(seen.headers['content-type']).to.equal('application/json');
      expect(seen.verified.ok).to.equal(true);
    });

    for (const version of ['1.0', '1.1', '1.2'] as const) {
      it(`signs with version ${version} when asked`, async () => {
        const c = new PushApiClient({
          serverUrl: `${srv.url}/organizations/acme`,
          userId: 'alice',
          privateKey,
          signingVersion: version,
        });
        await c.request('POST', 'pushy/jobs', { command: 'x', nodes: ['a'] });
        c.close();
        expect(srv.seen[0]!.verified).to.deep.include({ ok: true, version });
      });
    }

    it('signs the path without the query string, and sends the query', async () => {
      await client.listJobs({ status: 'running', limit: 5 });
      const seen = srv.seen[0]!;
      expect(seen.url).to.equal('/organizations/acme/pushy/jobs?status=running&limit=5');
      expect(seen.verified.ok).to.equal(true);
    });

    it('resolves a path starting with / against the server root', async () => {
      await client.request('GET', '/pushy/_status');
      expect(srv.seen[0]!.url).to.equal('/pushy/_status');
      expect(srv.seen[0]!.verified.ok).to.equal(true);
    });

    it('sends X-Ops-Server-API-Version when configured, and extra headers', async () => {
      const c = new PushApiClient({
        serverUrl: `${srv.url}/organizations/acme/`,
        userId: 'alice',
        privateKey,
        serverApiVersion: 1,
        headers: { 'x-extra': 'yes' },
        userAgent: 'test-agent',
      });
      await c.request('GET', 'pushy/jobs');
      c.close();
      const seen = srv.seen[0]!;
      expect(seen.headers['x-ops-server-api-version']).to.equal('1');
      expect(seen.headers['x-extra']).to.equal('yes');
      expect(seen.headers['user-agent']).to.equal('test-agent');
      expect(seen.verified.ok).to.equal(true);
    });

    it('refuses to sign for another origin', async () => {
      const err = await failure(client.request('GET', 'http://example.com/organizations/acme/pushy/jobs'));
      expect(err).to.be.instanceOf(InvalidArgumentError);
      expect(srv.seen).to.have.length(0);
    });

    it('encodes path segments of ids and node names', async () => {
      srv.handler = (_req, res) =>
        json(res, 200, { node_name: 'a b', status: 'offline', availability: 'unavailable' });
      await client.getNodeState('a b/c');
      expect(srv.seen[0]!.url).to.equal('/organizations/acme/pushy/node_states/a%20b%2Fc');
    });

    it('returns undefined for an empty success body', async () => {
      srv.handler = (_req, res) => {
        res.writeHead(204);
        res.end();
      };
      expect(await client.request('DELETE', 'nodes/x')).to.equal(undefined);
    });
  });

  describe('helpers', () => {
    it('listJobs reads X-Total-Count', async () => {
      srv.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-total-count': '7' });
        res.end('[]');
      };
      expect(await client.listJobs({ limit: 1 })).to.deep.equal({ jobs: [], total: 7 });
    });

    it('getJobOutput asks for octet-stream and reports truncation', async () => {
      srv.handler = (_req, res) => {
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'x-push-jobs-output-truncated': 'true',
        });
        res.end('hello\n');
      };
      const out = await client.getJobOutput('j1', 'web1', 'stderr');
      expect(out).to.deep.equal({ output: 'hello\n', truncated: true });
      expect(srv.seen[0]!.url).to.equal('/organizations/acme/pushy/jobs/j1/output/web1/stderr');
      expect(srv.seen[0]!.headers['accept']).to.equal('application/octet-stream');
    });

    it('searchNodes sends q, start and rows; putNode sends the node', async () => {
      srv.handler = (_req, res) => json(res, 200, { total: 0, start: 0, rows: [] });
      await client.searchNodes('role:web', { start: 0, rows: 50 });
      expect(srv.seen[0]!.url).to.equal('/organizations/acme/search/node?q=role%3Aweb&start=0&rows=50');
      await client.putNode({ name: 'web1', normal: { push_jobs: { whitelist: { a: 'b' } } } });
      expect(srv.seen[1]!.method).to.equal('PUT');
      expect(srv.seen[1]!.url).to.equal('/organizations/acme/nodes/web1');
      expect(JSON.parse(srv.seen[1]!.body)).to.deep.equal({
        name: 'web1',
        normal: { push_jobs: { whitelist: { a: 'b' } } },
      });
    });
  });

  describe('errors', () => {
    const cases: [number, unknown, new (...args: never[]) => PushApiError, string, string | undefined][] = [
      [
        400,
        { error: 'invalid command supplied' },
        ApiValidationError,
        API_ERROR_CODES.VALIDATION,
        'invalid command supplied',
      ],
      [
        401,
        { error: ["Invalid signature for user or client 'alice'"] },
        ApiUnauthorizedError,
        API_ERROR_CODES.UNAUTHORIZED,
        "Invalid signature for user or client 'alice'",
      ],
      [403, { error: ['no', 'way'] }, ApiForbiddenError, API_ERROR_CODES.FORBIDDEN, 'no; way'],
      [
        404,
        { error: ["job 'x' does not exist"] },
        ApiNotFoundError,
        API_ERROR_CODES.NOT_FOUND,
        "job 'x' does not exist",
      ],
      [409, { error: ['already finished'] }, ApiConflictError, API_ERROR_CODES.CONFLICT, 'already finished'],
      [500, {}, ApiServerError, API_ERROR_CODES.SERVER, undefined],
      [
        503,
        { message: 'down for maintenance' },
        ApiServerError,
        API_ERROR_CODES.SERVER,
        'down for maintenance',
      ],
      [405, { error: ['Method not allowed'] }, ApiHttpError, API_ERROR_CODES.HTTP, 'Method not allowed'],
    ];
    for (const [status, body, cls, code, message] of cases) {
      it(`maps ${status} to ${cls.name} with the server's message`, async () => {
        srv.handler = (_req, res) => json(res, status, body);
        const err = (await failure(client.request('GET', 'pushy/jobs/x'))) as PushApiError;
        expect(err).to.be.instanceOf(cls);
        expect(err).to.be.instanceOf(PushApiError);
        expect(isPushApiError(err)).to.equal(true);
        expect(err.code).to.equal(code);
        expect(err.status).to.equal(status);
        expect(err.serverMessage).to.equal(message);
        expect(err.method).to.equal('GET');
        expect(err.url).to.equal(`${srv.url}/organizations/acme/pushy/jobs/x`);
        expect(err.message).to.equal(
          `GET ${srv.url}/organizations/acme/pushy/jobs/x failed with ${status}${message === undefined ? '' : `: ${message}`}`,
        );
      });
    }

    it('a success whose body is not JSON is an ApiResponseError', async () => {
      srv.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>proxy login</html>');
      };
      const err = (await failure(client.request('GET', 'pushy/jobs'))) as PushApiError;
      expect(err).to.be.instanceOf(ApiResponseError);
      expect(err.code).to.equal('PJ_ERR_BAD_RESPONSE');
    });

    it('a closed port is an ApiUnreachableError', async () => {
      const url = srv.url;
      await srv.close();
      srv = await new TestServer().start();
      const c = new PushApiClient({ serverUrl: `${url}/organizations/acme`, userId: 'alice', privateKey });
      const err = (await failure(c.request('GET', 'pushy/jobs'))) as PushApiError;
      c.close();
      expect(err).to.be.instanceOf(ApiUnreachableError);
      expect(err.code).to.equal('PJ_ERR_UNREACHABLE');
      expect(err.message).to.match(/^cannot reach http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
      expect(err.status).to.equal(undefined);
    });

    it('no answer within timeoutMs is an ApiTimeoutError', async () => {
      srv.handler = () => {
        // never answers
      };
      const c = new PushApiClient({
        serverUrl: `${srv.url}/organizations/acme`,
        userId: 'alice',
        privateKey,
        timeoutMs: 100,
      });
      const err = (await failure(c.request('GET', 'pushy/jobs'))) as ApiTimeoutError;
      c.close();
      expect(err).to.be.instanceOf(ApiTimeoutError);
      expect(err.code).to.equal('PJ_ERR_TIMEOUT');
      expect(err.timeoutMs).to.equal(100);
    });

    it('an aborted signal rejects the request', async () => {
      srv.handler = () => {
        // never answers
      };
      const ac = new AbortController();
      const pending = failure(client.request('GET', 'pushy/jobs', undefined, { signal: ac.signal }));
      ac.abort();
      const err = (await pending) as Error;
      expect(err.name).to.equal('AbortError');
    });

    it('rejects a key that is not an RSA private key, without quoting it', () => {
      const bad = '-----BEGIN PRIVATE KEY-----\nnot really\n-----END PRIVATE KEY-----\n';
      let err: unknown;
      try {
        new PushApiClient({ serverUrl: srv.url, userId: 'alice', privateKey: bad });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(InvalidArgumentError);
      expect((err as Error).message).to.equal('privateKey is not an RSA private key');
    });

    it('rejects a URL that is not http or https', () => {
      expect(() => new PushApiClient({ serverUrl: 'ftp://x/', userId: 'alice', privateKey })).to.throw(
        InvalidArgumentError,
        "invalid server URL 'ftp://x/' (expected http: or https:)",
      );
    });
  });

  describe('event feeds', () => {
    function stream(res: ServerResponse): void {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
    }

    it('yields parsed events, skips keepalives, ends with the response', async () => {
      srv.handler = (_req, res) => {
        stream(res);
        res.write('event: start\nid: job-1\ndata: {"timestamp":"t","command":"chef-client"}\n\n');
        res.write(':keepalive\n\n');
        res.write('event: job_complete\r\nid: job-2\r\ndata: {"timestamp":"t",');
        res.end('"status":"complete"}\r\n\r\n');
      };
      const feed = await client.jobEvents('j1', { lastEventId: 'job-0', idleTimeoutMs: 5000 });
      // Events written with the headers must not be lost before the iteration starts.
      await new Promise((r) => setTimeout(r, 50));
      const events = await collect(feed);
      expect(events).to.deep.equal([
        {
          event: 'start',
          id: 'job-1',
          data: { timestamp: 't', command: 'chef-client' },
          rawData: '{"timestamp":"t","command":"chef-client"}',
        },
        {
          event: 'job_complete',
          id: 'job-2',
          data: { timestamp: 't', status: 'complete' },
          rawData: '{"timestamp":"t","status":"complete"}',
        },
      ]);
      expect(feed.lastEventId).to.equal('job-2');
      const seen = srv.seen[0]!;
      expect(seen.url).to.equal('/organizations/acme/pushy/job_status_feed/j1');
      expect(seen.headers['accept']).to.equal('text/event-stream');
      expect(seen.headers['last-event-id']).to.equal('job-0');
      expect(seen.verified.ok).to.equal(true);
    });

    it("dispatches the original server's unterminated last event", async () => {
      srv.handler = (_req, res) => {
        stream(res);
        res.end('event: summary\nid: job-1\ndata: {"status":"complete"}');
      };
      const events = await collect(await client.jobEvents('j1'));
      expect(events.map((e) => [e.event, e.data])).to.deep.equal([['summary', { status: 'complete' }]]);
    });

    it('close() ends a pending iteration without an error', async () => {
      srv.handler = (_req, res) => {
        stream(res);
        res.write('event: start\nid: org-1\ndata: {"job":"a"}\n\n');
      };
      const feed = await client.orgEvents();
      const seen: string[] = [];
      for await (const e of feed) {
        seen.push(e.event);
        feed.close();
      }
      expect(seen).to.deep.equal(['start']);
      expect(srv.seen[0]!.url).to.equal('/organizations/acme/pushy/job_status_feed');
    });

    it('an abort signal closes the feed', async () => {
      srv.handler = (_req, res) => {
        stream(res);
        res.write('event: start\nid: org-1\ndata: {}\n\n');
      };
      const ac = new AbortController();
      const feed = await client.orgEvents({ signal: ac.signal });
      const seen: string[] = [];
      for await (const e of feed) {
        seen.push(e.event);
        ac.abort();
      }
      expect(seen).to.deep.equal(['start']);
    });

    it('a feed cut by the server fails with ApiUnreachableError', async () => {
      srv.handler = (_req, res) => {
        stream(res);
        res.write('event: start\nid: job-1\ndata: {}\n\n', () => setImmediate(() => res.socket?.destroy()));
      };
      const feed = await client.jobEvents('j1');
      const seen: string[] = [];
      let err: unknown;
      try {
        for await (const e of feed) seen.push(e.event);
      } catch (e) {
        err = e;
      }
      expect(seen).to.deep.equal(['start']);
      expect(err).to.be.instanceOf(ApiUnreachableError);
      expect((err as PushApiError).message).to.match(/^the event feed .* broke off/);
    });

    it('an event larger than maxEventSize breaks the feed off with ApiUnreachableError', async () => {
      srv.handler = (_req, res) => {
        stream(res);
        res.write('event: start\nid: job-1\ndata: {}\n\n');
        // An event that never ends: the server keeps writing while the client reads.
        const more = (): void => {
          if (!res.destroyed) res.write(`data: ${'x'.repeat(1024)}\n`, () => setImmediate(more));
        };
        more();
      };
      const feed = await client.jobEvents('j1', { maxEventSize: 64 * 1024 });
      const seen: string[] = [];
      let err: unknown;
      try {
        for await (const e of feed) seen.push(e.event);
      } catch (e) {
        err = e;
      }
      expect(seen).to.deep.equal(['start']);
      expect(err).to.be.instanceOf(ApiUnreachableError);
      expect((err as PushApiError).message).to.match(
        /^the event feed .* broke off: an event of the feed is larger than 65536 characters$/,
      );
    });

    it('a silent feed fails with ApiTimeoutError after idleTimeoutMs', async () => {
      srv.handler = (_req, res) => stream(res);
      const feed = await client.jobEvents('j1', { idleTimeoutMs: 100 });
      const err = await failure(collect(feed));
      expect(err).to.be.instanceOf(ApiTimeoutError);
      expect((err as ApiTimeoutError).timeoutMs).to.equal(100);
    });

    it('a non-200 answer rejects with the error of its status', async () => {
      srv.handler = (_req, res) => json(res, 404, { error: ["job 'j9' does not exist"] });
      const err = (await failure(client.jobEvents('j9'))) as PushApiError;
      expect(err).to.be.instanceOf(ApiNotFoundError);
      expect(err.serverMessage).to.equal("job 'j9' does not exist");
    });

    it('a 200 that is not an event stream is an ApiResponseError', async () => {
      srv.handler = (_req, res) => json(res, 200, {});
      expect(await failure(client.jobEvents('j1'))).to.be.instanceOf(ApiResponseError);
    });
  });
});

describe('PushApiClient over TLS', function () {
  let dir: string;
  let cert: string;
  let srv: TestServer;

  before(function () {
    this.timeout(20_000);
    dir = mkdtempSync(join(tmpdir(), 'pj-api-tls-'));
    const tls = localhostCertificate(dir);
    cert = tls.cert;
  });

  beforeEach(async () => {
    srv = await new TestServer().start(
      createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }) as unknown as Server,
      'https',
    );
  });

  afterEach(async () => {
    await srv.close();
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects an untrusted certificate with ApiTlsError', async () => {
    const c = new PushApiClient({ serverUrl: srv.url, userId: 'alice', privateKey });
    const err = (await failure(c.request('GET', 'pushy/jobs'))) as PushApiError;
    c.close();
    expect(err).to.be.instanceOf(ApiTlsError);
    expect(err).to.be.instanceOf(ApiUnreachableError);
    expect(err.code).to.equal('PJ_ERR_TLS');
    expect(srv.seen).to.have.length(0);
  });

  it('trusts a custom CA', async () => {
    const c = new PushApiClient({
      serverUrl: `${srv.url}/organizations/acme`,
      userId: 'alice',
      privateKey,
      ca: cert,
    });
    expect(await c.request('GET', 'pushy/jobs')).to.deep.equal({ ok: true });
    c.close();
    expect(srv.seen[0]!.verified.ok).to.equal(true);
  });

  it('skips verification with rejectUnauthorized: false', async () => {
    const c = new PushApiClient({
      serverUrl: srv.url,
      userId: 'alice',
      privateKey,
      rejectUnauthorized: false,
    });
    expect(await c.request('GET', 'pushy/jobs')).to.deep.equal({ ok: true });
    c.close();
  });
});
