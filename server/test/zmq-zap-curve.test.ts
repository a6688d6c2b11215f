import { expect } from 'chai';
import { sleep, until } from '@push-jobs/testing';
import { Dealer, Request, Router } from 'zeromq';
import type { Context } from 'zeromq';
import {
  createZmqContext,
  curveKeyFromZ85,
  generateCurveKeyPair,
  MemoryCurveAllowList,
  ZAP_ENDPOINT,
  ZapHandler,
  ZmqCommandTransport,
} from '../src/zmq/index.js';
import type { CurveKeyPair, InboundMessage } from '../src/zmq/index.js';
import { captureLogs } from './helpers/log-capture.js';

function rawKey(pair: CurveKeyPair): Buffer {
  const raw = curveKeyFromZ85(pair.publicKey);
  if (raw === undefined) throw new Error('bad key');
  return raw;
}

/** Messages received by the transport, by their body text. */
function bodies(messages: InboundMessage[]): string[] {
  return messages.map((m) => m.body.toString());
}

describe('zmq: ZAP handler and CURVE command socket (spec 4)', function () {
  let context: Context;
  let now: number;
  let allowList: MemoryCurveAllowList;
  let zap: ZapHandler;
  let server: CurveKeyPair;
  let transport: ZmqCommandTransport;
  const received: InboundMessage[] = [];
  const dealers: Dealer[] = [];
  const logs = captureLogs();

  function curveDealer(keys: CurveKeyPair): Dealer {
    const dealer = new Dealer({
      linger: 0,
      curveServerKey: server.publicKey,
      curvePublicKey: keys.publicKey,
      curveSecretKey: keys.secretKey,
    });
    dealers.push(dealer);
    dealer.connect(transport.endpoint);
    return dealer;
  }

  before(async () => {
    context = createZmqContext();
    now = 1_000_000;
    allowList = new MemoryCurveAllowList({ now: () => now });
    zap = await ZapHandler.start({ allowList, context, log: logs.logger });
    server = generateCurveKeyPair();
    transport = await ZmqCommandTransport.bind({ endpoint: 'tcp://127.0.0.1:0', curve: server, zap });
    transport.onMessage((message) => received.push(message));
  });

  after(async () => {
    for (const dealer of dealers) dealer.close();
    await transport.close();
    await zap.close();
  });

  it('binds on a real port when 0 is asked', () => {
    expect(transport.endpoint).to.match(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(transport.endpoint).to.not.match(/:0$/);
  });

  it('refuses a second handler in the same context', async () => {
    let error: unknown;
    try {
      await ZapHandler.start({ allowList, context });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(Error);
    expect((error as { code?: string }).code).to.equal('EADDRINUSE');
  });

  it('lets an allowed key in, both ways', async () => {
    const keys = generateCurveKeyPair();
    allowList.allow(rawKey(keys), 'acme', 'n1');
    const allowedBefore = zap.allowed;
    const dealer = curveDealer(keys);
    await dealer.send(['header-1', 'allowed']);
    await until(() => bodies(received).includes('allowed'), 'bodies(received).includes("allowed")');
    const message = received.find((m) => m.body.toString() === 'allowed');
    expect(message?.header.toString()).to.equal('header-1');
    expect(zap.allowed).to.equal(allowedBefore + 1);
    expect(
      await transport.send(message?.identity ?? Buffer.alloc(0), Buffer.from('h'), Buffer.from('reply')),
    ).to.equal(true);
    const reply = await dealer.receive();
    expect(reply.map((frame) => frame.toString())).to.deep.equal(['h', 'reply']);
  });

  it('refuses the handshake of a key not in the list: nothing is delivered; logged without the key', async () => {
    const deniedBefore = transport.stats().zapDenied;
    const stranger = generateCurveKeyPair();
    const dealer = curveDealer(stranger);
    const authErrors: number[] = [];
    dealer.events.on('handshake:error:auth', (event) => authErrors.push(event.error.status));
    await dealer.send(['header', 'not-allowed']);
    await sleep(500);
    expect(bodies(received)).to.not.include('not-allowed');
    await until(
      () => transport.stats().zapDenied > deniedBefore,
      'transport.stats().zapDenied > deniedBefore',
    );
    expect(zap.deniedFor('pushy')).to.equal(transport.stats().zapDenied);
    await until(() => authErrors.length > 0, 'authErrors.length > 0');
    expect(authErrors[0]).to.equal(400);
    const denials = logs.lines.filter((l) => l.msg === 'connection refused');
    expect(denials[0]).to.include({
      level: 'warn',
      why: 'key not admitted',
      mechanism: 'CURVE',
      domain: 'pushy',
      address: '127.0.0.1',
    });
    const logged = JSON.stringify(logs.lines);
    expect(logged).to.not.include(stranger.publicKey);
    expect(logged).to.not.include(rawKey(stranger).toString('hex'));
    expect(logged).to.not.include(rawKey(stranger).toString('base64'));
  });

  it('refuses an expired key on a new connection, while the open one keeps working', async () => {
    const keys = generateCurveKeyPair();
    allowList.allow(rawKey(keys), 'acme', 'n2');
    const first = curveDealer(keys);
    await first.send(['h', 'before-expiry']);
    await until(
      () => bodies(received).includes('before-expiry'),
      'bodies(received).includes("before-expiry")',
    );

    now += 60_000;
    const deniedBefore = transport.stats().zapDenied;
    const second = curveDealer(keys);
    await second.send(['h', 'after-expiry']);
    await sleep(500);
    expect(bodies(received)).to.not.include('after-expiry');
    await until(
      () => transport.stats().zapDenied > deniedBefore,
      'transport.stats().zapDenied > deniedBefore',
    );

    // The key is checked at the handshake only: the established connection is unaffected.
    await first.send(['h', 'still-connected']);
    await until(
      () => bodies(received).includes('still-connected'),
      'bodies(received).includes("still-connected")',
    );
  });

  it('refuses the previous key of a node once the node fetched a new one', async () => {
    const old = generateCurveKeyPair();
    const fresh = generateCurveKeyPair();
    allowList.allow(rawKey(old), 'acme', 'n3');
    allowList.allow(rawKey(fresh), 'acme', 'n3');
    const deniedBefore = transport.stats().zapDenied;
    await curveDealer(old).send(['h', 'old-key']);
    await curveDealer(fresh).send(['h', 'fresh-key']);
    await until(() => bodies(received).includes('fresh-key'), 'bodies(received).includes("fresh-key")');
    await until(
      () => transport.stats().zapDenied > deniedBefore,
      'transport.stats().zapDenied > deniedBefore',
    );
    await sleep(200);
    expect(bodies(received)).to.not.include('old-key');
  });

  it('refuses a client without CURVE on a CURVE socket', async () => {
    const dealer = new Dealer({ linger: 0 });
    dealers.push(dealer);
    dealer.connect(transport.endpoint);
    await dealer.send(['h', 'plain-on-curve']);
    await sleep(300);
    expect(bodies(received)).to.not.include('plain-on-curve');
  });
});

describe('zmq: ZAP handler robustness', function () {
  let context: Context;
  let zap: ZapHandler;
  let client: Router;
  before(async () => {
    context = createZmqContext();
    zap = await ZapHandler.start({ allowList: new MemoryCurveAllowList(), context });
    client = new Router({ context, linger: 0, routingId: 'client' });
    client.connect(ZAP_ENDPOINT, { routingId: 'zap' });
  });
  after(async () => {
    client.close();
    await zap.close();
  });

  it('denies malformed requests and keeps answering', async () => {
    const req = new Request({ context, linger: 0 });
    try {
      req.connect(ZAP_ENDPOINT);
      await req.send(['2.0', 'id-1', 'dom', '127.0.0.1', '', 'CURVE', Buffer.alloc(32)]);
      expect((await req.receive()).map(String)).to.deep.equal([
        '1.0',
        'id-1',
        '400',
        'No such client',
        '',
        '',
      ]);
      await req.send(['1.0', 'id-2']);
      expect((await req.receive()).map(String).slice(0, 3)).to.deep.equal(['1.0', 'id-2', '400']);
      await req.send(['1.0', 'id-3', 'dom', '127.0.0.1', '', 'CURVE', Buffer.alloc(5)]);
      expect((await req.receive()).map(String).slice(2, 3)).to.deep.equal(['400']);
      await req.send(['1.0', 'id-4', 'dom', '127.0.0.1', '', 'PLAIN', 'user', 'pass']);
      expect((await req.receive()).map(String).slice(2, 3)).to.deep.equal(['400']);
      await req.send(['1.0', 'id-5', 'dom', '127.0.0.1', '', 'NULL']);
      expect((await req.receive()).map(String).slice(2, 4)).to.deep.equal(['400', 'No such client']);
    } finally {
      req.close();
    }
    // A request without the REQ envelope is dropped, not answered; the handler survives it.
    await client.send(['zap', 'no-delimiter']);
    await until(() => zap.malformed === 1, 'zap.malformed === 1');
    expect(zap.denied).to.equal(5);
  });

  it('answers 200 with org/node as the user id for an allowed key', async () => {
    const allowList = new MemoryCurveAllowList();
    const ctx = createZmqContext();
    const handler = await ZapHandler.start({ allowList, context: ctx, allowNull: true });
    const req = new Request({ context: ctx, linger: 0 });
    try {
      const key = rawKey(generateCurveKeyPair());
      allowList.allow(key, 'acme', 'web-1');
      req.connect(ZAP_ENDPOINT);
      await req.send(['1.0', 'r1', 'pushy', '127.0.0.1', '', 'CURVE', key]);
      expect((await req.receive()).map(String)).to.deep.equal(['1.0', 'r1', '200', 'OK', 'acme/web-1', '']);
      await req.send(['1.0', 'r2', 'pushy', '127.0.0.1', '', 'NULL']);
      expect((await req.receive()).map(String).slice(2, 4)).to.deep.equal(['200', 'OK']);
      expect(handler.allowed).to.equal(2);
    } finally {
      req.close();
      await handler.close();
    }
  });
});

describe('zmq: unencrypted command socket (curve null)', function () {
  const transports: ZmqCommandTransport[] = [];
  const handlers: ZapHandler[] = [];
  const dealers: Dealer[] = [];

  async function exchange(transport: ZmqCommandTransport, text: string, waitMs = 3000): Promise<boolean> {
    const received: string[] = [];
    transport.onMessage((message) => received.push(message.body.toString()));
    const dealer = new Dealer({ linger: 0 });
    dealers.push(dealer);
    dealer.connect(transport.endpoint);
    await dealer.send(['h', text]);
    try {
      await until(() => received.includes(text), 'received.includes(text)', waitMs);
      return true;
    } catch {
      return false;
    }
  }

  after(async () => {
    for (const dealer of dealers) dealer.close();
    for (const transport of transports) await transport.close();
    for (const handler of handlers) await handler.close();
  });

  it('works with a plain Dealer and no ZAP handler', async () => {
    const transport = await ZmqCommandTransport.bind({ endpoint: 'tcp://127.0.0.1:0', curve: null });
    transports.push(transport);
    expect(await exchange(transport, 'plain')).to.equal(true);
  });

  it('admits NULL connections through ZAP only with allowNull', async () => {
    const refusing = await ZapHandler.start({
      allowList: new MemoryCurveAllowList(),
      context: createZmqContext(),
    });
    handlers.push(refusing);
    const closed = await ZmqCommandTransport.bind({
      endpoint: 'tcp://127.0.0.1:0',
      curve: null,
      zap: refusing,
    });
    transports.push(closed);
    expect(await exchange(closed, 'refused', 500)).to.equal(false);
    await until(() => closed.stats().zapDenied > 0, 'closed.stats().zapDenied > 0');

    const admitting = await ZapHandler.start({
      allowList: new MemoryCurveAllowList(),
      context: createZmqContext(),
      allowNull: true,
    });
    handlers.push(admitting);
    const open = await ZmqCommandTransport.bind({
      endpoint: 'tcp://127.0.0.1:0',
      curve: null,
      zap: admitting,
    });
    transports.push(open);
    expect(await exchange(open, 'admitted')).to.equal(true);
    expect(open.stats().zapDenied).to.equal(0);
  });
});
