// JobRunner: client spec A.10 (states), A.11 (locks), A.12 (execution), A.13 (abort), A.16
// (output size), A.17 (file cleanup), with real child processes and temp dirs.
import { expect } from 'chai';
import { spawn as childSpawn, execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Whitelist } from '@push-jobs/protocol';
import { sleep, waitForValue } from '@push-jobs/testing';
import { AllowList } from '../src/allow-list.js';
import { findProgram } from '../src/job-lock.js';
import { cleanFileDir, JobRunner, SETPRIV, userCommand, type JobRunnerOptions } from '../src/job-runner.js';
import type { RunnerControlReply, RunnerReply } from '../src/runner-types.js';

const JOB = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const JOB2 = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

/**
 * True when `pid` no longer runs: ESRCH, or a zombie (this container's init does not reap
 * orphans, so killed grandchildren stay as zombies; they cannot run anything).
 */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

let tmp: string;
let runners: JobRunner[] = [];

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'job-runner-'));
});
afterEach(async () => {
  await Promise.all(runners.map((r) => r.stop()));
  runners = [];
  fs.rmSync(tmp, { recursive: true, force: true });
});

function setup(whitelist: Whitelist, extra: Partial<JobRunnerOptions> = {}) {
  const replies: RunnerReply[] = [];
  const logs: string[] = [];
  let list = new AllowList(whitelist);
  const runner = new JobRunner({
    allowList: () => list,
    nodeName: 'node1',
    fileDir: path.join(tmp, 'files'),
    maxBodySize: 63000,
    reply: (r) => replies.push(r),
    log: (level, msg) => logs.push(`${level}: ${msg}`),
    defaultLockFile: path.join(tmp, 'chef-client-running.pid'),
    ...extra,
  });
  runners.push(runner);
  const waitFor = (type: RunnerControlReply['type'], timeoutMs?: number): Promise<RunnerControlReply> =>
    waitForValue(
      () => `${type}; got ${JSON.stringify(replies)}`,
      () => replies.find((r): r is RunnerControlReply => r.type === type),
      timeoutMs,
    );
  const types = (): string[] => replies.map((r) => r.type);
  const setList = (w: Whitelist): void => {
    list = new AllowList(w);
  };
  return { runner, replies, logs, waitFor, types, setList };
}

