// Nodes that nacked because they were busy with another job: what the vote event says, what
// one look at the node states says when it did not, and how it reads for 1 and for 1,000 nodes.
import { stripVTControlCharacters as plainText } from 'node:util';
import { expect } from 'chai';
import type { NodeStateList, PushApiClient } from '@push-jobs/protocol';
import { eventLine } from '../../src/commands/push/jobs/watch.js';
import { busyNacks, busyOfVote, lookUpBusyNodes, type Busy } from '../../src/jobs/busy.js';
import { JobTracker } from '../../src/jobs/tracker.js';
import { activityText, busyLines } from '../../src/ui/busy.js';
import { LiveProgress, PlainProgress } from '../../src/ui/progress.js';
import { feedEvent } from '../helpers/feed-events.js';

const OTHER = '5f3c0e1a2b3c4d5e6f708192a3b4c5d6';
const THIRD = '77ab0e1a2b3c4d5e6f708192a3b4c5d6';

const ev = feedEvent;

/** A client whose node_states answer is `states`; counts the requests. */
function statesClient(states: NodeStateList | Error): { client: PushApiClient; calls: () => number } {
  let calls = 0;
  const client = {
    listNodeStates: async () => {
      calls++;
      if (states instanceof Error) throw states;
      return states;
    },
  } as unknown as PushApiClient;
  return { client, calls: () => calls };
}

