import { expect } from 'chai';
import { sleep, until } from '@push-jobs/testing';
import { Dealer } from 'zeromq';
import { DEFAULT_RECEIVE_HWM, ZmqCommandTransport } from '../src/zmq/index.js';
import type { InboundMessage } from '../src/zmq/index.js';
import { DEFAULT_SERVER_CONFIG } from '../src/config/defaults.js';
import { LiveNodeTracker } from '../src/nodes/tracker.js';
import { captureLogs } from './helpers/log-capture.js';

describe('zmq: command socket (ROUTER)', function () {
  const transports: ZmqCommandTransport[] = [];
  const dealers: Dealer[] = [];

  async function bind(options: Partial<Parameters<typeof ZmqCommandTransport.bind>[0]> = {}) {
    const transport = await ZmqCommandTransport.bind({
      endpoint: 'tcp://127.0.0.1:0',
      curve: null,
      ...options,
    });
    transports.push(transport);
    return transport;
  }

  function dealer(endpoint: string, options: ConstructorParameters<typeof Dealer>[0] = {}): Dealer {
    const socket = new Dealer({ linger: 0, ...options });
    dealers.push(socket);
    socket.connect(endpoint);
    return socket;
  }

  /** The identity of `client` as the ROUTER sees it (it sends one message to find out). */
  async function identityOf(
    transport: ZmqCommandTransport,
    client: Dealer,
    inbox: InboundMessage[],
  ): Promise<Buffer> {
    const marker = `hello-${Math.random()}`;
    await client.send(['h', marker]);
    await until(
      () => inbox.some((m) => m.body.toString() === marker),
      'inbox.some((m) => m.body.toString() === marker)',
    );
    const message = inbox.find((m) => m.body.toString() === marker);
    if (message === undefined) throw new Error('no hello');
    return message.identity;
  }

  after(async () => {
    for (const socket of dealers) socket.close();
    await Promise.all(transports.map((transport) => transport.close()));
  });

  describe('receive backlog', function () {
    it('bounds what libzmq reads ahead per peer (RCVHWM 100 by default, configurable)', async () => {
      expect(DEFAULT_RECEIVE_HWM).to.equal(100);
      expect((await bind()).highWaterMarks()).to.deep.equal({ send: 1000, receive: 100 });
      const custom = await bind({ receiveHighWaterMark: 7, sendHighWaterMark: 3 });
      expect(custom.highWaterMarks()).to.deep.equal({ send: 3, receive: 7 });
    });

    it('reports a lag while messages wait in the socket and 0 once it has caught up', async () => {
      const transport = await bind();
      expect(transport.receiveLagMs()).to.equal(0);
      const lags: number[] = [];
      let received = 0;
      transport.onMessage(() => {
        // A slow consumer: 3 ms a message, so a burst of 300 waits in the socket.
        const busyUntil = Date.now() + 3;
        while (Date.now() < busyUntil);
        lags.push(transport.receiveLagMs());
        received++;
      });
      const client = dealer(transport.endpoint);
      for (let i = 0; i < 300; i++) await client.send(['h', `m${i}`]);
      await until(() => received === 300, 'received === 300');
      expect(Math.max(...lags)).to.be.greaterThan(100);
      await until(() => transport.receiveLagMs() === 0, 'transport.receiveLagMs() === 0');
      expect(transport.receiveLagMs()).to.equal(0);
    });

    it('reads a steady trickle in batches without stopping the liveness clock', async () => {
      const transport = await bind({ receiveIdleMs: 5 });
      // The tracker's clock runs on wall time less the reported backlog: a batch starting up to
      // 5 ms late must not count as a backlog, or the clock would stand still under light load.
      const tracker = new LiveNodeTracker({
        settings: { ...DEFAULT_SERVER_CONFIG },
        send: () => false,
        receiveLag: () => transport.receiveLagMs(),
      });
      let received = 0;
      const lags: number[] = [];
      transport.onMessage(() => {
        received++;
        lags.push(transport.receiveLagMs());
        tracker.livenessNow();
      });
      const client = dealer(transport.endpoint);
      const wallStart = Date.now();
      const clockStart = tracker.livenessNow();
      for (let i = 0; i < 200; i++) {
        await client.send(['h', `m${i}`]);
        await sleep(2);
      }
      await until(() => received === 200, 'received === 200');
      const wall = Date.now() - wallStart;
      expect(tracker.livenessNow() - clockStart).to.be.greaterThan(wall / 2);
      expect(lags.filter((lag) => lag === 0).length).to.be.greaterThan(150);
    });
  });

  describe('inbound checks', function () {
    it('drops and counts wrong frame counts and oversized frames, then still delivers', async () => {
      const { logger, lines } = captureLogs();
      const transport = await bind({ maxHeaderBytes: 2048, maxBodyBytes: 65_536, log: logger });
      const inbox: InboundMessage[] = [];
      transport.onMessage((message) => inbox.push(message));
      const client = dealer(transport.endpoint);
      await client.send('one frame');
      await client.send(['three', 'frames', 'here']);
      await client.send([Buffer.alloc(2049, 0x61), 'body']);
      await client.send(['header', Buffer.alloc(65_537, 0x62)]);
      await client.send([Buffer.alloc(2048, 0x61), Buffer.alloc(65_536, 0x62)]);
      await client.send(['header', 'valid']);
      await until(() => inbox.length === 2, 'inbox.length === 2');
      expect(inbox.map((m) => m.body.length)).to.deep.equal([65_536, 5]);
      expect(inbox[1]?.header.toString()).to.equal('header');
      expect(inbox[0]?.identity.equals(inbox[1]?.identity ?? Buffer.alloc(0))).to.equal(true);
      const stats = transport.stats();
      expect(stats.droppedMalformed).to.equal(4);
      expect(stats.received).to.equal(2);
      expect(stats.droppedRateLimited).to.equal(0);
      // Four drops of one peer for one reason: one line a minute, the rest counted.
      expect(lines.map((l) => [l.level, l.msg, l.reason, l.peer])).to.deep.equal([
        ['warn', 'message dropped', 'malformed', inbox[0]?.identity.toString('hex')],
      ]);
    });

    it('limits a flooding peer while another peer still gets through', async function () {
      this.timeout(60_000);
      const { logger, lines } = captureLogs();
      const transport = await bind({ rateLimit: { messagesPerSecond: 100, burst: 50 }, log: logger });
      const perPeer = new Map<string, number>();
      transport.onMessage((message) => {
        const peer = message.header.toString();
        perPeer.set(peer, (perPeer.get(peer) ?? 0) + 1);
      });
      const flooder = dealer(transport.endpoint);
      const quiet = dealer(transport.endpoint);
      for (let i = 0; i < 5000; i++) await flooder.send(['flood', String(i)]);
      for (let i = 0; i < 20; i++) await quiet.send(['quiet', String(i)]);
      await until(() => {
        const stats = transport.stats();
        return stats.received + stats.droppedRateLimited === 5020;
      }, 'all 5020 messages received or dropped');
      const stats = transport.stats();
      expect(perPeer.get('quiet')).to.equal(20);
      const flooded = perPeer.get('flood') ?? 0;
      expect(flooded).to.be.at.least(50);
      expect(flooded).to.be.below(5000);
      expect(stats.droppedRateLimited).to.equal(5000 - flooded);
      expect(stats.droppedMalformed).to.equal(0);
      // Thousands of drops, one log line (the flooder's, once a minute at most).
      expect(lines.map((l) => [l.level, l.reason])).to.deep.equal([['warn', 'rate limited']]);
    });

    it('keeps receiving after the handler throws, and logs each error', async () => {
      const { logger, lines } = captureLogs();
      const transport = await bind({ log: logger });
      const seen: string[] = [];
      transport.onMessage((message) => {
        const text = message.body.toString();
        seen.push(text);
        if (text.startsWith('boom')) throw new Error(text);
      });
      const client = dealer(transport.endpoint);
      await client.send(['h', 'boom-1']);
      await client.send(['h', 'fine-1']);
      await client.send(['h', 'boom-2']);
      await client.send(['h', 'fine-2']);
      await until(() => seen.length === 4, 'seen.length === 4');
      expect(seen).to.deep.equal(['boom-1', 'fine-1', 'boom-2', 'fine-2']);
      const errors = lines.filter((l) => l.level === 'error');
      expect(errors.map((l) => [l.msg, l.where, l.err])).to.deep.equal([
        ['command socket error', 'handler', 'boom-1'],
        ['command socket error', 'handler', 'boom-2'],
      ]);
      expect(transport.stats().received).to.equal(4);
    });

    it('keeps receiving after a throwing handler without a logger', async () => {
      const transport = await bind();
      const seen: string[] = [];
      transport.onMessage((message) => {
        seen.push(message.body.toString());
        throw new Error('always');
      });
      const client = dealer(transport.endpoint);
      for (let i = 0; i < 10; i++) await client.send(['h', String(i)]);
      await until(() => seen.length === 10, 'seen.length === 10');
    });
  });

  describe('sends', function () {
    it('resolves false at once for an unknown identity (mandatory: EHOSTUNREACH)', async function () {
      this.timeout(2000);
      const transport = await bind();
      const ok = await transport.send(Buffer.from([0, 1, 2, 3, 4]), Buffer.from('h'), Buffer.from('b'));
      expect(ok).to.equal(false);
      expect(transport.stats().sendFailures).to.equal(1);
      // The loop carries on after a failure.
      expect(await transport.send(Buffer.from('nobody'), Buffer.from('h'), Buffer.from('b'))).to.equal(false);
      expect(transport.stats().sendFailures).to.equal(2);
    });

    it('delivers 10,000 queued sends to a live Dealer, in order', async function () {
      this.timeout(60_000);
      const transport = await bind();
      const inbox: InboundMessage[] = [];
      transport.onMessage((message) => inbox.push(message));
      const client = dealer(transport.endpoint);
      const identity = await identityOf(transport, client, inbox);
      const total = 10_000;
      const got: number[] = [];
      const reading = (async () => {
        while (got.length < total) {
          const [header, body] = await client.receive();
          expect(header?.toString()).to.equal('h');
          got.push(Number(body?.toString()));
        }
      })();
      const results = await Promise.all(
        Array.from({ length: total }, (_, i) =>
          transport.send(identity, Buffer.from('h'), Buffer.from(String(i))),
        ),
      );
      await reading;
      expect(results.every((ok) => ok)).to.equal(true);
      expect(got).to.deep.equal(Array.from({ length: total }, (_, i) => i));
      expect(transport.stats().sent).to.equal(total);
      expect(transport.queued).to.equal(0);
    });

    it('rejects sends beyond maxQueue with false', async () => {
      const transport = await bind({ maxQueue: 10 });
      const results = await Promise.all(
        Array.from({ length: 15 }, () =>
          transport.send(Buffer.from('nobody'), Buffer.from('h'), Buffer.from('b')),
        ),
      );
      expect(results.every((ok) => !ok)).to.equal(true);
      expect(transport.stats().sendFailures).to.equal(15);
    });

    it('fails sends to a peer that stops reading (EAGAIN) without holding up others', async function () {
      this.timeout(60_000);
      const sendTimeoutMs = 3000;
      const transport = await bind({ sendTimeoutMs, sendHighWaterMark: 1 });
      const inbox: InboundMessage[] = [];
      transport.onMessage((message) => inbox.push(message));
      const stuck = dealer(transport.endpoint, { receiveHighWaterMark: 1, receiveBufferSize: 4096 });
      const stuckId = await identityOf(transport, stuck, inbox);
      const live = dealer(transport.endpoint);
      const liveId = await identityOf(transport, live, inbox);

      // Fill the stuck peer's pipe and kernel buffers until a send fails.
      const big = Buffer.alloc(60_000, 0x78);
      const stuckSends: Promise<boolean>[] = [];
      for (let i = 0; i < 5000 && transport.stats().sendFailures === 0; i++) {
        stuckSends.push(transport.send(stuckId, Buffer.from('h'), big));
        if (i % 50 === 49) await sleep(1);
      }
      await until(() => transport.stats().sendFailures > 0, 'transport.stats().sendFailures > 0');
      const results = await Promise.all(stuckSends);
      // The first sends fit in the pipes; then EAGAIN. (zeromq.js sends with ZMQ_DONTWAIT and waits
      // only while the whole socket is not writable: with another peer writable it fails at once.)
      expect(results.indexOf(false)).to.be.greaterThan(0);

      // The stalled peer's sends no longer wait: none of these 20 takes sendTimeoutMs.
      const started = performance.now();
      const more = Array.from({ length: 20 }, () => transport.send(stuckId, Buffer.from('h'), big));
      const toLive = transport.send(liveId, Buffer.from('h'), Buffer.from('live'));
      await Promise.all(more);
      expect(await toLive).to.equal(true);
      expect(performance.now() - started).to.be.below(sendTimeoutMs / 2);
      expect((await live.receive()).map(String)).to.deep.equal(['h', 'live']);
    });

    it('waits up to sendTimeout when no peer is writable, then fails and stalls that peer', async function () {
      this.timeout(60_000);
      const sendTimeoutMs = 1000;
      const transport = await bind({ sendTimeoutMs, sendHighWaterMark: 1 });
      const inbox: InboundMessage[] = [];
      transport.onMessage((message) => inbox.push(message));
      const stuck = dealer(transport.endpoint, { receiveHighWaterMark: 1, receiveBufferSize: 4096 });
      const stuckId = await identityOf(transport, stuck, inbox);
      const big = Buffer.alloc(60_000, 0x78);
      const fillStarted = performance.now();
      const sends: Promise<boolean>[] = [];
      for (let i = 0; i < 5000 && transport.stats().sendFailures === 0; i++) {
        sends.push(transport.send(stuckId, Buffer.from('h'), big));
        if (i % 50 === 49) await sleep(1);
      }
      await until(() => transport.stats().sendFailures > 0, 'transport.stats().sendFailures > 0');
      // The failing send waited for the timeout (the only peer was not writable).
      expect(performance.now() - fillStarted).to.be.at.least(sendTimeoutMs * 0.9);
      await Promise.all(sends);
      // Stalled now: a further send fails without waiting the timeout again.
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: 10 }, () => transport.send(stuckId, Buffer.from('h'), big)),
      );
      expect(results.filter((ok) => !ok).length).to.be.greaterThan(0);
      expect(performance.now() - started).to.be.below(sendTimeoutMs * 3);
    });

    it('close() resolves pending sends with false and does not hang', async function () {
      this.timeout(10_000);
      const transport = await bind({ sendTimeoutMs: 5000 });
      const inbox: InboundMessage[] = [];
      transport.onMessage((message) => inbox.push(message));
      const client = dealer(transport.endpoint);
      const identity = await identityOf(transport, client, inbox);
      const pending = Array.from({ length: 1000 }, (_, i) =>
        transport.send(identity, Buffer.from('h'), Buffer.from(String(i))),
      );
      expect(transport.queued).to.be.greaterThan(900);
      await transport.close();
      const results = await Promise.all(pending);
      expect(results.filter((ok) => !ok).length).to.be.at.least(999);
      expect(await transport.send(identity, Buffer.from('h'), Buffer.from('late'))).to.equal(false);
      await transport.close();
    });
  });
});
