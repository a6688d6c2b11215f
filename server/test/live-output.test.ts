// The live output collector on a real SQLite store (held up or failing through a proxy), and the
// feed hub's handling of output events.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeJobId } from '@push-jobs/protocol/internal';
import { until } from '@push-jobs/testing';
import { expect } from 'chai';
import { FeedHub } from '../src/feeds/feed-hub.js';
import type { SseEvent } from '../src/feeds/event-format.js';
import { createOrgWithDefaults } from '../src/identity/service.js';
import { LiveOutput, cutUtf8 } from '../src/jobs/live-output.js';
import { openStore } from '../src/store/index.js';
import type { JobOutputRecord, Store } from '../src/store/types.js';

const empty = (): JobOutputRecord => ({
  stdout: Buffer.alloc(0),
  stderr: Buffer.alloc(0),
  stdoutTruncated: false,
  stderrTruncated: false,
});

describe('live output collector', function () {
  let dir: string;
  let store: Store;
  let jobId: string;
  /** While set, chunk writes wait for it; `fail` makes them reject. */
  let gate: Promise<void> | undefined;
  let fail = false;
  let appends = 0;
  let feeds: FeedHub;

  /** Reads of a node's whole streamed output by the collector. */
  let readBacks = 0;

  function collector(opts: Partial<ConstructorParameters<typeof LiveOutput>[0]> = {}): LiveOutput {
    const held = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'getStreamedOutput') {
          return (...args: Parameters<Store['getStreamedOutput']>) => {
            readBacks++;
            return target.getStreamedOutput(...args);
          };
        }
        if (prop !== 'appendJobOutputChunks') return Reflect.get(target, prop, receiver) as unknown;
        return async (...args: Parameters<Store['appendJobOutputChunks']>) => {
          appends++;
          if (gate !== undefined) await gate;
          if (fail) throw new Error('disk full');
          return target.appendJobOutputChunks(...args);
        };
      },
    });
    return new LiveOutput({ store: held, events: feeds, capBytes: 1 << 20, flushMs: 20, ...opts });
  }

  const chunk = (seq: number, data: string, channel = 'stdout') => ({ type: 'output', seq, channel, data });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pj-out-'));
    store = await openStore(join(dir, 'db.sqlite'));
    const guid = (await createOrgWithDefaults(store, { name: 'acme' })).guid;
    jobId = makeJobId(guid);
    await store.createJob({
      id: jobId,
      orgName: 'acme',
      command: 'x',
      status: 'running',
      runTimeout: 60,
      quorum: 1,
      createdBy: 'alice',
      createdAt: new Date(),
      nodes: ['n1', 'n2'],
      options: { capture: true },
    });
    gate = undefined;
    fail = false;
    appends = 0;
    readBacks = 0;
    feeds = new FeedHub({ orgFeedExpiration: 60, waitCompleteTime: 1 });
  });
  afterEach(async () => {
    feeds.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes in batches, not one statement per chunk', async () => {
    const out = collector({ flushChunks: 100 });
    for (let i = 0; i < 1000; i++) out.accept('acme', jobId, 'n1', chunk(i, `${i}\n`));
    await out.flushAll();
    expect(out.stats.written).to.equal(1000);
    expect(appends).to.be.at.most(12);
    const streamed = await store.getStreamedOutput('acme', jobId, 'n1');
    expect(streamed?.stdout.toString()).to.equal(Array.from({ length: 1000 }, (_, i) => `${i}\n`).join(''));
  });

  it('a complete stream longer than the final message is what is stored; a stream with gaps is not', async () => {
    const out = collector();
    out.accept('acme', jobId, 'n1', chunk(0, 'abc'));
    out.accept('acme', jobId, 'n1', chunk(1, 'err', 'stderr'));
    out.accept('acme', jobId, 'n1', chunk(2, 'def'));
    const finalCut = { ...empty(), stdout: Buffer.from('ab'), stdoutTruncated: true };
    const settled = await out.settle('acme', jobId, 'n1', finalCut);
    expect(settled.stdout.toString()).to.equal('abcdef');
    expect(settled.stderr.toString()).to.equal('err');
    // n2 skipped seq 1: the final message wins.
    out.accept('acme', jobId, 'n2', chunk(0, 'abc'));
    out.accept('acme', jobId, 'n2', chunk(2, 'ghi'));
    const final = { ...empty(), stdout: Buffer.from('whole') };
    expect(await out.settle('acme', jobId, 'n2', final)).to.equal(final);
    expect(readBacks).to.equal(1);
  });

  it('a complete stream no longer than the final message is not read back: the final output is stored', async () => {
    const out = collector();
    out.accept('acme', jobId, 'n1', chunk(0, 'abc'));
    out.accept('acme', jobId, 'n1', chunk(1, 'err', 'stderr'));
    const final = { ...empty(), stdout: Buffer.from('abc'), stderr: Buffer.from('err') };
    expect(await out.settle('acme', jobId, 'n1', final)).to.equal(final);
    expect(out.stats.written).to.equal(2);
    expect(readBacks).to.equal(0);
  });

  it('a slow store: unwritten chunks stay bounded (the oldest dropped, counted), the final output wins', async () => {
    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    const out = collector({ maxBufferedBytes: 10_000, flushChunks: 10, settleWaitMs: 50 });
    const line = 'y'.repeat(1000);
    for (let i = 0; i < 200; i++) out.accept('acme', jobId, 'n1', chunk(i, line));
    await until(() => out.queued === 0, 'published');
    expect(out.stats.droppedUnwritten).to.be.greaterThan(150);
    expect(out.unwritten('acme', jobId, 'n1').length).to.be.at.most(20);
    const final = { ...empty(), stdout: Buffer.from('final') };
    // The store does not answer: settle gives up after settleWaitMs with the final output.
    expect(await out.settle('acme', jobId, 'n1', final)).to.equal(final);
    open();
    gate = undefined;
    await out.flushAll();
  });

  it('a failing write is counted and never rejects; the final output is stored instead', async () => {
    fail = true;
    const out = collector();
    out.accept('acme', jobId, 'n1', chunk(0, 'abc'));
    await out.flushAll();
    expect(out.stats.writeFailures).to.equal(1);
    const final = { ...empty(), stdout: Buffer.from('abc') };
    expect(await out.settle('acme', jobId, 'n1', final)).to.equal(final);
  });

  it('sheds past its queue bound', () => {
    const out = collector({ maxQueuedChunks: 5 });
    const verdicts = Array.from({ length: 8 }, (_, i) => out.accept('acme', jobId, 'n1', chunk(i, 'x')));
    expect(verdicts.filter((v) => v === 'shed')).to.have.length(3);
    expect(out.stats.shed).to.equal(3);
  });

  it('cuts UTF-8 on a character boundary', () => {
    const bytes = Buffer.from('aé€');
    expect(cutUtf8(bytes, 2).toString()).to.equal('a');
    expect(cutUtf8(bytes, 3).toString()).to.equal('aé');
    expect(cutUtf8(bytes, 5).toString()).to.equal('aé');
    expect(cutUtf8(bytes, 6).toString()).to.equal('aé€');
  });
});

describe('feed hub: output events', function () {
  it('are streamed to listeners and never kept for replay, however many', () => {
    const hub = new FeedHub({ orgFeedExpiration: 60, waitCompleteTime: 1 });
    hub.emit('acme', 'j1', 'quorum_succeeded', {});
    const seen: SseEvent[] = [];
    hub.subscribeJob('acme', 'j1', undefined, { onEvent: (e) => seen.push(e), onEnd: () => undefined });
    const data = 'z'.repeat(16_000);
    for (let i = 0; i < 10_000; i++) {
      hub.emit('acme', 'j1', 'output', { node: 'n1', channel: 'stdout', data, sequence: i });
    }
    hub.emit('acme', 'j1', 'job_complete', { status: 'complete' });
    expect(seen).to.have.length(10_001);
    expect(seen[0]!.id).to.equal('job-1'); // the id of the last kept event
    expect(hub.jobEventCount('acme', 'j1')).to.equal(2);
    const late = hub.subscribeJob('acme', 'j1', undefined, {
      onEvent: () => undefined,
      onEnd: () => undefined,
    });
    expect(late?.events.map((e) => e.event)).to.deep.equal(['quorum_succeeded', 'job_complete']);
    hub.close();
  });
});