describe('busy nodes', () => {
  it('reads the busy member of a quorum_vote failure, ignoring malformed ones', () => {
    expect(
      busyOfVote({ node: 'web1', status: 'failure', busy: { job_id: OTHER, state: 'running' } }),
    ).to.deep.equal({ state: 'running', job_id: OTHER });
    expect(busyOfVote({ busy: { state: 'committed' } })).to.deep.equal({ state: 'committed' });
    expect(busyOfVote({ node: 'web1', status: 'failure' })).to.equal(undefined);
    expect(busyOfVote({ busy: 'yes' })).to.equal(undefined);
    expect(busyOfVote({ busy: { job_id: OTHER } })).to.equal(undefined);
    expect(busyOfVote('text')).to.equal(undefined);
  });

  it('the tracker keeps who was busy, and the nacked change carries it', () => {
    const t = new JobTracker(['web1', 'web2', 'web3']);
    const changes = [
      ev('quorum_vote', { node: 'web1', status: 'failure', busy: { job_id: OTHER, state: 'running' } }),
      ev('quorum_vote', { node: 'web2', status: 'failure' }),
      ev('quorum_vote', { node: 'web3', status: 'success' }),
    ].flatMap((e) => t.applyEvent(e));
    expect(changes).to.deep.equal([
      { kind: 'node', node: 'web1', state: 'nacked', busy: { state: 'running', job_id: OTHER } },
      { kind: 'node', node: 'web2', state: 'nacked' },
    ]);
    expect([...t.busy]).to.deep.equal([['web1', { state: 'running', job_id: OTHER }]]);
  });

  it('progress lines say which job a nacked node is busy with', () => {
    const t = new JobTracker(['web1', 'web2']);
    const changes = [
      ev('quorum_vote', { node: 'web1', status: 'failure', busy: { job_id: OTHER, state: 'committed' } }),
      ev('quorum_vote', { node: 'web2', status: 'failure' }),
    ].flatMap((e) => t.applyEvent(e));
    let plain = '';
    new PlainProgress((s) => (plain += s)).update(changes);
    // Colours follow the environment (lerna sets FORCE_COLOR): the text is what is checked.
    expect(plainText(plain)).to.equal(`web1: nacked (busy committed job ${OTHER})\nweb2: nacked\n`);
    let live = '';
    const view = new LiveProgress(
      (s) => (live += s),
      () => 200,
      () => 0,
    );
    view.update(changes, t);
    expect(plainText(live)).to.include(`– web1 nacked (busy committed job ${OTHER})\n`);
    expect(plainText(live)).to.include('– web2 nacked\n');
  });

  it('watch shows the busy member of a vote as words, not JSON', () => {
    expect(
      plainText(
        eventLine(
          ev('quorum_vote', { node: 'web1', status: 'failure', busy: { job_id: OTHER, state: 'running' } }),
        ),
      ),
    ).to.equal(`t  quorum_vote      node=web1 status=failure (busy running job ${OTHER})`);
    expect(plainText(eventLine(ev('quorum_vote', { node: 'web1', status: 'failure' })))).to.equal(
      't  quorum_vote      node=web1 status=failure',
    );
  });

  it('one line per node for a few', () => {
    expect(busyLines(new Map([['web1', { state: 'running', job_id: OTHER }]]))).to.deep.equal([
      `web1 nacked: busy running job ${OTHER}`,
    ]);
    const five = new Map<string, Busy>(
      ['e', 'd', 'c', 'b', 'a'].map((n) => [
        n,
        { state: n === 'c' ? 'committed' : 'running', job_id: OTHER },
      ]),
    );
    expect(busyLines(five)).to.deep.equal([
      `a nacked: busy running job ${OTHER}`,
      `b nacked: busy running job ${OTHER}`,
      `c nacked: busy committed job ${OTHER}`,
      `d nacked: busy running job ${OTHER}`,
      `e nacked: busy running job ${OTHER}`,
    ]);
    expect(busyLines(new Map([['x', { state: 'running' }]]))).to.deep.equal(['x nacked: busy running']);
    expect(busyLines(new Map())).to.deep.equal([]);
  });

  it('a summary by job for many: 1,000 nodes in a handful of lines', () => {
    const busy = new Map<string, Busy>();
    for (let i = 0; i < 1000; i++) {
      const name = `web${String(i).padStart(4, '0')}`;
      busy.set(name, i < 990 ? { state: 'running', job_id: OTHER } : { state: 'committed', job_id: THIRD });
    }
    expect(busyLines(busy)).to.deep.equal([
      '1000 nodes nacked: busy with other jobs',
      `  running job ${OTHER}: 990 nodes (web0000, web0001, web0002, ... 987 more)`,
      `  committed job ${THIRD}: 10 nodes (web0990, web0991, web0992, ... 7 more)`,
    ]);
    // Many different jobs: five listed, the rest counted.
    const spread = new Map<string, Busy>();
    for (let i = 0; i < 8; i++) spread.set(`n${i}`, { state: 'running', job_id: `job${i}` });
    spread.set('n8', { state: 'running', job_id: 'job0' });
    const lines = busyLines(spread);
    expect(lines).to.have.length(7);
    expect(lines[0]).to.equal('9 nodes nacked: busy with other jobs');
    expect(lines[1]).to.equal('  running job job0: 2 nodes (n0, n8)');
    expect(lines[6]).to.equal('  ... 3 more jobs (3 nodes)');
  });

  it('activity words: running job ID, committed job ID, idle, rehab', () => {
    expect(activityText('running', OTHER)).to.equal(`running job ${OTHER}`);
    expect(activityText('committed', OTHER)).to.equal(`committed job ${OTHER}`);
    expect(activityText('idle')).to.equal('idle');
    expect(activityText('rehab')).to.equal('rehab');
  });

  it('node states name the nacked nodes busy with another job (not idle ones, not this job)', async () => {
    const { client, calls } = statesClient([
      { node_name: 'web1', availability: 'available', state: 'running', job_id: OTHER },
      { node_name: 'web2', availability: 'available', state: 'idle' },
      { node_name: 'web3', availability: 'available', state: 'committed', job_id: THIRD },
      { node_name: 'web4', availability: 'available', state: 'running', job_id: 'mine' },
      { node_name: 'web5', availability: 'available', state: 'running', job_id: OTHER },
      { node_name: 'old', availability: 'available' },
    ]);
    const busy = await lookUpBusyNodes(client, ['web1', 'web2', 'web3', 'web4', 'old'], 'mine');
    expect([...busy]).to.deep.equal([
      ['web1', { state: 'running', job_id: OTHER }],
      ['web3', { state: 'committed', job_id: THIRD }],
    ]);
    expect(calls()).to.equal(1);
  });

  it('after a job: the feed’s reasons need no request; unexplained nacks cost one', async () => {
    const known = new Map<string, Busy>([['web1', { state: 'running', job_id: OTHER }]]);
    const states: NodeStateList = [
      { node_name: 'web2', availability: 'available', state: 'running', job_id: THIRD },
    ];
    // Every nack explained by the feed and already shown: nothing to add, no request.
    const a = statesClient(states);
    const none = await busyNacks({ client: a.client, jobId: 'mine', nacked: ['web1'], known, shown: true });
    expect([...none]).to.deep.equal([]);
    expect(a.calls()).to.equal(0);
    // Not shown (no progress lines): the feed's reasons are listed, still no request.
    const b = statesClient(states);
    const listed = await busyNacks({
      client: b.client,
      jobId: 'mine',
      nacked: ['web1'],
      known,
      shown: false,
    });
    expect([...listed]).to.deep.equal([['web1', { state: 'running', job_id: OTHER }]]);
    expect(b.calls()).to.equal(0);
    // A nack the feed did not explain: one look at the node states.
    const c = statesClient(states);
    const looked = await busyNacks({
      client: c.client,
      jobId: 'mine',
      nacked: ['web1', 'web2'],
      known,
      shown: true,
    });
    expect([...looked]).to.deep.equal([['web2', { state: 'running', job_id: THIRD }]]);
    expect(c.calls()).to.equal(1);
    // The look failing names none, and says why under --debug.
    const d = statesClient(new Error('cannot reach'));
    const debug: string[] = [];
    const failed = await busyNacks({
      client: d.client,
      jobId: 'mine',
      nacked: ['web2'],
      known,
      shown: true,
      debug: (m) => debug.push(m),
    });
    expect([...failed]).to.deep.equal([]);
    expect(debug).to.deep.equal(['could not read the node states (cannot reach)']);
  });
});
