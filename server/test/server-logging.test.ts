import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { signRequest } from '@push-jobs/protocol/internal';
import { Dealer } from 'zeromq';
import { DEFAULT_SERVER_CONFIG } from '../src/config/defaults.js';
import type { ServerConfig } from '../src/config/types.js';
import { startPushServer, type PushServer } from '../src/push-server.js';
import { createClientWithKey, createOrgWithDefaults } from '../src/identity/service.js';
import { openStore } from '../src/store/index.js';
import type { Store } from '../src/store/types.js';
import { generateCurveKeyPair } from '../src/zmq/curve-keys.js';
import { captureLogs } from './helpers/log-capture.js';

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

describe('server logging: one logger, a child per component', function () {
  let dir: string;
  let store: Store;
  let server: PushServer | undefined;
  const dealers: Dealer[] = [];

  function config(): ServerConfig {
    return {
      ...DEFAULT_SERVER_CONFIG,
      zeromq_listen_address: 'tcp://127.0.0.1',
      command_port: 0,
      server_heartbeat_port: 0,
      data_dir: dir,
    };
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pj-log-'));
    store = await openStore(join(dir, 'db.sqlite'));
  });
  afterEach(async () => {
    for (const d of dealers.splice(0)) d.close();
    await server?.close();
    server = undefined;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands the same logger to Fastify and the core: request lines and broker drops land together', async () => {
    const { logger, lines } = captureLogs('info');
    server = await startPushServer({ config: config(), store, logger });
    const res = await server.app.inject({ method: 'GET', url: '/pushy/_status' });
    expect(res.statusCode).to.equal(200);
    expect(lines.some((l) => l.msg === 'request completed')).to.equal(true);

    // Garbage on the command socket, as the transport hands it over: dropped, counted, logged.
    for (let i = 0; i < 3; i++) {
      server.broker.receive({
        identity: Buffer.from('peer-1'),
        header: Buffer.from('x'),
        body: Buffer.from('y'),
      });
    }
    expect(server.broker.stats.malformed).to.equal(3);
    const drops = lines.filter((l) => l.msg === 'message dropped');
    expect(drops).to.have.length(1);
    expect(drops[0]).to.include({
      level: 'warn',
      component: 'broker',
      reason: 'malformed',
      peer: Buffer.from('peer-1').toString('hex'),
    });
  });

  it('logs ZAP denials under the zap component, without the key', async () => {
    const { logger, lines } = captureLogs('info');
    server = await startPushServer({ config: config(), store, logger });
    // The server's CURVE key, from the config endpoint as a node gets it.
    await createOrgWithDefaults(store, { name: 'acme' });
    const clientKey = (await createClientWithKey(store, { org: 'acme', name: 'web1' })).privateKey!;
    const path = '/organizations/acme/pushy/config/web1';
    const admitted = generateCurveKeyPair();
    const res = await server.app.inject({
      method: 'GET',
      url: `${path}?ccpk=${encodeURIComponent(admitted.publicKey)}&version=2.0`,
      headers: {
        accept: 'application/json',
        ...signRequest({ method: 'GET', path, userId: 'web1', privateKey: clientKey, version: '1.3' }),
      },
    });
    expect(res.statusCode).to.equal(200);
    const serverKey = (JSON.parse(res.body) as { curve_public_key: string }).curve_public_key;
    // A key the server never admitted.
    const stranger = generateCurveKeyPair();
    const dealer = new Dealer({
      linger: 0,
      curveServerKey: serverKey,
      curvePublicKey: stranger.publicKey,
      curveSecretKey: stranger.secretKey,
    });
    dealers.push(dealer);
    dealer.connect(server.endpoints.command);
    await dealer.send(['h', 'b']);
    await waitFor(() => lines.some((l) => l.component === 'zap'));
    expect(lines.find((l) => l.component === 'zap')).to.include({
      level: 'warn',
      msg: 'connection refused',
      why: 'key not admitted',
      mechanism: 'CURVE',
      address: '127.0.0.1',
    });
    expect(JSON.stringify(lines)).to.not.include(stranger.publicKey);
  });

  it('logs node state changes at debug under the nodes component', async () => {
    const { logger, lines } = captureLogs('debug');
    server = await startPushServer({ config: config(), store, logger });
    server.tracker.handle('acme', 'web1', Buffer.from('a1'), 'a1', {
      type: 'heartbeat',
      incarnation_id: 'inc-1',
      job_id: null,
    });
    server.tracker.handle('acme', 'web1', Buffer.from('a1'), 'a1', { type: 'aborted', job_id: null });
    server.tracker.drop('acme', 'web1');
    const nodes = lines.filter((l) => l.component === 'nodes').map((l) => [l.level, l.msg, l.node]);
    expect(nodes).to.deep.equal([
      ['debug', 'node connected', 'web1'],
      ['debug', 'node in rehab', 'web1'],
      ['debug', 'node out of rehab: available', 'web1'],
      ['debug', 'node down', 'web1'],
    ]);
  });

  it("logger: false makes the one logger silent (the app's; the components get its children)", async () => {
    server = await startPushServer({ config: config(), store, logger: false });
    expect(server.app.log.level).to.equal('silent');
  });

  it('pino options get the configured log_level unless they set one', async () => {
    server = await startPushServer({ config: { ...config(), log_level: 'warn' }, store, logger: {} });
    expect(server.app.log.level).to.equal('warn');
  });
});
