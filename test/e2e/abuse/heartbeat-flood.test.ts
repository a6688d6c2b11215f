// Subscription floods on the heartbeat port, no credentials needed: a real server process and real
// libzmq SUB sockets as the attacker. libzmq's PUB kept every subscription in a trie on the main
// thread (~46 bytes per byte sent, never returned): 16 MB of subscriptions grew the server by
// about 700 MB and stopped its heartbeats for seconds. The server must hold only a few short
// subscriptions per peer, drop a peer that asks for more, and keep publishing to everyone else.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { Subscriber, XSubscriber } from 'zeromq';
import { until } from '@push-jobs/testing';
import { E2eScope } from '../../helpers/e2e-scope.js';
import type { ServerProcess } from '../../helpers/server-process.js';

/** A subscriber of everything, counting the heartbeats it receives. */
function listener(server: ServerProcess): { sub: Subscriber; beats: () => number } {
  const sub = new Subscriber({ linger: 0 });
  sub.subscribe();
  sub.connect(`tcp://127.0.0.1:${server.ports.heartbeat}`);
  let beats = 0;
  void (async () => {
    try {
      for await (const frames of sub) if (frames.length === 2) beats++;
    } catch {
      // closed
    }
  })();
  return { sub, beats: () => beats };
}

/**
 * An attacker socket sending its subscriptions (XSUB: sends wait for room instead of dropping
 * at the high-water mark, as SUB does), then the empty one last. The server reads a connection's
 * subscriptions in order, so a heartbeat on this socket proves it took in every one before; a
 * disconnect proves it refused them.
 */
function attacker(
  server: ServerProcess,
  subscriptions: Buffer[],
): { sub: XSubscriber; outcome: Promise<string> } {
  const sub = new XSubscriber({ linger: 0, sendHighWaterMark: 100 });
  const disconnected = (async () => {
    for await (const event of sub.events) if (event.type === 'disconnect') return 'disconnected';
    return 'closed';
  })();
  const received = (async () => {
    for (;;) {
      const frames = await sub.receive();
      if (frames.length === 2) return 'received a heartbeat';
    }
  })().catch(() => 'closed');
  sub.connect(`tcp://127.0.0.1:${server.ports.heartbeat}`);
  void (async () => {
    for (const s of subscriptions) await sub.send(Buffer.concat([Buffer.from([1]), s]));
    await sub.send(Buffer.from([1]));
  })().catch(() => undefined);
  return { sub, outcome: Promise.race([disconnected, received]) };
}

describe('abuse: subscription floods on the heartbeat port', function () {
  this.timeout(60_000);
  const scope = E2eScope.use('pj-abuse-hbflood-');

  async function floodAndCheck(subscriptions: Buffer[]): Promise<void> {
    const { server } = await scope.server({ heartbeatIntervalMs: 200 });
    const legit = listener(server);
    scope.defer(() => legit.sub.close());
    await until(() => legit.beats() >= 2, 'heartbeats to a subscriber');
    const before = server.usage().rssMiB;

    const attack = attacker(server, subscriptions);
    scope.defer(() => attack.sub.close());
    // Until the server refused the flood or took it all in, or its memory shows it taking it in.
    let outcome = 'still sending';
    void attack.outcome.then((o) => (outcome = o));
    await until(
      () => outcome !== 'still sending' || server.usage().rssMiB - before >= 100,
      'the flood refused or taken in',
      50_000,
    );
    const grown = server.usage().rssMiB - before;
    expect(grown, `RSS grew by ${grown.toFixed(0)} MiB (${outcome})`).to.be.lessThan(100);
    expect(outcome, 'the server refuses the flood instead of taking it in').to.equal('disconnected');

    // Everyone else still gets heartbeats, while the attacker keeps reconnecting and resending.
    const seen = legit.beats();
    await until(() => legit.beats() >= seen + 3, 'heartbeats after the flood');
    expect(server.usage().rssMiB - before).to.be.lessThan(100);
  }

  it('a few huge subscriptions (4 x 4 MB)', async () => {
    await floodAndCheck(Array.from({ length: 4 }, () => randomBytes(4_000_000)));
  });

  it('many small distinct subscriptions (60,000 x 200 bytes)', async () => {
    await floodAndCheck(Array.from({ length: 60_000 }, () => randomBytes(200)));
  });
});
