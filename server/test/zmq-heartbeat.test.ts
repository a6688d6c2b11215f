import { connect, type Socket } from 'node:net';
import { expect } from 'chai';
import { until } from '@push-jobs/testing';
import { Subscriber } from 'zeromq';
import { ZmqHeartbeatTransport } from '../src/zmq/index.js';
import {
  FrameReader,
  frame,
  greeting,
  readyCommand,
  readyProperties,
  splitCommand,
  type Frame,
} from '../src/zmq/zmtp.js';

/** Polls `check` every 10 ms (publishing meanwhile, when asked) until it holds. */
function untilPublishing(check: () => boolean, publish?: () => void): Promise<void> {
  return until(
    () => {
      if (check()) return true;
      publish?.();
      return false;
    },
    'the heartbeat condition',
    { timeoutMs: 30_000, intervalMs: 10 },
  );
}

/** Receives into an array until the socket closes. */
function collect(sub: Subscriber): Buffer[][] {
  const got: Buffer[][] = [];
  void (async () => {
    try {
      for await (const frames of sub) got.push(frames);
    } catch {
      // closed
    }
  })();
  return got;
}

/** Counts the socket's 'disconnect' and 'handshake' events. */
function watch(sub: Subscriber): { disconnects: number; handshakes: number } {
  const seen = { disconnects: 0, handshakes: 0 };
  void (async () => {
    try {
      for await (const event of sub.events) {
        if (event.type === 'disconnect') seen.disconnects++;
        if (event.type === 'handshake') seen.handshakes++;
      }
    } catch {
      // closed
    }
  })();
  return seen;
}

