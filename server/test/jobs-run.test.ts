import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { makeJobId, type JobFeedEvent } from '@push-jobs/protocol/internal';
import { createOrgWithDefaults } from '../src/identity/service.js';
import { JobRun, type JobRunContext } from '../src/jobs/job-run.js';
import { openStore } from '../src/store/index.js';
import type { JobOptions, Store } from '../src/store/types.js';
import { StoreUnavailableError } from '../src/store/unavailable.js';

/** Decides whether a store call fails: returns the error to throw, or undefined. */
type Fault = (method: string, args: unknown[]) => Error | undefined;

interface Harness {
  store: Store;
  events: string[];
  sent: string[];
  /** The bodies sent, in order. */
  bodies: Record<string, unknown>[];
  rehabs: string[];
  available: Set<string>;
  /** What each node holds (for the busy details of a nack). */
  busy: Map<string, { jobId: string; state: 'committed' | 'running' }>;
  /** Every event with its fields. */
  raw: { event: string; fields: Record<string, unknown> }[];
  /** awaitVote / voteDone calls. */
  votes: string[];
  /** What the job logged, as `level: message`. */
  logs: string[];
  /** Store calls made by the job that failed (see {@link fault}). */
  failures: string[];
  /** Set to make the job's store calls fail. */
  fault: Fault | undefined;
  start(
    nodes: string[],
    opts?: {
      quorum?: number;
      runTimeout?: number;
      votingTimeoutMs?: number;
      capture?: boolean;
      options?: JobOptions;
    },
  ): Promise<JobRun>;
}