describe('JobRunner', () => {
  it('commits, runs and reports succeeded with captured output', async () => {
    const t = setup({ hello: 'echo out; echo err >&2' });
    expect(t.runner.state()).to.deep.equal({ state: 'idle', jobId: null });
    t.runner.commit(JOB, 'hello', { capture: true });
    expect(t.runner.state()).to.deep.equal({ state: 'committed', jobId: JOB });
    t.runner.run(JOB);
    expect(t.runner.state()).to.deep.equal({ state: 'running', jobId: JOB });
    const done = await t.waitFor('succeeded');
    expect(t.types()).to.deep.equal(['ack_commit', 'ack_run', 'succeeded']);
    expect(done).to.deep.include({ type: 'succeeded', jobId: JOB });
    // The output first, then how the command ended (the protocol's field order).
    expect(Object.keys(done.fields ?? {})).to.deep.equal([
      'stdout',
      'stderr',
      'exit_status',
      'signal',
      'started_at',
      'ended_at',
    ]);
    expect(done.fields).to.deep.include({ stdout: 'out\n', stderr: 'err\n', exit_status: 0, signal: null });
    expect(t.runner.state()).to.deep.equal({ state: 'idle', jobId: null });
  });

  it('reports failed for exit code 3 with exit_status 3 and its times, without output when capture was not requested', async () => {
    const t = setup({ bad: 'echo x; sleep 0.05; exit 3' });
    t.runner.commit(JOB, 'bad', {});
    const before = new Date().toISOString();
    t.runner.run(JOB);
    const done = await t.waitFor('failed');
    const after = new Date().toISOString();
    expect(done).to.deep.include({ type: 'failed', jobId: JOB });
    expect(done.fields).to.not.have.any.keys('stdout', 'stderr');
    expect(done.fields).to.deep.include({ exit_status: 3, signal: null });
    const { started_at: startedAt, ended_at: endedAt } = done.fields ?? {};
    const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
    expect(startedAt).to.match(iso);
    expect(endedAt).to.match(iso);
    // Ordered: the run was asked for, the command started, ended, and was reported.
    expect(before <= startedAt! && startedAt! < endedAt! && endedAt! <= after).to.equal(
      true,
      `${before} <= ${startedAt} < ${endedAt} <= ${after}`,
    );
    expect(t.logs.some((l) => l.includes('completed with exit code 3'))).to.equal(true);
  });

  it('reports the signal (and no exit status) of a command a signal ended', async () => {
    const t = setup({ killed: 'kill -USR1 $$; sleep 5' });
    t.runner.commit(JOB, 'killed', {});
    t.runner.run(JOB);
    const done = await t.waitFor('failed');
    expect(done.fields).to.deep.include({ exit_status: null, signal: 'SIGUSR1' });
    expect(done.fields?.started_at).to.be.a('string');
    expect(done.fields?.ended_at).to.be.a('string');
  });

  it('a command that never started reports null exit status and signal, and no times', async () => {
    const t = setup({ go: 'true' }, { fileDir: '/dev/null/not-a-dir' });
    t.runner.commit(JOB, 'go', { file: 'raw:x' });
    t.runner.run(JOB);
    const done = await t.waitFor('failed');
    expect(done.fields).to.deep.equal({ exit_status: null, signal: null });
  });

  it('nacks a command that is not in the allow-list, and it never runs', async () => {
    const marker = path.join(tmp, 'marker');
    const t = setup({ ok: 'true' });
    t.runner.commit(JOB, `touch ${marker}`, {});
    t.runner.run(JOB);
    await sleep(500);
    expect(t.types()).to.deep.equal(['nack_commit', 'nack_run']);
    expect(fs.existsSync(marker)).to.equal(false);
    expect(t.runner.state().state).to.equal('idle');
  });

  it('looks the command up again at run: an entry removed after the commit is refused and never runs', async () => {
    const marker = path.join(tmp, 'marker');
    const t = setup({ mark: `touch ${marker}` });
    t.runner.commit(JOB, 'mark', {});
    t.setList({ other: 'true' });
    t.runner.run(JOB);
    await sleep(300);
    expect(t.types()).to.deep.equal(['ack_commit', 'nack_run']);
    expect(fs.existsSync(marker)).to.equal(false);
    expect(t.runner.state().state).to.equal('idle');
  });

  it('looks the command up again at run: a changed entry runs its new command line', async () => {
    const t = setup({ say: 'echo old' });
    t.runner.commit(JOB, 'say', { capture: true });
    t.setList({ say: 'echo new' });
    t.runner.run(JOB);
    const done = await t.waitFor('succeeded');
    expect(done.fields).to.deep.include({ stdout: 'new\n' });
  });

  it('nacks a commit when busy (committed or running)', async () => {
    const t = setup({ s: 'sleep 0.3' });
    t.runner.commit(JOB, 's', {});
    t.runner.commit(JOB2, 's', {});
    t.runner.run(JOB);
    t.runner.commit(JOB2, 's', {});
    expect(t.replies.map((r) => `${r.type}:${r.jobId}`)).to.deep.equal([
      `ack_commit:${JOB}`,
      `nack_commit:${JOB2}`,
      `ack_run:${JOB}`,
      `nack_commit:${JOB2}`,
    ]);
    await t.waitFor('succeeded');
  });

  it('nacks a run for an unknown job and when idle', () => {
    const t = setup({ s: 'true' });
    t.runner.run(JOB);
    t.runner.commit(JOB, 's', {});
    t.runner.run(JOB2);
    expect(t.replies.map((r) => `${r.type}:${r.jobId}`)).to.deep.equal([
      `nack_run:${JOB}`,
      `ack_commit:${JOB}`,
      `nack_run:${JOB2}`,
    ]);
    expect(t.runner.state()).to.deep.equal({ state: 'committed', jobId: JOB });
  });

  it('abort kills the whole process group, including children', async () => {
    const pids = path.join(tmp, 'pids');
    const t = setup({ long: `sleep 100 & a=$!; sleep 100 & b=$!; echo "$$ $a $b" > ${pids}; wait` });
    t.runner.commit(JOB, 'long', { capture: true });
    t.runner.run(JOB);
    let list: number[] = [];
    for (let i = 0; i < 100 && list.length < 3; i++) {
      await sleep(20);
      if (fs.existsSync(pids))
        list = fs.readFileSync(pids, 'utf8').trim().split(' ').filter(Boolean).map(Number);
    }
    expect(list).to.have.length(3);
    for (const pid of list) expect(gone(pid)).to.equal(false);
    t.runner.abort();
    expect(t.replies.at(-1)).to.deep.equal({ type: 'aborted', jobId: JOB });
    expect(t.runner.state().state).to.equal('idle');
    for (let i = 0; i < 100 && !list.every(gone); i++) await sleep(20);
    for (const pid of list) expect(gone(pid), `pid ${pid}`).to.equal(true);
    await sleep(200);
    expect(t.types()).to.deep.equal(['ack_commit', 'ack_run', 'aborted']);
  });

  it('an abort naming another job stops nothing: the running job goes on and succeeds', async () => {
    const marker = path.join(tmp, 'done');
    const t = setup({ slow: `sleep 0.5; touch ${marker}` });
    t.runner.commit(JOB, 'slow', {});
    t.runner.run(JOB);
    t.runner.abort(JOB2);
    expect(t.replies.at(-1)).to.deep.equal({ type: 'aborted', jobId: null });
    expect(t.runner.state()).to.deep.equal({ state: 'running', jobId: JOB });
    expect(t.logs.some((l) => l.startsWith('debug: Ignoring abort of job') && l.includes(JOB))).to.equal(
      true,
    );
    await t.waitFor('succeeded');
    expect(fs.existsSync(marker)).to.equal(true);
    // An abort naming the job it holds stops it, as an abort with no job does.
    t.runner.commit(JOB2, 'slow', {});
    t.runner.abort(JOB2);
    expect(t.replies.at(-1)).to.deep.equal({ type: 'aborted', jobId: JOB2 });
    expect(t.runner.state().state).to.equal('idle');
    t.runner.abort(JOB2); // idle: nothing held
    expect(t.replies.at(-1)).to.deep.equal({ type: 'aborted', jobId: null });
  });

  it('takes the same commit and run again without harm (re-sent after a reconnect)', async () => {
    const t = setup({ s: 'sleep 0.3' });
    t.runner.commit(JOB, 's', {});
    t.runner.commit(JOB, 's', {});
    t.runner.run(JOB);
    t.runner.run(JOB);
    t.runner.commit(JOB, 's', {});
    expect(t.replies.map((r) => `${r.type}:${r.jobId}`)).to.deep.equal([
      `ack_commit:${JOB}`,
      `ack_commit:${JOB}`,
      `ack_run:${JOB}`,
    ]);
    await t.waitFor('succeeded');
    expect(t.types()).to.deep.equal(['ack_commit', 'ack_commit', 'ack_run', 'succeeded']);
  });

  it('stops a job past its run_timeout (plus grace) itself and reports it failed', async () => {
    const pids = path.join(tmp, 'pids');
    const t = setup({ long: `echo $$ > ${pids}; echo started; sleep 100` }, { runTimeoutGraceMs: 0 });
    t.runner.commit(JOB, 'long', { capture: true, runTimeout: 1 });
    t.runner.run(JOB);
    const failed = await t.waitFor('failed');
    expect(String(failed.fields?.['stderr'])).to.match(
      /run_timeout of 1 s passed; the agent stopped the job/,
    );
    expect(failed.fields).to.deep.include({ exit_status: null, signal: 'SIGTERM' });
    expect(t.runner.state().state).to.equal('idle');
    const pid = Number(fs.readFileSync(pids, 'utf8'));
    for (let i = 0; i < 100 && !gone(pid); i++) await sleep(20);
    expect(gone(pid)).to.equal(true);
    expect(t.types()).to.deep.equal(['ack_commit', 'ack_run', 'failed']);
  });

  it('a run_timeout or voting_timeout longer than a timer can wait does not stop or release the job at once', async () => {
    const t = setup({ s: 'sleep 0.3' });
    t.runner.commit(JOB, 's', { runTimeout: 3_000_000, votingTimeout: 3_000_000 });
    await sleep(50); // unclamped, both timers would fire after 1 ms
    expect(t.runner.state()).to.deep.equal({ state: 'committed', jobId: JOB });
    t.runner.run(JOB);
    await t.waitFor('succeeded');
    expect(t.types()).to.deep.equal(['ack_commit', 'ack_run', 'succeeded']);
  });

  it('releases a commit whose run never comes (bounded by voting_timeout), and on request', async () => {
    const t = setup({ s: 'true' }, { commitGraceMs: 0 });
    t.runner.commit(JOB, 's', { votingTimeout: 1 });
    const aborted = await t.waitFor('aborted');
    expect(aborted).to.deep.equal({ type: 'aborted', jobId: JOB });
    expect(t.runner.state()).to.deep.equal({ state: 'idle', jobId: null });
    expect(t.logs.some((l) => l.includes(`Releasing job ${JOB}`))).to.equal(true);
    t.runner.run(JOB);
    expect(t.replies.at(-1)).to.deep.equal({ type: 'nack_run', jobId: JOB });
    // releaseCommitted: only a committed job is released; a running one is not touched.
    t.runner.commit(JOB2, 's', {});
    expect(t.runner.releaseCommitted('the server restarted')).to.equal(true);
    expect(t.replies.at(-1)).to.deep.equal({ type: 'aborted', jobId: JOB2 });
    expect(t.runner.releaseCommitted('again')).to.equal(false);
  });

  it('a commit with run_wait_timeout waits that long for run, not the voting timeout', async () => {
    const t = setup({ s: 'true' }, { commitGraceMs: 0 });
    const committedAt = Date.now();
    t.runner.commit(JOB, 's', { votingTimeout: 1, runWaitTimeout: 2 });
    // The voting timeout alone would release it after 1 s; released only after run_wait_timeout.
    const aborted = await t.waitFor('aborted', 30_000);
    const waited = Date.now() - committedAt;
    expect(aborted).to.deep.equal({ type: 'aborted', jobId: JOB });
    expect(waited).to.be.at.least(1990); // a timer never fires early (1 ms of rounding aside)
    expect(
      t.logs.some((l) => l.includes(`Releasing job ${JOB}`) && l.includes('no run within 2 s')),
    ).to.equal(true);
  });

  it('a commit with run_wait_timeout still runs when run comes after the voting timeout', async () => {
    const t = setup({ s: 'true' }, { commitGraceMs: 0 });
    t.runner.commit(JOB, 's', { votingTimeout: 1, runWaitTimeout: 30 });
    // Wait past the voting timeout (plus its zero grace) by waiting on a voting-timeout job beside it.
    const other = setup({ s: 'true' }, { commitGraceMs: 0 });
    other.runner.commit(JOB2, 's', { votingTimeout: 1 });
    await other.waitFor('aborted');
    expect(t.runner.state()).to.deep.equal({ state: 'committed', jobId: JOB });
    t.runner.run(JOB);
    await t.waitFor('succeeded');
    expect(t.types()).to.deep.equal(['ack_commit', 'ack_run', 'succeeded']);
  });

  it('abort when idle replies aborted with a null job id', () => {
    const t = setup({});
    t.runner.abort();
    expect(t.replies).to.deep.equal([{ type: 'aborted', jobId: null }]);
  });

  it('SIGKILLs a job that ignores SIGTERM after the grace period', async () => {
    const pids = path.join(tmp, 'pids');
    const t = setup(
      { stubborn: `trap '' TERM; echo $$ > ${pids}; while true; do sleep 0.05; done` },
      { abortGraceMs: 300 },
    );
    t.runner.commit(JOB, 'stubborn', {});
    t.runner.run(JOB);
    for (let i = 0; i < 100 && !fs.existsSync(pids); i++) await sleep(20);
    const pid = Number(fs.readFileSync(pids, 'utf8').trim());
    t.runner.abort();
    await sleep(150);
    expect(gone(pid)).to.equal(false); // TERM ignored, still in the grace period
    for (let i = 0; i < 100 && !gone(pid); i++) await sleep(20);
    expect(gone(pid)).to.equal(true);
    expect(t.logs.some((l) => l.includes('SIGKILL'))).to.equal(true);
    expect(t.types()).to.deep.equal(['ack_commit', 'ack_run', 'aborted']);
  });

  describe('lock entries', () => {
    /** Whether someone holds a flock on `lock` (what chef-client would find). */
    const lockedElsewhere = (lock: string): boolean =>
      spawnSync('flock', ['--nonblock', '--conflict-exit-code', '75', lock, 'true']).status === 75;

    it('acks after taking the lock, nacks a second commit, releases at the end', async () => {
      const lock = path.join(tmp, 'chef-client-running.pid');
      const t = setup({ cc: { command_line: 'sleep 0.3', lock: true } });
      const other = setup({ cc: { command_line: 'true', lock: true } });
      t.runner.commit(JOB, 'cc', {});
      expect(t.types()).to.deep.equal(['ack_commit']);
      expect(fs.readFileSync(lock, 'utf8').trim()).to.equal(String(process.pid));
      expect(lockedElsewhere(lock)).to.equal(true);
      other.runner.commit(JOB2, 'cc', {});
      expect(other.types()).to.deep.equal(['nack_commit']);
      expect(other.logs.some((l) => l.includes("'true' is already running: lock"))).to.equal(true);
      t.runner.run(JOB);
      await t.waitFor('succeeded');
      expect(lockedElsewhere(lock)).to.equal(false);
      expect(fs.existsSync(lock)).to.equal(true); // left in place, as chef-client leaves its own
      other.runner.commit(JOB2, 'cc', {});
      expect(other.types()).to.deep.equal(['nack_commit', 'ack_commit']);
    });

    it('nacks while another process (chef-client) holds a flock on the file, whatever the file says; a pid alone holds nothing', async () => {
      const lock = path.join(tmp, 'my.lock');
      const ready = path.join(tmp, 'ready');
      const holder = childSpawn(
        'flock',
        [lock, 'sh', '-c', `echo 4242 > ${lock}; touch ${ready}; exec sleep 30`],
        { stdio: 'ignore', detached: true },
      );
      // flock's command (and the sleep it becomes) hold the lock too: stop the whole group.
      const stopHolder = (): void => {
        try {
          process.kill(-holder.pid!, 'SIGKILL');
        } catch {
          // Gone.
        }
      };
      try {
        for (let i = 0; i < 500 && !fs.existsSync(ready); i++) await sleep(20);
        const t = setup({ cc: { command_line: 'true', lock } });
        t.runner.commit(JOB, 'cc', {});
        expect(t.types()).to.deep.equal(['nack_commit']);
        expect(t.logs).to.include(
          `error: Job ${JOB}: 'true' is already running: lock ${lock} is held by another process (pid 4242 per the file)`,
        );
        stopHolder();
        for (let i = 0; i < 250 && lockedElsewhere(lock); i++) await sleep(20);
        fs.writeFileSync(lock, `${process.ppid}\n`); // a live pid, but no lock
        t.runner.commit(JOB, 'cc', {});
        expect(t.types()).to.deep.equal(['nack_commit', 'ack_commit']);
        expect(fs.readFileSync(lock, 'utf8').trim()).to.equal(String(process.pid));
        t.runner.abort();
        expect(lockedElsewhere(lock)).to.equal(false);
      } finally {
        stopHolder();
      }
    });

    it('without a flock program a lock entry is nacked with the reason, never run unlocked', () => {
      const lock = path.join(tmp, 'my.lock');
      const t = setup({ cc: { command_line: 'true', lock } }, { flock: null });
      t.runner.commit(JOB, 'cc', {});
      expect(t.types()).to.deep.equal(['nack_commit']);
      expect(t.logs).to.include(
        `error: Job ${JOB}: cannot take lock ${lock}: the flock program (util-linux) is not on the agent's PATH`,
      );
      const gone = setup({ cc: { command_line: 'true', lock } }, { flock: path.join(tmp, 'no-flock') });
      gone.runner.commit(JOB, 'cc', {});
      expect(gone.types()).to.deep.equal(['nack_commit']);
      expect(
        gone.logs.some((l) =>
          l.includes(`cannot take lock ${lock}: running ${path.join(tmp, 'no-flock')} failed`),
        ),
      ).to.equal(true);
      expect(findProgram('flock', tmp)).to.equal(undefined);
      expect(findProgram('flock', 'relative/bin:/usr/bin:/bin')).to.match(/^\/(usr\/)?bin\/flock$/);
    });

    it("the job's leader holds the lock while the job runs; the command's own processes do not get it", async () => {
      const lock = path.join(tmp, 'my.lock');
      const out = path.join(tmp, 'fd3');
      const t = setup({
        cc: {
          command_line: `if [ -e /proc/self/fd/3 ]; then echo has-fd3; else echo no-fd3; fi > ${out}; exec sleep 30`,
          lock,
        },
      });
      t.runner.commit(JOB, 'cc', {});
      t.runner.run(JOB);
      for (let i = 0; i < 500 && !fs.existsSync(out); i++) await sleep(20);
      expect(fs.readFileSync(out, 'utf8')).to.equal('no-fd3\n');
      expect(lockedElsewhere(lock)).to.equal(true);
      t.runner.abort();
      for (let i = 0; i < 250 && lockedElsewhere(lock); i++) await sleep(20);
      expect(lockedElsewhere(lock)).to.equal(false);
    });
  });

  it('a spawn that fails reports failed (not stuck running), releases the lock and goes idle', async () => {
    const lock = path.join(tmp, 'spawn.lock');
    // A child that cannot be started: the spawn emits 'error' (ENOENT) instead of running.
    const t = setup(
      { go: { command_line: 'true', lock } },
      {
        spawn: (_cmd, args, o) => childSpawn(path.join(tmp, 'no-such-shell'), args, o),
      },
    );
    t.runner.commit(JOB, 'go', { capture: true });
    const held = (): boolean => spawnSync('flock', ['--nonblock', lock, 'true']).status !== 0;
    expect(held()).to.equal(true);
    t.runner.run(JOB);
    const done = await t.waitFor('failed');
    expect(t.types()).to.deep.equal(['ack_commit', 'ack_run', 'failed']);
    expect(String(done.fields?.['stderr'])).to.match(/ENOENT/);
    // It never started: no exit status, no signal, no times.
    expect(done.fields).to.include({ exit_status: null, signal: null });
    expect(done.fields).to.not.have.any.keys('started_at', 'ended_at');
    expect(t.runner.state()).to.deep.equal({ state: 'idle', jobId: null });
    expect(held()).to.equal(false);
    // A spawn that throws at once is reported the same way.
    const thrower = setup(
      { go: 'true' },
      {
        spawn: () => {
          throw new Error('EAGAIN: no more processes');
        },
      },
    );
    thrower.runner.commit(JOB2, 'go', {});
    thrower.runner.run(JOB2);
    expect(thrower.replies).to.deep.equal([
      { type: 'ack_commit', jobId: JOB2 },
      { type: 'ack_run', jobId: JOB2 },
      { type: 'failed', jobId: JOB2, fields: { exit_status: null, signal: null } },
    ]);
    expect(thrower.runner.state().state).to.equal('idle');
    // The runner keeps working.
    thrower.runner.commit(JOB, 'go', {});
    expect(thrower.types().at(-1)).to.equal('ack_commit');
  });

  it('nacks a file with a bad prefix', () => {
    const t = setup({ cat: 'true' });
    t.runner.commit(JOB, 'cat', { file: 'text:nope' });
    expect(t.types()).to.deep.equal(['nack_commit']);
  });

  it('passes env variables (renamed unless overwritable) and uses dir as cwd', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'cwd-'));
    const t = setup(
      { env: 'echo "$FOO|$CHEF_PUSH_ENV_BAR|$BAR|$CHEF_PUSH_NODE_NAME|$CHEF_PUSH_JOB_ID"; pwd' },
      { allowedOverwritableEnvVars: ['FOO'] },
    );
    t.runner.commit(JOB, 'env', { env: { FOO: 'foo', BAR: 'bar' }, dir, capture: true });
    t.runner.run(JOB);
    const out = String((await t.waitFor('succeeded')).fields?.['stdout']);
    expect(out).to.equal(`foo|bar||node1|${JOB}\n${fs.realpathSync(dir)}\n`);
  });

  it('nacks a missing dir and an unknown user', () => {
    const t = setup({ ok: 'true' });
    t.runner.commit(JOB, 'ok', { dir: path.join(tmp, 'nope') });
    t.runner.commit(JOB, 'ok', { user: 'no-such-user-xyz' });
    expect(t.types()).to.deep.equal(['nack_commit', 'nack_commit']);
    expect(t.runner.state().state).to.equal('idle');
  });

  it('runs as the given user when root', async function () {
    // Switching to another uid needs root. CI and the developers' machines run as root, so this
    // runs there; on a non-root workstation it is skipped rather than failing for lack of rights.
    if (process.getuid?.() !== 0) this.skip();
    const t = setup({ id: 'id -u' });
    t.runner.commit(JOB, 'id', { user: 'nobody', dir: '/', capture: true });
    t.runner.run(JOB);
    const done = await t.waitFor('succeeded');
    expect(String(done.fields?.['stdout']).trim()).to.equal('65534');
  });

  it("gives a job run as another user that user's supplementary groups (and no others)", async function () {
    // Needs root, as the test above; it adds a group with nobody in it and removes it after.
    if (process.getuid?.() !== 0) this.skip();
    const group = `pjtest${process.pid}`;
    execFileSync('groupadd', [group]);
    try {
      execFileSync('gpasswd', ['-a', 'nobody', group], { stdio: 'ignore' });
      const gid = execFileSync('getent', ['group', group], { encoding: 'utf8' }).split(':')[2];
      const t = setup({ groups: 'id -G' });
      t.runner.commit(JOB, 'groups', { user: 'nobody', dir: '/', capture: true });
      t.runner.run(JOB);
      const done = await t.waitFor('succeeded');
      const groups = String(done.fields?.['stdout']).trim().split(' ').sort();
      expect(groups).to.deep.equal(['65534', String(gid)].sort());
    } finally {
      execFileSync('groupdel', [group]);
    }
  });

  it('userCommand: setpriv with --init-groups as root, Node uid/gid without it', () => {
    expect(userCommand('id', undefined, SETPRIV)).to.deep.equal(['/bin/sh', ['-c', 'id'], {}]);
    expect(userCommand('id', { uid: 7, gid: 8 }, SETPRIV)).to.deep.equal([
      SETPRIV,
      ['--reuid', '7', '--regid', '8', '--init-groups', '--', '/bin/sh', '-c', 'id'],
      {},
    ]);
    expect(userCommand('id', { uid: 7, gid: 8 }, null)).to.deep.equal([
      '/bin/sh',
      ['-c', 'id'],
      { uid: 7, gid: 8 },
    ]);
  });

  it('applies a reloaded allow-list to the next commit', async () => {
    const t = setup({ a: 'echo a' });
    t.setList({ b: 'echo b' });
    t.runner.commit(JOB, 'a', {});
    t.runner.commit(JOB, 'b', { capture: true });
    t.runner.run(JOB);
    const done = await t.waitFor('succeeded');
    expect(t.types()).to.deep.equal(['nack_commit', 'ack_commit', 'ack_run', 'succeeded']);
    expect(done.fields?.['stdout']).to.equal('b\n');
  });

  it('stop() kills a running job without a message', async () => {
    const pids = path.join(tmp, 'pids');
    const t = setup({ long: `echo $$ > ${pids}; sleep 100` });
    t.runner.commit(JOB, 'long', {});
    t.runner.run(JOB);
    for (let i = 0; i < 100 && !fs.existsSync(pids); i++) await sleep(20);
    const pid = Number(fs.readFileSync(pids, 'utf8').trim());
    await t.runner.stop();
    expect(gone(pid)).to.equal(true);
    await sleep(100);
    expect(t.types()).to.deep.equal(['ack_commit', 'ack_run']);
  });

  it('cleanFileDir deletes only old pushy_file* files', async () => {
    const dir = path.join(tmp, 'files');
    fs.mkdirSync(dir);
    const old = path.join(dir, 'pushy_file20200101-1-abc');
    const fresh = path.join(dir, 'pushy_file20200101-1-def');
    const other = path.join(dir, 'other');
    for (const f of [old, fresh, other]) fs.writeFileSync(f, 'x');
    const past = new Date(Date.now() - 2 * 86_400_000);
    fs.utimesSync(old, past, past);
    fs.utimesSync(other, past, past);
    expect(await cleanFileDir(dir)).to.deep.equal([old]);
    expect(fs.existsSync(fresh) && fs.existsSync(other)).to.equal(true);
    expect(await cleanFileDir(path.join(tmp, 'missing'))).to.deep.equal([]);
  });
});