describe('zmq: heartbeat socket (PUB over ZMTP)', function () {
  let transport: ZmqHeartbeatTransport;
  const open: Subscriber[] = [];
  const sub = (): Subscriber => {
    const s = new Subscriber({ linger: 0 });
    open.push(s);
    return s;
  };

  beforeEach(async () => {
    transport = await ZmqHeartbeatTransport.bind({
      endpoint: 'tcp://127.0.0.1:0',
      maxConnectionsPerAddress: 4,
      maxSubscriptions: 3,
      maxSubscriptionBytes: 32,
      handshakeTimeoutMs: 300,
    });
  });

  afterEach(async () => {
    for (const s of open.splice(0)) s.close();
    await transport.close();
  });

  const beat = (): void => void transport.publish(Buffer.from('header'), Buffer.from('{"type":"heartbeat"}'));

  it('binds on a real port when 0 is asked', () => {
    expect(transport.endpoint).to.match(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(transport.endpoint).to.not.match(/:0$/);
  });

  it('delivers [header, body] to a libzmq subscriber of everything', async () => {
    const s = sub();
    s.subscribe();
    s.connect(transport.endpoint);
    const got = collect(s);
    // PUB drops until the subscription reached it ("slow joiner"): publish until one arrives.
    await untilPublishing(() => got.length > 0, beat);
    expect(got[0]?.map(String)).to.deep.equal(['header', '{"type":"heartbeat"}']);
    expect(transport.published).to.be.greaterThan(0);
  });

  it('delivers frames over 255 bytes (long frames) intact', async () => {
    const s = sub();
    s.subscribe();
    s.connect(transport.endpoint);
    const got = collect(s);
    const header = Buffer.alloc(700, 'h');
    const body = Buffer.alloc(70_000, 'b');
    await untilPublishing(
      () => got.length > 0,
      () => void transport.publish(header, body),
    );
    expect(got[0]?.[0]?.equals(header)).to.equal(true);
    expect(got[0]?.[1]?.equals(body)).to.equal(true);
  });

  it('filters by subscribed prefix, as PUB does', async () => {
    const matching = sub();
    matching.subscribe('head');
    matching.connect(transport.endpoint);
    const other = sub();
    other.subscribe('nope');
    other.connect(transport.endpoint);
    const everything = sub();
    everything.subscribe();
    everything.connect(transport.endpoint);
    const [a, b, c] = [collect(matching), collect(other), collect(everything)];
    await untilPublishing(() => a.length > 0 && c.length > 0, beat);
    transport.publish(Buffer.from('nope-header'), Buffer.from('x'));
    await untilPublishing(
      () => b.length > 0,
      () => void transport.publish(Buffer.from('nope-header'), Buffer.from('x')),
    );
    expect(b.every((m) => String(m[0]).startsWith('nope'))).to.equal(true);
    expect(a.every((m) => String(m[0]).startsWith('head'))).to.equal(true);
  });

  it('drops a peer that subscribes to more prefixes than allowed; others keep receiving', async () => {
    const good = sub();
    good.subscribe();
    good.connect(transport.endpoint);
    const got = collect(good);
    await untilPublishing(() => got.length > 0, beat);
    const bad = sub();
    const events = watch(bad);
    for (let i = 0; i < 10; i++) bad.subscribe(`topic-${i}`);
    bad.connect(transport.endpoint);
    await untilPublishing(() => transport.stats().kicked > 0 && events.disconnects > 0);
    const before = got.length;
    await untilPublishing(() => got.length > before, beat);
    expect(transport.stats().connections).to.be.lessThanOrEqual(2);
  });

  it('drops a peer whose subscription is longer than allowed', async () => {
    const bad = sub();
    const events = watch(bad);
    bad.subscribe(Buffer.alloc(33, 1));
    bad.connect(transport.endpoint);
    await untilPublishing(() => transport.stats().kicked > 0 && events.disconnects > 0);
  });

  it('drops a peer whose frame is over the frame limit (libzmq would have kept it)', async () => {
    const bad = sub();
    const events = watch(bad);
    bad.subscribe(Buffer.alloc(4_000_000, 7));
    bad.connect(transport.endpoint);
    await untilPublishing(() => transport.stats().kicked > 0 && events.disconnects > 0);
  });

  it('refuses connections beyond the per-address cap; another address still connects', async () => {
    const attackers: ReturnType<typeof watch>[] = [];
    for (let i = 0; i < 6; i++) {
      const s = sub();
      attackers.push(watch(s));
      s.subscribe();
      // Source address 127.0.0.2: the whole 127/8 is loopback on Linux.
      s.connect(`tcp://127.0.0.2:0;${transport.endpoint.slice('tcp://'.length)}`);
    }
    await untilPublishing(() => transport.stats().refused >= 2);
    await untilPublishing(() => attackers.filter((a) => a.handshakes > 0).length === 4);
    expect(transport.stats().connections).to.equal(4);
    const legit = sub();
    legit.subscribe();
    legit.connect(transport.endpoint);
    const got = collect(legit);
    await untilPublishing(() => got.length > 0, beat);
  });

  it('drops a TCP peer that never finishes its handshake', async () => {
    const raw: Socket = connect(Number(transport.endpoint.split(':').pop()), '127.0.0.1');
    raw.on('error', () => undefined);
    raw.resume();
    const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    await closed;
    expect(transport.stats().kicked).to.equal(1);
  });

  it('drops a peer that is not speaking ZMTP 3', async () => {
    const raw: Socket = connect(Number(transport.endpoint.split(':').pop()), '127.0.0.1');
    raw.on('error', () => undefined);
    raw.resume();
    raw.write('GET / HTTP/1.1\r\n\r\n');
    await new Promise<void>((resolve) => raw.once('close', () => resolve()));
    expect(transport.stats().kicked).to.equal(1);
  });

  it('serves a ZMTP 3.0 peer (libzmq 4.0/4.1, the original client), whose subscriptions are messages', async () => {
    const raw: Socket = connect(Number(transport.endpoint.split(':').pop()), '127.0.0.1');
    raw.on('error', () => undefined);
    const reader = new FrameReader(100_000);
    const frames: Frame[] = [];
    let peerGreeting: Buffer | undefined;
    raw.on('data', (chunk: Buffer) => {
      const read = reader.push(chunk);
      if (typeof read === 'string') throw new Error(read);
      peerGreeting ??= read.greeting;
      frames.push(...read.frames);
    });
    const hello = greeting();
    hello[11] = 0; // version 3.0
    raw.write(Buffer.concat([hello, readyCommand('SUB'), frame(Buffer.from([1]))]));
    await untilPublishing(() => frames.some((f) => !f.command), beat);
    expect(peerGreeting?.[10]).to.equal(3);
    const ready = splitCommand(frames[0]!.body);
    expect(ready?.name).to.equal('READY');
    expect(readyProperties(ready!.data)?.get('socket-type')?.toString()).to.equal('PUB');
    const message = frames.filter((f) => !f.command).slice(0, 2);
    expect(message.map((f) => [f.more, String(f.body)])).to.deep.equal([
      [true, 'header'],
      [false, '{"type":"heartbeat"}'],
    ]);
    raw.destroy();
  });

  it('answers ZMTP 3.1 PINGs, so subscribers with heartbeats stay connected', async () => {
    const s = new Subscriber({ linger: 0, heartbeatInterval: 100, heartbeatTimeout: 300 });
    open.push(s);
    const events = watch(s);
    s.subscribe();
    s.connect(transport.endpoint);
    const got = collect(s);
    // 60 messages 10 ms apart span several PING intervals and timeouts.
    await untilPublishing(() => got.length >= 60, beat);
    expect(events.disconnects).to.equal(0);
  });

  it('returns false after close', async () => {
    const other = await ZmqHeartbeatTransport.bind({ endpoint: 'tcp://127.0.0.1:0' });
    await other.close();
    expect(other.publish(Buffer.from('h'), Buffer.from('b'))).to.equal(false);
    await other.close();
  });
});
