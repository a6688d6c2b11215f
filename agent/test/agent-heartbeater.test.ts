import { expect } from 'chai';
import { Heartbeater } from '../src/heartbeater.js';
import { until } from '@push-jobs/testing';

describe('agent heartbeater (A.14)', function () {
  const heartbeat = {
    out_addr: 'tcp://x:1',
    command_addr: 'tcp://x:2',
    interval: 0.02,
    offline_threshold: 2,
    online_threshold: 1,
  };
  let hb: Heartbeater | undefined;
  afterEach(() => hb?.stop());

  function make(): { sent: number[]; changes: boolean[]; restarts: string[][] } {
    const log = { sent: [] as number[], changes: [] as boolean[], restarts: [] as string[][] };
    hb = new Heartbeater({
      heartbeat,
      serverIncarnationId: 'inc-1',
      random: () => 0,
      hooks: {
        sendHeartbeat: () => log.sent.push(Date.now()),
        availabilityChanged: (online) => log.changes.push(online),
        serverRestarted: (a, b) => log.restarts.push([a, b]),
      },
    });
    return log;
  }

  it('sends the first heartbeat at once and goes offline after missed server heartbeats', async () => {
    const log = make();
    hb!.start();
    expect(log.sent).to.have.length(1);
    await until(() => log.changes.length === 1, 'offline', 2000);
    expect(log.changes).to.deep.equal([false]);
    expect(hb!.online).to.equal(false);
    // offline_threshold + 2 passes: online at start, 3 counted passes, then offline (no send).
    expect(log.sent).to.have.length(3);
    const sentWhenOffline = log.sent.length;
    await new Promise((r) => setTimeout(r, 80));
    expect(log.sent).to.have.length(sentWhenOffline);
    // online_threshold + 2 server heartbeats bring it back.
    hb!.heartbeatReceived('inc-1', 1);
    hb!.heartbeatReceived('inc-1', 2);
    expect(hb!.online).to.equal(false);
    hb!.heartbeatReceived('inc-1', 3);
    expect(hb!.online).to.equal(true);
    expect(log.changes).to.deep.equal([false, true]);
  });

  it('stays online while server heartbeats arrive', async () => {
    const log = make();
    hb!.start();
    const timer = setInterval(() => hb!.heartbeatReceived('inc-1', 1), 10);
    await new Promise((r) => setTimeout(r, 200));
    clearInterval(timer);
    expect(log.changes).to.deep.equal([]);
    expect(log.sent.length).to.be.greaterThan(4);
  });

  it('reports a server restart (new incarnation) once, after the random delay', async () => {
    const log = make();
    hb!.heartbeatReceived('inc-2', 1);
    hb!.heartbeatReceived('inc-2', 2);
    await until(() => log.restarts.length === 1, 'restart', 1000);
    expect(log.restarts).to.deep.equal([['inc-1', 'inc-2']]);
    expect(hb!.serverIncarnationId).to.equal('inc-2');
  });
});
