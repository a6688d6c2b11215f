import { expect } from 'chai';
import type { MessageBody } from '@push-jobs/protocol';
import {
  LiveNodeTracker,
  MAX_BLIND_MS,
  type NodeEventListener,
  type NodeRecord,
  type ServerCommand,
} from '../src/nodes/tracker.js';

const settings = {
  heartbeat_interval: 1000,
  decay_window: 4,
  down_threshold: 0.6,
  detect_offline_nodes_interval: 4,
  rehab_timer: 1000,
};

function setup() {
  let now = 0;
  const tracker = new LiveNodeTracker(settings, () => now);
  const sent: Array<{ node: string; type: ServerCommand; fields?: Record<string, unknown> }> = [];
  tracker.setSender((r: NodeRecord, type, fields) =>
    sent.push({ node: r.node, type, ...(fields ? { fields } : {}) }),
  );
  const events: string[] = [];
  const live = new Set<string>();
  const listener: NodeEventListener = {
    nodeDown: (org, node) => events.push(`down ${org}/${node}`),
    jobMessage: (org, node, jobId, body) => {
      events.push(`${String(body.type)} ${org}/${node} ${jobId}`);
      return live.has(jobId);
    },
    jobExists: (jobId) => live.has(jobId),
  };
  tracker.setListener(listener);
  const addr = (s: string) => Buffer.from(s);
  const msg = (type: string, extra: Record<string, unknown> = {}): MessageBody => ({
    type,
    incarnation_id: 'inc-1',
    job_id: null,
    ...extra,
  });
  return { tracker, sent, events, live, addr, msg, tick: (ms: number) => (now += ms) };
}

