import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { makeJobId } from '@push-jobs/protocol/internal';
import { DEFAULT_SERVER_CONFIG } from '../src/config/defaults.js';
import { FeedHub } from '../src/feeds/feed-hub.js';
import { createOrgWithDefaults } from '../src/identity/service.js';
import { PushJobEngine } from '../src/jobs/engine.js';
import { LiveNodeTracker } from '../src/nodes/tracker.js';
import { openStore } from '../src/store/index.js';
import type { Store } from '../src/store/types.js';
import { captureLogs } from './helpers/log-capture.js';

describe('a job whose input fails ends crashed, and the failure is logged', function () {
  let dir: string;
  let store: Store;
  let feeds: FeedHub;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pj-crash-'));
    store = await openStore(join(dir, 'db.sqlite'));
    feeds = new FeedHub({ orgFeedExpiration: 60, waitCompleteTime: 1 });
  });
  afterEach(async () => {
    feeds.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A tracker whose sender (the broker's place) throws on `run`; web1 and web2 connected and idle. */
  function nodesFailingOnRun() {
    const sent: string[] = [];
    const tracker = new LiveNodeTracker({
      settings: { ...DEFAULT_SERVER_CONFIG },
      send: (record, message) => {
        if (message.type === 'run') throw new Error('signing failed: no room');
        // An abort names its job (a release), the first-contact abort does not.
        sent.push(
          message.type === 'abort'
            ? `abort ${record.node} ${String(message.job_id)}`
            : `${message.type} ${record.node}`,
        );
        return true;
      },
    });
    for (const node of ['web1', 'web2']) {
      const address = Buffer.from(node);
      tracker.handle('acme', node, address, node, { type: 'heartbeat', incarnation_id: 'i', job_id: null });
      tracker.handle('acme', node, address, node, { type: 'aborted', job_id: null });
    }
    sent.length = 0;
    return { tracker, sent };
  }

  it('a throwing send while starting the run: error logged, nodes and job crashed, feed ended', async () => {
    const guid = (await createOrgWithDefaults(store, { name: 'acme' })).guid;
    const { logger, lines } = captureLogs('info');
    const { tracker, sent } = nodesFailingOnRun();
    const engine = new PushJobEngine({
      store,
      events: feeds,
      nodes: tracker,
      serverName: 'push.example.com',
      serverId: 'server-1',
      votingTimeoutMs: 60_000,
      waitCompleteMs: 1000,
      log: logger.child({ component: 'jobs' }),
    });
    tracker.setListener(engine);
    const job = await store.createJob({
      id: makeJobId(guid),
      orgName: 'acme',
      command: 'chef-client',
      status: 'new',
      runTimeout: 3600,
      quorum: 1,
      createdBy: 'alice',
      createdAt: new Date(),
      nodes: ['web1', 'web2'],
      options: {},
    });
    await engine.startJob(job, 'alice');
    const run = engine.run(job.id)!;
    expect(sent).to.deep.equal(['commit web1', 'commit web2']);

    // web1's ack reaches the quorum: the run starts, and sending `run` throws.
    tracker.handle('acme', 'web1', Buffer.from('web1'), 'web1', { type: 'ack_commit', job_id: job.id });
    expect(await run.done).to.equal('crashed');
    await run.settled;

    const stored = await store.getJob('acme', job.id);
    expect(stored?.status).to.equal('crashed');
    expect(Object.fromEntries(stored!.nodes.map((n) => [n.name, n.status]))).to.deep.equal({
      web1: 'crashed',
      web2: 'crashed',
    });
    // web1 held the job (acked): it is told to drop it. web2 never voted: no abort.
    expect(sent).to.deep.equal(['commit web1', 'commit web2', `abort web1 ${job.id}`]);

    const failure = lines.find((l) => l.level === 'error');
    expect(failure).to.include({
      component: 'jobs',
      job: job.id,
      msg: 'job input failed; the job ends crashed',
      err: 'signing failed: no room',
    });
    const statuses = lines.filter((l) => l.msg === 'job status changed').map((l) => [l.level, l.status]);
    expect(statuses).to.deep.equal([
      ['info', 'voting'],
      ['info', 'running'],
      ['info', 'crashed'],
    ]);

    const feed = feeds.subscribeJob('acme', job.id, undefined, {
      onEvent: () => undefined,
      onEnd: () => undefined,
    });
    expect(feed?.finished).to.equal(true);
    expect(feed?.events.at(-1)).to.deep.include({ event: 'job_complete' });
    const last = feed?.events.at(-1);
    expect(last?.event === 'job_complete' ? last.data.status : undefined).to.equal('crashed');

    // The crashed job takes later input quietly; a late ack earns the job's abort. (Inputs of a
    // run are handled in order: once the timeout input is handled, so is the ack.)
    tracker.handle('acme', 'web2', Buffer.from('web2'), 'web2', { type: 'ack_commit', job_id: job.id });
    await run.input({ kind: 'voting_timeout' });
    expect(sent.at(-1)).to.equal(`abort web2 ${job.id}`);
    expect(lines.filter((l) => l.level === 'error')).to.have.length(1);
  });
});
