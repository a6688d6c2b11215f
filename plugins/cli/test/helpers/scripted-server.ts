// A small real HTTP server that records each request and answers from a script: for testing
// what the CLI sends and how it renders answers the push server on this branch cannot give yet
// (server-side search, rollouts, node results) or that only an original server gives (a 400 for
// an unknown field). Signatures are not checked. Feeds are answered as text/event-stream.
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { removeDir, tempDir } from '@push-jobs/testing';

/** A request as received: method, path with query, parsed JSON body (or undefined). */
export interface RecordedRequest {
  method: string;
  url: string;
  body: unknown;
}

/**
 * An answer: a status and a JSON body, a status and a text body (with headers), or a list of
 * feed events (`event`, `data`).
 */
export type ScriptedAnswer =
  | { status: number; body: unknown }
  | { status: number; text: string; headers?: Record<string, string> }
  | { events: { event: string; data: Record<string, unknown> }[] };

/** Chooses the answer of a request; `undefined` answers 404. */
export type Script = (req: RecordedRequest) => ScriptedAnswer | undefined;

/** See the module notes. */
export class ScriptedServer {
  readonly requests: RecordedRequest[] = [];
  script: Script = () => undefined;
  readonly #server: Server;
  readonly #dir: string;
  /** A private key file to sign with (any key: the server does not check). */
  readonly keyFile: string;

  private constructor(server: Server, dir: string, keyFile: string) {
    this.#server = server;
    this.#dir = dir;
    this.keyFile = keyFile;
  }

  static async start(): Promise<ScriptedServer> {
    const dir = tempDir('pj-cli-scripted-');
    const keyFile = join(dir, 'alice.pem');
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    writeFileSync(keyFile, privateKey);
    const server = createServer();
    const self = new ScriptedServer(server, dir, keyFile);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void self.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return self;
  }

  /** The organization URL. */
  get orgUrl(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/organizations/acme`;
  }

  /** Connection settings as PUSH_JOBS_* variables. */
  env(): Record<string, string> {
    return { PUSH_JOBS_SERVER_URL: this.orgUrl, PUSH_JOBS_USER: 'alice', PUSH_JOBS_KEY: this.keyFile };
  }

  /** The recorded requests of `method` whose path (without query) ends with `suffix`. */
  find(method: string, suffix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.url.split('?')[0]!.endsWith(suffix));
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    removeDir(this.#dir);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    const recorded = { method: req.method ?? '', url: req.url ?? '', body };
    this.requests.push(recorded);
    const answer = this.script(recorded);
    if (answer === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'not found' }));
    } else if ('events' in answer) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let id = 0;
      for (const e of answer.events) {
        res.write(`event: ${e.event}\nid: job-${++id}\ndata: ${JSON.stringify(e.data)}\n\n`);
      }
      res.end();
    } else if ('text' in answer) {
      res.writeHead(answer.status, { 'content-type': 'application/octet-stream', ...answer.headers });
      res.end(answer.text);
    } else {
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    }
  }
}
