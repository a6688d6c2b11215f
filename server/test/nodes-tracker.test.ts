import { expect } from 'chai';
import {
  commitMessage,
  runMessage,
  type CommitBody,
  type MessageBody,
  type ServerCommandBody,
} from '@push-jobs/protocol/internal';
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

/** A job's `commit` (the tracker does not look inside it beyond its job). */
function commitOf(jobId: string): CommitBody {
  return commitMessage({ job_id: jobId, server: 'push', command: 'uptime', capture: false });
}

function withoutType(body: ServerCommandBody): Record<string, unknown> {
  const { type: _type, ...fields } = body;
  return fields;
}

function setup() {
  let now = 0;
  const sent: Array<{ node: string; type: ServerCommand; fields?: Record<string, unknown> }> = [];
  const tracker = new LiveNodeTracker({
    settings,
    now: () => now,
    send: (r: NodeRecord, message) => {
      const { type, ...fields } = message;
      sent.push({ node: r.node, type, ...(Object.keys(fields).length > 0 ? { fields } : {}) });
      return true;
    },
  });
  const events: string[] = [];
  /** Live jobs; a job maps to whether it still wants the nodes that hold it. */
  const live = new Map<string, boolean>();
  const listener: NodeEventListener = {
    nodeDown: (org, node) => events.push(`down ${org}/${node}`),
    jobMessage: (org, node, jobId, body) => {
      events.push(`${String(body.type)} ${org}/${node} ${jobId}`);
      return live.has(jobId);
    },
    jobHeld: (_org, _node, jobId, state) => {
      const wants = live.get(jobId);
      if (wants === undefined) return state === 'running' ? 'orphan' : 'release';
      return wants ? 'ok' : 'release';
    },
    nodeReconnected: (org, node) => events.push(`reconnected ${org}/${node}`),
  };
  tracker.setListener(listener);
  const addr = (s: string) => Buffer.from(s);
  const msg = (type: string, extra: Record<string, unknown> = {}): MessageBody => ({
    type,
    incarnation_id: 'inc-1',
    job_id: null,
    ...extra,
  });
  /** web1 connects on address a1 and answers the first-contact abort: idle and available. */
  const online = (): void => {
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat'));
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('aborted'));
  };
  return { tracker, sent, events, live, addr, msg, online, tick: (ms: number) => (now += ms) };
}