describe('node tracker (spec 3)', function () {
  it('answers first contact with abort, stays unavailable in rehab, becomes available on aborted', function () {
    const { tracker, sent, addr, msg } = setup();
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat'));
    expect(sent).to.deep.equal([{ node: 'web1', type: 'abort' }]);
    expect(tracker.nodeState('acme', 'web1')).to.deep.equal({
      status: 'online',
      availability: 'unavailable',
    });
    expect(tracker.listNodeStates('acme')).to.deep.equal([
      { node_name: 'web1', availability: 'unavailable' },
    ]);
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('aborted'));
    expect(tracker.isAvailable('acme', 'web1')).to.equal(true);
    expect(tracker.listNodeStates('acme')).to.deep.equal([{ node_name: 'web1', availability: 'available' }]);
    expect(tracker.nodeState('acme', 'nope')).to.deep.equal({
      status: 'offline',
      availability: 'unavailable',
    });
  });

  it('re-sends abort every rehab_timer until aborted, and reports unavailable in both endpoints while in rehab', function () {
    const { tracker, sent, addr, msg, tick } = setup();
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat'));
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('aborted'));
    tracker.rehab('acme', 'web1');
    expect(tracker.listNodeStates('acme')[0]!.availability).to.equal('unavailable');
    tick(500);
    tracker.rehabTick();
    expect(sent.filter((s) => s.type === 'abort')).to.have.length(2);
    tick(600);
    tracker.rehabTick();
    expect(sent.filter((s) => s.type === 'abort')).to.have.length(3);
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('aborted'));
    tick(2000);
    tracker.rehabTick();
    expect(sent.filter((s) => s.type === 'abort')).to.have.length(3);
  });

  it('sends ack when a node reconnects from a new address', function () {
    const { tracker, sent, addr, msg } = setup();
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat'));
    tracker.handle('acme', 'web1', addr('a2'), 'a2', msg('heartbeat'));
    expect(sent.map((s) => s.type)).to.deep.equal(['abort', 'ack']);
    expect(tracker.get('acme', 'web1')!.addressKey).to.equal('a2');
    expect(tracker.byAddressKey('a1')).to.equal(undefined);
  });

  it('a heartbeat with a new incarnation ends the old record (jobs see it down) and starts a fresh one', function () {
    const { tracker, events, sent, addr, msg } = setup();
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat'));
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('aborted'));
    tracker.handle('acme', 'web1', addr('a3'), 'a3', msg('heartbeat', { incarnation_id: 'inc-2' }));
    expect(events).to.deep.equal(['down acme/web1']);
    expect(tracker.get('acme', 'web1')!.incarnationId).to.equal('inc-2');
    expect(tracker.isAvailable('acme', 'web1')).to.equal(false);
    expect(sent.map((s) => s.type)).to.deep.equal(['abort', 'abort']);
  });

  it('declares a silent node dead on the scan and drops it from node_states', function () {
    const { tracker, events, addr, msg, tick } = setup();
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat'));
    for (let i = 0; i < 5; i++) {
      tick(1000);
      tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat'));
    }
    tracker.scan();
    expect(tracker.nodeCount()).to.equal(1);
    tick(3000);
    tracker.scan();
    expect(tracker.nodeCount()).to.equal(0);
    expect(events).to.deep.equal(['down acme/web1']);
    expect(tracker.nodeState('acme', 'web1').status).to.equal('offline');
  });

  it('forwards job messages; an unknown job sends the node to rehab', function () {
    const { tracker, events, sent, live, addr, msg } = setup();
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat'));
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('aborted'));
    live.add('job1');
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('ack_commit', { job_id: 'job1' }));
    expect(tracker.isAvailable('acme', 'web1')).to.equal(true);
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('ack_commit', { job_id: 'gone' }));
    expect(events).to.deep.equal(['ack_commit acme/web1 job1', 'ack_commit acme/web1 gone']);
    expect(tracker.isAvailable('acme', 'web1')).to.equal(false);
    expect(sent.map((s) => s.type)).to.deep.equal(['abort', 'abort']);
  });

  it('a heartbeat naming a job that no longer exists sends the node to rehab; "null" means no job', function () {
    const { tracker, addr, msg } = setup();
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat'));
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('aborted'));
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat', { job_id: 'null' }));
    expect(tracker.isAvailable('acme', 'web1')).to.equal(true);
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat', { job_id: 'stale-job' }));
    expect(tracker.isAvailable('acme', 'web1')).to.equal(false);
  });

  it('ignores unknown message types and over-long job ids without failing', function () {
    const { tracker, events, addr, msg } = setup();
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat'));
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('bogus'));
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('succeeded', { job_id: 'x'.repeat(65) }));
    expect(events).to.deep.equal([]);
    expect(tracker.nodeCount()).to.equal(1);
  });

  describe('liveness clock and receive backlogs', function () {
    function withLag() {
      let now = 0;
      let lag = 0;
      const tracker = new LiveNodeTracker(
        settings,
        () => now,
        () => lag,
      );
      const events: string[] = [];
      tracker.setListener({
        nodeDown: (org, node) => events.push(`down ${org}/${node}`),
        jobMessage: () => false,
        jobExists: () => false,
      });
      const hb = (): void =>
        tracker.handle('acme', 'web1', Buffer.from('a1'), 'a1', {
          type: 'heartbeat',
          incarnation_id: 'inc-1',
          job_id: null,
        });
      return {
        tracker,
        events,
        hb,
        tick: (ms: number) => (now += ms),
        setLag: (ms: number) => (lag = ms),
      };
    }

    it('does not count time the server spent reading a backlog as the node being silent', function () {
      const { tracker, events, hb, tick, setLag } = withLag();
      for (let i = 0; i < 5; i++) {
        hb();
        tick(1000);
      }
      // The server falls 6 s behind: nothing of this node is read meanwhile.
      for (let i = 1; i <= 6; i++) {
        tick(1000);
        setLag(i * 1000);
        tracker.scan();
      }
      expect(tracker.livenessNow()).to.equal(5000);
      // The backlog drains: the node's late heartbeats arrive in a burst.
      for (let i = 0; i < 6; i++) hb();
      setLag(0);
      hb();
      tracker.scan();
      expect(events).to.deep.equal([]);
      expect(tracker.nodeCount()).to.equal(1);
      // The clock goes on from where it stopped: real silence still ends the node.
      tick(8000);
      tracker.scan();
      expect(events).to.deep.equal(['down acme/web1']);
    });

    it('without the backlog hint the same gap ends the node (what the clock prevents)', function () {
      const { events, hb, tick } = withLag();
      for (let i = 0; i < 5; i++) {
        hb();
        tick(1000);
      }
      tick(6000);
      hb();
      expect(events).to.deep.equal(['down acme/web1']);
    });

    it('counts time again once one backlog lasts longer than MAX_BLIND_MS', function () {
      const { tracker, events, hb, tick, setLag } = withLag();
      hb();
      for (let ms = 1000; ms <= MAX_BLIND_MS + 10_000; ms += 1000) {
        tick(1000);
        setLag(ms);
        tracker.scan();
      }
      // 40 s of wall time, of which 30 s were not counted.
      expect(tracker.livenessNow()).to.equal(10_000);
      expect(events).to.deep.equal(['down acme/web1']);
    });
  });
});
