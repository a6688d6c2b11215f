import { expect } from 'chai';
import { Subscriber } from 'zeromq';
import { ZmqHeartbeatTransport } from '../src/zmq/index.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('zmq: heartbeat socket (PUB)', function () {
  let transport: ZmqHeartbeatTransport;
  let subscriber: Subscriber;

  before(async () => {
    transport = await ZmqHeartbeatTransport.bind({ endpoint: 'tcp://127.0.0.1:0' });
    subscriber = new Subscriber({ linger: 0 });
    subscriber.connect(transport.endpoint);
    subscriber.subscribe();
  });

  after(async () => {
    subscriber.close();
    await transport.close();
  });

  it('binds on a real port when 0 is asked', () => {
    expect(transport.endpoint).to.match(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(transport.endpoint).to.not.match(/:0$/);
  });

  it('delivers [header, body] to a subscriber of everything', async () => {
    // PUB drops until the subscription reached it ("slow joiner"): publish until one arrives.
    let received: Buffer[] | undefined;
    const receiving = subscriber.receive().then((frames) => {
      received = frames;
    });
    for (let i = 0; i < 200 && received === undefined; i++) {
      transport.publish(Buffer.from('header'), Buffer.from('{"type":"heartbeat"}'));
      await sleep(10);
    }
    await receiving;
    expect(received?.map(String)).to.deep.equal(['header', '{"type":"heartbeat"}']);
    expect(transport.published).to.be.greaterThan(0);
  });

  it('drops a publish while a send is in flight instead of waiting', async () => {
    const droppedBefore = transport.dropped;
    const first = transport.publish(Buffer.from('h'), Buffer.from('1'));
    const second = transport.publish(Buffer.from('h'), Buffer.from('2'));
    expect(first).to.equal(true);
    expect(second).to.equal(false);
    expect(transport.dropped).to.equal(droppedBefore + 1);
    await sleep(0);
    expect(transport.publish(Buffer.from('h'), Buffer.from('3'))).to.equal(true);
  });

  it('returns false after close', async () => {
    const other = await ZmqHeartbeatTransport.bind({ endpoint: 'tcp://127.0.0.1:0' });
    await other.close();
    expect(other.publish(Buffer.from('h'), Buffer.from('b'))).to.equal(false);
    await other.close();
  });
});