describe('job state machine (spec 2, with early quorum decisions)', function () {
  let dir: string;
  let h: Harness;
  let guid: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pj-run-'));
    const store = await openStore(join(dir, 'db.sqlite'));
    guid = (await createOrgWithDefaults(store, { name: 'acme' })).guid;
    const events: string[] = [];
    const sent: string[] = [];
    const bodies: Record<string, unknown>[] = [];
    const rehabs: string[] = [];
    const available = new Set<string>();
    const busy = new Map<string, { jobId: string; state: 'committed' | 'running' }>();
    const raw: { event: string; fields: Record<string, unknown> }[] = [];
    const votes: string[] = [];
    const logs: string[] = [];
    const failures: string[] = [];
    // The job's view of the store: calls fail while `h.fault` says so.
    const faulty = new Proxy(store, {
      get(target, key, receiver) {
        const value: unknown = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const error = h.fault?.(String(key), args);
          if (error !== undefined) {
            failures.push(String(key));
            return Promise.reject(error);
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const logTo =
      (level: string) =>
      (_fields: Record<string, unknown>, message: string): void => {
        logs.push(`${level}: ${message}`);
      };
    h = {
      store,
      events,
      sent,
      bodies,
      rehabs,
      available,
      busy,
      raw,
      votes,
      logs,
      failures,
      fault: undefined,
      async start(nodes, opts = {}) {
        const ctx: JobRunContext = {
          store: faulty,
          serverId: 'server-1',
          log: { info: logTo('info'), warn: logTo('warn'), error: logTo('error') },
          storeRetry: { initialDelayMs: 1, maxDelayMs: 5, maxAttemptsOnFault: 3, reportEveryMs: 60_000 },
          events: {
            emit: (_org, _id, event: JobFeedEvent, eventFields) => {
              const fields: Record<string, unknown> = eventFields;
              raw.push({ event, fields });
              const detail = ['node', 'status']
                .map((k) => fields[k])
                .filter((v) => v !== undefined)
                .join(' ');
              events.push(detail === '' ? event : `${event}(${detail})`);
            },
            finish: () => events.push('<finish>'),
          },
          send: (_org, node, message) => {
            if (!available.has(node)) return false;
            sent.push(`${message.type} ${node}`);
            bodies.push({ ...message });
            return true;
          },
          release: (_org, node, jobId) => {
            expect(jobId).to.be.a('string');
            rehabs.push(node);
          },
          holding: (_org, node) => busy.get(node),
          awaitVote: (_org, node) => votes.push(`await ${node}`),
          voteDone: (_org, node) => votes.push(`done ${node}`),
          isAvailable: (_org, node) => available.has(node),
          serverName: 'push.example.com',
          votingTimeoutMs: opts.votingTimeoutMs ?? 60_000,
          now: () => new Date(),
        };
        const job = await store.createJob({
          id: makeJobId(guid),
          orgName: 'acme',
          command: 'chef-client',
          status: 'new',
          runTimeout: opts.runTimeout ?? 3600,
          quorum: opts.quorum ?? nodes.length,
          createdBy: 'alice',
          createdAt: new Date(),
          nodes,
          options: { ...(opts.capture ? { capture: true } : {}), ...opts.options },
        });
        const run = new JobRun(job, ctx);
        await run.begin('alice');
        return run;
      },
    };
  });
  afterEach(async () => {
    await h.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const msg = (run: JobRun, node: string, type: string, extra: Record<string, unknown> = {}) =>
    run.input({ kind: 'message', node, body: { type, job_id: run.id, ...extra } });
  const nodeStates = async (run: JobRun) => {
    const job = await h.store.getJob('acme', run.id);
    return Object.fromEntries(job!.nodes.map((n) => [n.name, n.status]));
  };

  it('runs a job to complete: the feed events of a successful job, persisted states', async () => {
    h.available.add('web1');
    const run = await h.start(['web1']);
    expect(h.sent).to.deep.equal(['commit web1']);
    expect((await h.store.getJob('acme', run.id))!.status).to.equal('voting');
    await msg(run, 'web1', 'ack_commit');
    expect(h.sent).to.deep.equal(['commit web1', 'run web1']);
    expect((await h.store.getJob('acme', run.id))!.status).to.equal('running');
    await msg(run, 'web1', 'ack_run');
    await msg(run, 'web1', 'succeeded');
    expect(await run.done).to.equal('complete');
    expect(h.events).to.deep.equal([
      'start',
      'quorum_vote(web1 success)',
      'quorum_succeeded',
      'run_start(web1)',
      'run_complete(web1 success)',
      'job_complete(complete)',
      '<finish>',
    ]);
    expect(await nodeStates(run)).to.deep.equal({ web1: 'succeeded' });
    expect((await h.store.getJob('acme', run.id))!.status).to.equal('complete');
  });

  it('an offline node: quorum_vote(down), rehab, quorum_failed', async () => {
    const run = await h.start(['ghost']);
    expect(await run.done).to.equal('quorum_failed');
    expect(h.events).to.deep.equal([
      'start',
      'quorum_vote(ghost down)',
      'rehab(ghost)',
      'job_complete(quorum_failed)',
      '<finish>',
    ]);
    expect(await nodeStates(run)).to.deep.equal({ ghost: 'unavailable' });
  });

  it('a nacked commit fails the quorum at once, without rehab', async () => {
    h.available.add('web1');
    const run = await h.start(['web1']);
    await msg(run, 'web1', 'nack_commit');
    expect(await run.done).to.equal('quorum_failed');
    expect(h.events).to.deep.equal([
      'start',
      'quorum_vote(web1 failure)',
      'job_complete(quorum_failed)',
      '<finish>',
    ]);
    expect(h.rehabs).to.deep.equal([]);
    expect(await nodeStates(run)).to.deep.equal({ web1: 'nacked' });
  });

  it('decides early: quorum 1 of 3 starts running on the first ack; a late ack still runs', async () => {
    ['a', 'b', 'c'].forEach((n) => h.available.add(n));
    const run = await h.start(['a', 'b', 'c'], { quorum: 1 });
    await msg(run, 'a', 'ack_commit');
    expect(run.phase).to.equal('running');
    expect(h.sent.filter((s) => s.startsWith('run'))).to.deep.equal(['run a']);
    await msg(run, 'b', 'ack_commit');
    expect(h.sent.filter((s) => s.startsWith('run'))).to.deep.equal(['run a', 'run b']);
    await msg(run, 'c', 'nack_commit');
    for (const n of ['a', 'b']) {
      await msg(run, n, 'ack_run');
      await msg(run, n, n === 'a' ? 'succeeded' : 'failed');
    }
    expect(await run.done).to.equal('complete');
    expect(await nodeStates(run)).to.deep.equal({ a: 'succeeded', b: 'failed', c: 'nacked' });
  });

  it('fails early: once too many nodes are out, the quorum can never be met', async () => {
    ['a', 'b', 'c'].forEach((n) => h.available.add(n));
    const run = await h.start(['a', 'b', 'c'], { quorum: 3 });
    await msg(run, 'a', 'ack_commit');
    await msg(run, 'b', 'nack_commit');
    expect(await run.done).to.equal('quorum_failed');
    // c has not voted: it keeps its vote, and is sent no abort (it may be busy elsewhere).
    expect(await nodeStates(run)).to.deep.equal({ a: 'was_ready', b: 'nacked', c: 'new' });
    expect(h.rehabs).to.deep.equal(['a']);
  });

  it('after an early failure, late votes are recorded as the original records them', async () => {
    ['a', 'b', 'c', 'd'].forEach((n) => h.available.add(n));
    const run = await h.start(['a', 'b', 'c', 'd'], { votingTimeoutMs: 60_000 });
    await msg(run, 'a', 'nack_commit');
    expect(await run.done).to.equal('quorum_failed');
    expect(run.phase).to.equal('tail');
    expect((await h.store.getJob('acme', run.id))!.status).to.equal('quorum_failed');
    await msg(run, 'b', 'nack_commit');
    await msg(run, 'c', 'ack_commit');
    expect(h.rehabs).to.deep.equal(['c']); // the late ack gets this job's abort; the nack none
    // Other jobs' messages to b, c, d waited for their votes (b's and c's are in).
    expect(h.votes).to.deep.equal(['await b', 'await c', 'await d', 'done b', 'done c']);
    expect(await nodeStates(run)).to.deep.equal({ a: 'nacked', b: 'nacked', c: 'was_ready', d: 'new' });
    await run.input({ kind: 'down', node: 'd' });
    expect(run.phase).to.equal('done');
    await run.settled;
    expect(await nodeStates(run)).to.deep.equal({
      a: 'nacked',
      b: 'nacked',
      c: 'was_ready',
      d: 'unavailable',
    });
    // The feed ended with the decision: no late events.
    expect(h.events.at(-1)).to.equal('<finish>');
    expect(h.events.filter((e) => e.startsWith('job_complete'))).to.have.length(1);
    expect((await h.store.getJob('acme', run.id))!.status).to.equal('quorum_failed');
  });

  it('after an early failure, silent nodes fall to the voting timeout', async () => {
    ['a', 'b', 'c'].forEach((n) => h.available.add(n));
    const run = await h.start(['a', 'b', 'c'], { votingTimeoutMs: 100 });
    await msg(run, 'a', 'ack_commit');
    await msg(run, 'b', 'nack_commit');
    expect(await run.done).to.equal('quorum_failed');
    await run.settled;
    expect(await nodeStates(run)).to.deep.equal({ a: 'was_ready', b: 'nacked', c: 'unavailable' });
    expect(h.rehabs).to.deep.equal(['a', 'c']);
    expect(h.votes).to.deep.equal(['await c', 'done c']);
  });

  it('every node nacking within a few ms: all nacked, none aborted, no rehab', async () => {
    ['a', 'b', 'c'].forEach((n) => h.available.add(n));
    const run = await h.start(['a', 'b', 'c']);
    await Promise.all(['a', 'b', 'c'].map((n) => msg(run, n, 'nack_commit')));
    await run.settled;
    expect(await nodeStates(run)).to.deep.equal({ a: 'nacked', b: 'nacked', c: 'nacked' });
    expect(h.rehabs).to.deep.equal([]);
  });

  it('a nack from a node busy with another job says which job', async () => {
    ['a', 'b'].forEach((n) => h.available.add(n));
    h.busy.set('a', { jobId: 'other-job', state: 'running' });
    const run = await h.start(['a', 'b'], { quorum: 1 });
    await msg(run, 'a', 'nack_commit');
    await msg(run, 'b', 'nack_commit');
    const votes = h.raw.filter((e) => e.event === 'quorum_vote');
    expect(votes[0]!.fields).to.deep.equal({
      node: 'a',
      status: 'failure',
      busy: { job_id: 'other-job', state: 'running' },
    });
    expect(votes[1]!.fields).to.deep.equal({ node: 'b', status: 'failure' });
  });

  it('a late ack after the end gets the job abort; wants() says which held jobs are still wanted', async () => {
    ['a', 'b'].forEach((n) => h.available.add(n));
    const run = await h.start(['a', 'b'], { quorum: 1 });
    expect(run.wants('a', 'committed')).to.equal(true);
    expect(run.wants('x', 'committed')).to.equal(false);
    await msg(run, 'a', 'ack_commit');
    expect(run.wants('a', 'committed')).to.equal(true); // run on its way
    await msg(run, 'a', 'ack_run');
    expect(run.wants('a', 'running')).to.equal(true);
    await run.input({ kind: 'abort', by: 'alice' });
    expect(h.rehabs).to.deep.equal(['a']); // b never voted: no abort for it
    expect(run.wants('a', 'running')).to.equal(false);
    await msg(run, 'b', 'ack_commit');
    expect(h.rehabs).to.deep.equal(['a', 'b']);
  });

  it('resends what a reconnected node is owed: commit before its vote, run when ready', async () => {
    ['a', 'b'].forEach((n) => h.available.add(n));
    const run = await h.start(['a', 'b'], { quorum: 1 });
    await run.resendOwed('a');
    expect(h.sent).to.deep.equal(['commit a', 'commit b', 'commit a']);
    await msg(run, 'a', 'ack_commit');
    await run.resendOwed('a');
    await msg(run, 'a', 'ack_run');
    await run.resendOwed('a'); // running: nothing owed
    expect(h.sent).to.deep.equal(['commit a', 'commit b', 'commit a', 'run a', 'run a']);
  });

  it('exact quorum: 2 of 3 with one nack runs the two', async () => {
    ['a', 'b', 'c'].forEach((n) => h.available.add(n));
    const run = await h.start(['a', 'b', 'c'], { quorum: 2 });
    await msg(run, 'c', 'nack_commit');
    expect(run.phase).to.equal('voting');
    await msg(run, 'a', 'ack_commit');
    expect(run.phase).to.equal('voting');
    await msg(run, 'b', 'ack_commit');
    expect(run.phase).to.equal('running');
  });

  it('quorum 0 completes at once with nothing to run', async () => {
    const run = await h.start(['ghost'], { quorum: 0 });
    // The offline node is unavailable; nothing is left to run.
    expect(await run.done).to.equal('complete');
  });

  it('voting timeout: silent nodes become unavailable with quorum_vote(voting_timeout)', async () => {
    h.available.add('web1');
    const run = await h.start(['web1'], { votingTimeoutMs: 50 });
    expect(await run.done).to.equal('quorum_failed');
    expect(h.events).to.include('quorum_vote(web1 voting_timeout)');
    expect(await nodeStates(run)).to.deep.equal({ web1: 'unavailable' });
    expect(h.rehabs).to.deep.equal(['web1']);
  });

  it('run timeout: a node that never acks the run times out the job', async () => {
    h.available.add('web1');
    const run = await h.start(['web1'], { runTimeout: 0 });
    await msg(run, 'web1', 'ack_commit');
    expect(await run.done).to.equal('timed_out');
    expect(h.events).to.deep.equal([
      'start',
      'quorum_vote(web1 success)',
      'quorum_succeeded',
      'job_complete(timed_out)',
      '<finish>',
    ]);
    expect(await nodeStates(run)).to.deep.equal({ web1: 'timed_out' });
  });

  it('a run_timeout longer than a timer can wait (24.8 days) does not time the job out at once', async () => {
    h.available.add('web1');
    const run = await h.start(['web1'], { runTimeout: 3_000_000 }); // about 35 days
    await msg(run, 'web1', 'ack_commit');
    expect(run.phase).to.equal('running');
    // Unclamped, Node fires such a timer after 1 ms; this one is due long after ours.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(run.phase).to.equal('running');
    await run.input({ kind: 'abort', by: 'alice' });
  });

  it('nack_run: rehab then run_complete(run_nacked), job complete', async () => {
    h.available.add('web1');
    const run = await h.start(['web1']);
    await msg(run, 'web1', 'ack_commit');
    await msg(run, 'web1', 'nack_run');
    expect(await run.done).to.equal('complete');
    expect(h.events.slice(3, 5)).to.deep.equal(['rehab(web1)', 'run_complete(web1 run_nacked)']);
    expect(await nodeStates(run)).to.deep.equal({ web1: 'failed' });
  });

  it('a node that goes down while running is crashed; the job still completes', async () => {
    ['a', 'b'].forEach((n) => h.available.add(n));
    const run = await h.start(['a', 'b']);
    await msg(run, 'a', 'ack_commit');
    await msg(run, 'b', 'ack_commit');
    await msg(run, 'a', 'ack_run');
    await msg(run, 'b', 'ack_run');
    await run.input({ kind: 'down', node: 'b' });
    await msg(run, 'a', 'succeeded');
    expect(await run.done).to.equal('complete');
    expect(await nodeStates(run)).to.deep.equal({ a: 'succeeded', b: 'crashed' });
    expect(h.events).to.include('run_complete(b crashed)');
  });

  it('a lost result: a running node is crashed; one whose answer was queued first is left alone', async () => {
    ['a', 'b'].forEach((n) => h.available.add(n));
    const run = await h.start(['a', 'b']);
    for (const n of ['a', 'b']) await msg(run, n, 'ack_commit');
    for (const n of ['a', 'b']) await msg(run, n, 'ack_run');
    // b's result is handled before the lost-result check reaches the machine: b succeeded.
    const answered = msg(run, 'b', 'succeeded');
    const checked = run.input({ kind: 'lost', node: 'b' });
    await Promise.all([answered, checked]);
    await run.input({ kind: 'lost', node: 'a' });
    expect(await run.done).to.equal('complete');
    expect(await nodeStates(run)).to.deep.equal({ a: 'crashed', b: 'succeeded' });
    expect(h.events).to.include('run_complete(a crashed)');
    expect(h.events.filter((e) => e.startsWith('run_complete(b'))).to.deep.equal(['run_complete(b success)']);
    expect(h.rehabs).to.not.include('b');
  });

  it('abort ends the job aborted; nodes holding it get its abort, nodes that never voted none', async () => {
    ['a', 'b'].forEach((n) => h.available.add(n));
    const run = await h.start(['a', 'b'], { quorum: 1 });
    await msg(run, 'a', 'ack_commit');
    await msg(run, 'a', 'ack_run');
    await run.input({ kind: 'abort', by: 'alice' });
    expect(await run.done).to.equal('aborted');
    expect(await nodeStates(run)).to.deep.equal({ a: 'aborted', b: 'aborted' });
    expect(h.rehabs).to.deep.equal(['a']);
    expect(h.events.at(-2)).to.equal('job_complete(aborted)');
  });

  it('stores captured output, truncation flags included', async () => {
    h.available.add('web1');
    const run = await h.start(['web1'], { capture: true });
    await msg(run, 'web1', 'ack_commit');
    await msg(run, 'web1', 'ack_run');
    await msg(run, 'web1', 'failed', { stdout: 'out', stderr: 'err', stderr_truncated: true });
    expect(await run.done).to.equal('complete');
    expect(await h.store.getJobOutput('acme', run.id, 'web1')).to.deep.equal({
      stdout: Buffer.from('out'),
      stderr: Buffer.from('err'),
      stdoutTruncated: false,
      stderrTruncated: true,
    });
  });

  it('ignores messages about nodes that are not in the job, and anything after the end', async () => {
    h.available.add('web1');
    const run = await h.start(['web1']);
    await msg(run, 'intruder', 'ack_commit');
    expect(h.events).to.deep.equal(['start']);
    await msg(run, 'web1', 'nack_commit');
    await run.done;
    const before = h.events.length;
    await msg(run, 'web1', 'ack_commit');
    expect(h.events.length).to.equal(before);
  });

  it('a ready node that nacks while voting lost availability', async () => {
    ['a', 'b'].forEach((n) => h.available.add(n));
    const run = await h.start(['a', 'b']);
    await msg(run, 'a', 'ack_commit');
    await msg(run, 'a', 'nack_commit');
    expect(h.events).to.include('quorum_vote(a lost_availibility)');
    expect(await run.done).to.equal('quorum_failed');
  });

  describe('store faults', () => {
    const down = (): Error => new StoreUnavailableError('PostgreSQL unavailable: Connection terminated');
    /** A job on `nodes` (all connected) that every node has acked: running. */
    const acked = async (nodes: string[], capture = false): Promise<JobRun> => {
      nodes.forEach((n) => h.available.add(n));
      const run = await h.start(nodes, { capture });
      for (const n of nodes) await msg(run, n, 'ack_commit');
      return run;
    };
    /** Resolves once `n` store calls of the job have failed (the job is retrying). */
    const failed = async (n: number): Promise<void> => {
      while (h.failures.length < n) await new Promise((resolve) => setImmediate(resolve));
    };

    it('an unavailable store holds the job; it completes once the store is back, rows agree', async () => {
      const run = await acked(['a', 'b'], true);
      await msg(run, 'a', 'ack_run');
      await msg(run, 'b', 'ack_run');
      // The database goes away while both nodes report.
      h.fault = down;
      const reported = Promise.all([
        msg(run, 'a', 'succeeded', { stdout: 'A', stderr: '' }),
        msg(run, 'b', 'failed', { stdout: 'B', stderr: '' }),
      ]);
      await failed(5);
      expect((await h.store.getJob('acme', run.id))!.status).to.equal('running');
      expect(h.events).to.not.include('job_complete(complete)');
      h.fault = undefined;
      await reported;
      expect(await run.done).to.equal('complete');
      const job = await h.store.getJob('acme', run.id);
      expect(job!.status).to.equal('complete');
      expect(await nodeStates(run)).to.deep.equal({ a: 'succeeded', b: 'failed' });
      expect((await h.store.getJobOutput('acme', run.id, 'b'))!.stdout.toString()).to.equal('B');
      expect(h.logs).to.include('warn: store unavailable; retrying');
      expect(h.logs).to.include('info: store available again; job goes on');
    });

    it('an outage over the final write: the job still ends, with every node row written', async () => {
      const run = await acked(['a', 'b']);
      // Only status writes fail: the node rows are written, the final status waits.
      h.fault = (method) => (method === 'updateJobStatus' ? down() : undefined);
      const aborted = run.input({ kind: 'abort', by: 'alice' });
      await failed(3);
      expect((await h.store.getJob('acme', run.id))!.status).to.equal('running');
      h.fault = undefined;
      await aborted;
      expect(await run.done).to.equal('aborted');
      expect((await h.store.getJob('acme', run.id))!.status).to.equal('aborted');
      expect(await nodeStates(run)).to.deep.equal({ a: 'aborted', b: 'aborted' });
    });

    it('a failed node-state write is kept and written later, not dropped', async () => {
      // Before: the pending node states were cleared before the write, so a failed write lost
      // them and the job could end `complete` with a node row still `running`.
      const run = await acked(['a']);
      await msg(run, 'a', 'ack_run');
      let failures = 0;
      h.fault = (method) => (method === 'updateJobNodes' && failures++ < 2 ? down() : undefined);
      await msg(run, 'a', 'succeeded');
      expect(await run.done).to.equal('complete');
      expect(await nodeStates(run)).to.deep.equal({ a: 'succeeded' });
    });

    it('an output write that keeps failing is logged and skipped; the node still finishes', async () => {
      const run = await acked(['a'], true);
      await msg(run, 'a', 'ack_run');
      h.fault = (method) => (method === 'putJobOutput' ? new Error('invalid byte sequence') : undefined);
      await msg(run, 'a', 'succeeded', { stdout: 'x', stderr: '' });
      expect(await run.done).to.equal('complete');
      expect(h.failures).to.deep.equal(['putJobOutput', 'putJobOutput', 'putJobOutput']);
      expect(await nodeStates(run)).to.deep.equal({ a: 'succeeded' });
      expect(h.logs).to.include('error: store write failed; skipped');
    });

    it('a job ended elsewhere stops here with the stored status', async () => {
      const run = await acked(['a', 'b']);
      await msg(run, 'a', 'ack_run');
      // Another server crash-recovered the job (what a second server on the database did).
      await h.store.updateJobStatus('acme', run.id, 'crashed', new Date(), 'other-server');
      await msg(run, 'a', 'succeeded');
      await msg(run, 'b', 'ack_run');
      await msg(run, 'b', 'succeeded');
      expect(await run.done).to.equal('crashed');
      expect((await h.store.getJob('acme', run.id))!.status).to.equal('crashed');
      expect(h.events.slice(-2)).to.deep.equal(['job_complete(crashed)', '<finish>']);
      expect(h.logs).to.include('warn: job already ended in the store; this server stops running it');
    });

    it('a job ended elsewhere while its nodes hold it: they are told to drop it, and get no run', async () => {
      ['a', 'b'].forEach((n) => h.available.add(n));
      const run = await h.start(['a', 'b']);
      await msg(run, 'a', 'ack_commit');
      await h.store.updateJobStatus('acme', run.id, 'crashed', new Date(), 'other-server');
      // b's ack meets the quorum; the status change to running is refused.
      await msg(run, 'b', 'ack_commit');
      expect(await run.done).to.equal('crashed');
      expect([...h.rehabs].sort()).to.deep.equal(['a', 'b']);
      expect(h.sent).to.deep.equal(['commit a', 'commit b']);
    });
  });

  describe('rollouts (max_concurrency, max_errors)', () => {
    const five = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const runsSent = () => h.sent.filter((s) => s.startsWith('run ')).map((s) => s.slice(4));
    const allAck = async (run: JobRun, nodes: string[]) => {
      for (const n of nodes) await msg(run, n, 'ack_commit');
    };

    it('a window of 2: at most 2 nodes are sent run; the next starts when one ends', async () => {
      for (const n of five) h.available.add(n);
      const run = await h.start(five, { options: { maxConcurrency: 2 } });
      await allAck(run, five);
      expect(runsSent()).to.deep.equal(['n1', 'n2']);
      await msg(run, 'n1', 'ack_run');
      await msg(run, 'n2', 'ack_run');
      expect(runsSent()).to.have.length(2);
      await msg(run, 'n1', 'succeeded');
      expect(runsSent()).to.deep.equal(['n1', 'n2', 'n3']);
      await msg(run, 'n3', 'ack_run');
      await msg(run, 'n2', 'failed');
      expect(runsSent()).to.deep.equal(['n1', 'n2', 'n3', 'n4']);
      for (const n of ['n4', 'n3']) {
        await msg(run, n, 'ack_run');
        await msg(run, n, 'succeeded');
      }
      await msg(run, 'n5', 'ack_run');
      await msg(run, 'n5', 'succeeded');
      expect(await run.done).to.equal('complete');
      expect(await nodeStates(run)).to.deep.equal({
        n1: 'succeeded',
        n2: 'failed',
        n3: 'succeeded',
        n4: 'succeeded',
        n5: 'succeeded',
      });
      const start = h.raw.find((e) => e.event === 'start')!;
      expect(start.fields.max_concurrency).to.equal(2);
      expect(start.fields).not.to.have.property('max_errors');
    });

    it('percentages: 40% of 5 nodes is a window of 2 (rounded up), 10% of errors is 0 (rounded down)', async () => {
      for (const n of five) h.available.add(n);
      const run = await h.start(five, { options: { maxConcurrency: '40%', maxErrors: '10%' } });
      const start = h.raw.find((e) => e.event === 'start')!;
      expect(start.fields).to.include({ max_concurrency: 2, max_errors: 0 });
      await allAck(run, five);
      expect(runsSent()).to.deep.equal(['n1', 'n2']);
      await msg(run, 'n1', 'ack_run');
      await msg(run, 'n1', 'failed');
      // One failure is more than a budget of 0: nothing starts any more.
      expect(runsSent()).to.deep.equal(['n1', 'n2']);
      await msg(run, 'n2', 'ack_run');
      await msg(run, 'n2', 'succeeded');
      expect(await run.done).to.equal('max_errors_exceeded');
    });

    it('the error budget: after more failures than max_errors, the rest are skipped and released', async () => {
      for (const n of five) h.available.add(n);
      const run = await h.start(five, { options: { maxConcurrency: 1, maxErrors: 1 } });
      await allAck(run, five);
      await msg(run, 'n1', 'ack_run');
      await msg(run, 'n1', 'failed');
      // One failure is within the budget of 1.
      expect(runsSent()).to.deep.equal(['n1', 'n2']);
      await msg(run, 'n2', 'ack_run');
      await msg(run, 'n2', 'failed');
      expect(await run.done).to.equal('max_errors_exceeded');
      expect(runsSent()).to.deep.equal(['n1', 'n2']);
      expect(h.rehabs).to.include.members(['n3', 'n4', 'n5']);
      const spent = h.raw.find((e) => e.event === 'max_errors_exceeded')!;
      expect(spent.fields).to.deep.equal({ failed: 2, max_errors: 1, skipped: 3 });
      expect(h.events.slice(-3)).to.deep.equal([
        'max_errors_exceeded',
        'job_complete(max_errors_exceeded)',
        '<finish>',
      ]);
      expect(await nodeStates(run)).to.deep.equal({
        n1: 'failed',
        n2: 'failed',
        n3: 'skipped',
        n4: 'skipped',
        n5: 'skipped',
      });
      expect((await h.store.getJob('acme', run.id))!.status).to.equal('max_errors_exceeded');
    });

    it('a skipped node answering its release is not a fault; running nodes finish after the budget is spent', async () => {
      for (const n of five) h.available.add(n);
      const run = await h.start(five, { options: { maxConcurrency: 3, maxErrors: 0 } });
      await allAck(run, five);
      expect(runsSent()).to.deep.equal(['n1', 'n2', 'n3']);
      for (const n of ['n1', 'n2', 'n3']) await msg(run, n, 'ack_run');
      await msg(run, 'n1', 'failed');
      expect(h.raw.find((e) => e.event === 'max_errors_exceeded')!.fields).to.deep.equal({
        failed: 1,
        max_errors: 0,
        skipped: 2,
      });
      await msg(run, 'n4', 'aborted');
      await msg(run, 'n5', 'aborted');
      expect(h.events.filter((e) => e.includes('client_died'))).to.deep.equal([]);
      // The two still running finish, and the job ends once they did.
      await msg(run, 'n2', 'succeeded');
      await msg(run, 'n3', 'succeeded');
      expect(await run.done).to.equal('max_errors_exceeded');
      expect(await nodeStates(run)).to.deep.equal({
        n1: 'failed',
        n2: 'succeeded',
        n3: 'succeeded',
        n4: 'skipped',
        n5: 'skipped',
      });
    });

    it('a late ack waits for its turn; after the budget is spent a late ack is skipped', async () => {
      for (const n of ['n1', 'n2', 'n3']) h.available.add(n);
      const run = await h.start(['n1', 'n2', 'n3'], {
        quorum: 1,
        options: { maxConcurrency: 1, maxErrors: 0 },
      });
      await msg(run, 'n1', 'ack_commit');
      expect(runsSent()).to.deep.equal(['n1']);
      await msg(run, 'n2', 'ack_commit');
      // The window is full: n2 waits.
      expect(runsSent()).to.deep.equal(['n1']);
      await msg(run, 'n1', 'ack_run');
      await msg(run, 'n1', 'failed');
      expect(await nodeStates(run)).to.include({ n1: 'failed', n2: 'skipped', n3: 'new' });
      await msg(run, 'n3', 'ack_commit');
      expect(runsSent()).to.deep.equal(['n1']);
      expect(await run.done).to.equal('max_errors_exceeded');
      expect(await nodeStates(run)).to.deep.equal({ n1: 'failed', n2: 'skipped', n3: 'skipped' });
    });

    it('a reconnected node waiting for its turn is owed nothing; a started one gets run again', async () => {
      for (const n of ['n1', 'n2']) h.available.add(n);
      const run = await h.start(['n1', 'n2'], { options: { maxConcurrency: 1 } });
      await allAck(run, ['n1', 'n2']);
      expect(runsSent()).to.deep.equal(['n1']);
      await run.resendOwed('n2');
      await run.resendOwed('n1');
      expect(runsSent()).to.deep.equal(['n1', 'n1']);
    });

    it('a rollout commit carries run_wait_timeout (voting plus run timeout); a plain job none', async () => {
      h.available.add('n1');
      await h.start(['n1'], { runTimeout: 600, votingTimeoutMs: 30_000, options: { maxConcurrency: '50%' } });
      expect(h.bodies[0]).to.include({
        type: 'commit',
        voting_timeout: 30,
        run_timeout: 600,
        run_wait_timeout: 630,
      });
      await h.start(['n1'], { runTimeout: 600, votingTimeoutMs: 30_000 });
      expect(h.bodies[1]!.type).to.equal('commit');
      expect(h.bodies[1]).not.to.have.property('run_wait_timeout');
    });

    it('the run timeout ends a rollout as today: nodes not started yet are timed_out too', async () => {
      for (const n of ['n1', 'n2']) h.available.add(n);
      const run = await h.start(['n1', 'n2'], { options: { maxConcurrency: 1 } });
      await allAck(run, ['n1', 'n2']);
      await msg(run, 'n1', 'ack_run');
      await run.input({ kind: 'run_timeout' });
      expect(await run.done).to.equal('timed_out');
      expect(await nodeStates(run)).to.deep.equal({ n1: 'timed_out', n2: 'timed_out' });
    });
  });

  describe('node results (exit status, signal, times)', () => {
    it('stores what the node reports with succeeded/failed; a node that reports nothing has none', async () => {
      for (const n of ['ours', 'killed', 'ruby']) h.available.add(n);
      const run = await h.start(['ours', 'killed', 'ruby']);
      for (const n of ['ours', 'killed', 'ruby']) await msg(run, n, 'ack_commit');
      for (const n of ['ours', 'killed', 'ruby']) await msg(run, n, 'ack_run');
      await msg(run, 'ours', 'failed', {
        exit_status: 3,
        signal: null,
        started_at: '2026-12-08T01:02:03.000Z',
        ended_at: '2026-12-08T01:02:04.500Z',
      });
      await msg(run, 'killed', 'failed', { exit_status: null, signal: 'SIGKILL' });
      await msg(run, 'ruby', 'succeeded');
      expect(await run.done).to.equal('complete');
      const job = (await h.store.getJob('acme', run.id))!;
      const byName = Object.fromEntries(job.nodes.map((n) => [n.name, n.result]));
      expect(byName.ours).to.deep.equal({
        exitStatus: 3,
        signal: null,
        startedAt: new Date('2026-12-08T01:02:03.000Z'),
        endedAt: new Date('2026-12-08T01:02:04.500Z'),
      });
      expect(byName.killed).to.deep.equal({
        exitStatus: null,
        signal: 'SIGKILL',
        startedAt: null,
        endedAt: null,
      });
      expect(byName.ruby).to.equal(undefined);
    });

    it('fields of the wrong shape from a node are taken as absent', async () => {
      h.available.add('odd');
      const run = await h.start(['odd']);
      await msg(run, 'odd', 'ack_commit');
      await msg(run, 'odd', 'ack_run');
      await msg(run, 'odd', 'succeeded', {
        exit_status: 2 ** 40,
        signal: 'rm -rf /',
        started_at: 'yesterday',
        ended_at: `2026-12-08T01:02:03.000Z${'x'.repeat(100)}`,
      });
      expect(await run.done).to.equal('complete');
      const job = (await h.store.getJob('acme', run.id))!;
      expect(job.nodes[0]!.result).to.equal(undefined);
    });
  });
});
