import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { localhostCertificate } from '@push-jobs/testing';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { DEFAULT_SERVER_CONFIG } from '../src/config/defaults.js';
import { openStore } from '../src/store/index.js';
import type { Store } from '../src/store/types.js';

describe('API over HTTPS (tls_cert / tls_key)', function () {
  let dir: string;
  let app: FastifyInstance;
  let store: Store;
  let cert: Buffer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pj-tls-'));
    const tls = localhostCertificate(dir, 1);
    cert = Buffer.from(tls.cert);
    store = await openStore(join(dir, 'db.sqlite'));
    app = await buildApp({
      config: { ...DEFAULT_SERVER_CONFIG },
      store,
      https: { cert, key: readFileSync(join(dir, 'key.pem')) },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves /pushy/_status over TLS with the configured certificate', async () => {
    const { port } = app.server.address() as { port: number };
    const body = await new Promise<{ status: number; text: string; peer: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/pushy/_status', ca: cert }, (res) => {
        let text = '';
        const peer = (res.socket as TLSSocket).getPeerCertificate().subject.CN as string;
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, peer }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(body.status).to.equal(200);
    expect(JSON.parse(body.text).status).to.equal("it's alive");
    expect(body.peer).to.equal('localhost');
  });
});