describe('node tracker (spec 3)', function () {
  it('answers first contact with abort, stays unavailable in rehab, becomes available on aborted', function () {
    const { tracker, sent, addr, msg } = setup();
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat'));
    expect(sent).to.deep.equal([{ node: 'web1', type: 'abort' }]);
    expect(tracker.nodeState('acme', 'web1')).to.deep.equal({
      status: 'online',
      availability: 'unavailable',
      state: 'rehab',
    });
    expect(tracker.listNodeStates('acme')).to.deep.equal([
      { node_name: 'web1', availability: 'unavailable', state: 'rehab' },
    ]);
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('aborted'));
    expect(tracker.isAvailable('acme', 'web1')).to.equal(true);
    expect(tracker.listNodeStates('acme')).to.deep.equal([
      { node_name: 'web1', availability: 'available', state: 'idle' },
    ]);
    expect(tracker.nodeState('acme', 'nope')).to.deep.equal({
      status: 'offline',
      availability: 'unavailable',
    });
  });

  it('re-sends abort every rehab_timer until aborted, and reports unavailable in both endpoints while in rehab', function () {
    const { tracker, sent, addr, msg, tick, online } = setup();
    online();
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

  it('sends ack when a node reconnects from a new address, and tells the jobs', function () {
    const { tracker, sent, events, addr, msg } = setup();
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat'));
    tracker.handle('acme', 'web1', addr('a2'), 'a2', msg('heartbeat'));
    expect(sent.map((s) => s.type)).to.deep.equal(['abort', 'ack']);
    expect(events).to.deep.equal(['reconnected acme/web1']);
    expect(tracker.get('acme', 'web1')!.addressKey).to.equal('a2');
    expect(tracker.byAddressKey('a1')).to.equal(undefined);
  });

  it('a heartbeat with a new incarnation ends the old record (jobs see it down) and starts a fresh one', function () {
    const { tracker, events, sent, addr, msg, online } = setup();
    online();
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

  it("forwards job messages; an ack for an unknown job gets that job's abort, a result for one nothing", function () {
    const { tracker, events, sent, live, addr, msg, online } = setup();
    online();
    live.set('job1', true);
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('ack_commit', { job_id: 'job1' }));
    expect(tracker.holding('acme', 'web1')).to.deep.equal({ jobId: 'job1', state: 'committed' });
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('succeeded', { job_id: 'job1' }));
    expect(tracker.holding('acme', 'web1')).to.equal(undefined);
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('succeeded', { job_id: 'old' }));
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('ack_commit', { job_id: 'gone' }));
    expect(events).to.deep.equal([
      'ack_commit acme/web1 job1',
      'succeeded acme/web1 job1',
      'succeeded acme/web1 old',
      'ack_commit acme/web1 gone',
    ]);
    expect(tracker.isAvailable('acme', 'web1')).to.equal(true);
    expect(sent).to.deep.equal([
      { node: 'web1', type: 'abort' },
      { node: 'web1', type: 'abort', fields: { job_id: 'gone' } },
    ]);
    // A job message without a valid job id is garbage: rehab, as the original.
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('ack_run'));
    expect(tracker.isAvailable('acme', 'web1')).to.equal(false);
  });

  it('heartbeats: a committed job nobody wants is released, an unknown running one is left to finish; "null" means no job', function () {
    const { tracker, sent, live, addr, msg, online } = setup();
    online();
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat', { job_id: 'null' }));
    expect(tracker.isAvailable('acme', 'web1')).to.equal(true);
    expect(sent).to.have.length(1);
    tracker.handle(
      'acme',
      'web1',
      addr('a1'),
      'a1',
      msg('heartbeat', { job_id: 'old', job_state: 'running' }),
    );
    expect(sent).to.have.length(1);
    expect(tracker.listNodeStates('acme')).to.deep.equal([
      { node_name: 'web1', availability: 'available', state: 'running', job_id: 'old' },
    ]);
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat', { job_id: null, job_state: 'idle' }));
    live.set('done-job', false);
    tracker.handle(
      'acme',
      'web1',
      addr('a1'),
      'a1',
      msg('heartbeat', { job_id: 'done-job', job_state: 'committed' }),
    );
    expect(sent.at(-1)).to.deep.equal({ node: 'web1', type: 'abort', fields: { job_id: 'done-job' } });
    // Still available: the release is answered in a round trip.
    expect(tracker.isAvailable('acme', 'web1')).to.equal(true);
    // An invalid job id is garbage: rehab.
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat', { job_id: 42 }));
    expect(tracker.isAvailable('acme', 'web1')).to.equal(false);
  });

  it('a release is never sent to a node known to hold another job', function () {
    const { tracker, sent, live, addr, msg, online } = setup();
    online();
    live.set('job1', true);
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('ack_commit', { job_id: 'job1' }));
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('ack_run', { job_id: 'job1' }));
    tracker.release('acme', 'web1', 'job2');
    expect(sent.map((s) => s.type)).to.deep.equal(['abort']); // only the first-contact rehab
    tracker.release('acme', 'web1', 'job1');
    expect(sent.at(-1)).to.deep.equal({ node: 'web1', type: 'abort', fields: { job_id: 'job1' } });
  });

  it('messages to a node wait behind an unanswered release, re-sent every rehab_timer', function () {
    const { tracker, sent, live, addr, msg, tick, online } = setup();
    online();
    live.set('job1', false);
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('ack_commit', { job_id: 'job1' }));
    tracker.release('acme', 'web1', 'job1');
    expect(tracker.isAvailable('acme', 'web1')).to.equal(true);
    expect(tracker.sendTo('acme', 'web1', commitOf('job2'))).to.equal(true);
    expect(sent.slice(1)).to.deep.equal([{ node: 'web1', type: 'abort', fields: { job_id: 'job1' } }]);
    tick(1000);
    tracker.rehabTick();
    expect(sent.slice(1).map((s) => s.fields)).to.deep.equal([{ job_id: 'job1' }, { job_id: 'job1' }]);
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('aborted', { job_id: 'job1' }));
    expect(sent.at(-1)).to.deep.equal({
      node: 'web1',
      type: 'commit',
      fields: withoutType(commitOf('job2')),
    });
    tick(2000);
    tracker.rehabTick();
    expect(sent).to.have.length(4);
    expect(tracker.sendTo('acme', 'nobody', commitOf('job3'))).to.equal(false);
  });

  it('an idle heartbeat ends a pending release; at most a few messages wait', function () {
    const { tracker, sent, live, addr, msg, online } = setup();
    online();
    live.set('job1', false);
    tracker.release('acme', 'web1', 'job1');
    const accepted = Array.from({ length: 12 }, (_, i) =>
      tracker.sendTo('acme', 'web1', commitOf(`job${i}`)),
    );
    expect(accepted.filter(Boolean)).to.have.length(8);
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('heartbeat', { job_id: null, job_state: 'idle' }));
    expect(sent.filter((s) => s.type === 'commit')).to.have.length(8);
  });

  it('messages of other jobs wait for a vote an ended job awaits; its own commit does not', function () {
    const { tracker, sent, addr, msg, online } = setup();
    online();
    tracker.awaitVote('acme', 'web1', 'x');
    expect(tracker.sendTo('acme', 'web1', commitOf('x'))).to.equal(true);
    expect(tracker.sendTo('acme', 'web1', commitOf('y'))).to.equal(true);
    expect(tracker.sendTo('acme', 'web1', runMessage('x'))).to.equal(true);
    // x's commit went out; y's waits, and x's run stays behind it (order is kept).
    expect(sent.slice(1).map((m) => `${m.type} ${String(m.fields?.['job_id'])}`)).to.deep.equal(['commit x']);
    tracker.voteDone('acme', 'web1', 'x');
    expect(sent.slice(1).map((m) => `${m.type} ${String(m.fields?.['job_id'])}`)).to.deep.equal([
      'commit x',
      'commit y',
      'run x',
    ]);
    // A vote that ends in a release: what waits goes out behind that job's abort.
    tracker.awaitVote('acme', 'web1', 'z');
    tracker.sendTo('acme', 'web1', commitOf('w'));
    tracker.release('acme', 'web1', 'z');
    tracker.voteDone('acme', 'web1', 'z');
    expect(sent.at(-1)).to.deep.equal({ node: 'web1', type: 'abort', fields: { job_id: 'z' } });
    tracker.handle('acme', 'web1', addr('a1'), 'a1', msg('aborted', { job_id: 'z' }));
    expect(sent.at(-1)).to.deep.equal({ node: 'web1', type: 'commit', fields: withoutType(commitOf('w')) });
  });

  it('first contact: a node running a job nobody knows gets ack, not abort, and is left to finish it', function () {
    const { tracker, sent, live, addr, msg } = setup();
    tracker.handle(
      'acme',
      'web1',
      addr('a1'),
      'a1',
      msg('heartbeat', { job_id: 'old', job_state: 'running' }),
    );
    expect(sent).to.deep.equal([{ node: 'web1', type: 'ack' }]);
    expect(tracker.nodeState('acme', 'web1')).to.deep.equal({
      status: 'online',
      availability: 'available',
      state: 'running',
      job_id: 'old',
    });
    // Committed to a job nobody will run: released. A job that wants it back: left alone.
    tracker.handle(
      'acme',
      'web2',
      addr('a2'),
      'a2',
      msg('heartbeat', { job_id: 'old', job_state: 'committed' }),
    );
    expect(sent.at(-1)).to.deep.equal({ node: 'web2', type: 'abort', fields: { job_id: 'old' } });
    live.set('live-job', false);
    tracker.handle(
      'acme',
      'web3',
      addr('a3'),
      'a3',
      msg('heartbeat', { job_id: 'live-job', job_state: 'running' }),
    );
    expect(sent.at(-1)).to.deep.equal({ node: 'web3', type: 'abort', fields: { job_id: 'live-job' } });
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
      const tracker = new LiveNodeTracker({
        settings,
        send: () => true,
        now: () => now,
        receiveLag: () => lag,
      });
      const events: string[] = [];
      tracker.setListener({
        nodeDown: (org, node) => events.push(`down ${org}/${node}`),
        jobMessage: () => false,
        jobHeld: () => 'release',
        nodeReconnected: () => undefined,
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
