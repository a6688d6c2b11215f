// Locks of `lock` allow-list entries, and jobs an agent leaves behind: real server and agent
// processes, and util-linux `flock` standing in for chef-client (which flocks its
// chef-client-running.pid). A lock held by any live process is respected, the agent's own lock is
// a real flock that others see, a job left running by a killed agent keeps its lock and is
// stopped by the next agent before that one takes a job, and no `flock` program means no run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { PushApiClient } from '@push-jobs/protocol';
import { until } from '@push-jobs/testing';
import { E2eScope } from '../../helpers/e2e-scope.js';
import type { ServerProcess } from '../../helpers/server-process.js';
import { waitForAvailability, waitForJob, waitForJobNodes } from '../../helpers/wait.js';

/** True when `pid` no longer runs: no such process, or a zombie nobody reaped. */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^[ZX]/u.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return true;
  }
}

/** Whether some process holds a flock on `file` (what chef-client would find). */
function lockedElsewhere(file: string): boolean {
  const result = spawnSync('flock', ['--nonblock', '--conflict-exit-code', '75', file, 'true']);
  if (result.status !== 0 && result.status !== 75)
    throw new Error(`flock failed: ${result.stderr.toString()}`);
  return result.status === 75;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Gone.
  }
}

describe('abuse: locks and jobs a killed agent leaves behind', function () {
  this.timeout(60_000);
  const scope = E2eScope.use('pj-abuse-lock-');

  const lockFile = (): string => join(scope.dir, 'chef-client-running.pid');
  const runsFile = (): string => join(scope.dir, 'runs');
  /** The pids of the locked command's runs so far, in order. */
  const runs = (): number[] =>
    existsSync(runsFile())
      ? readFileSync(runsFile(), 'utf8').trim().split('\n').filter(Boolean).map(Number)
      : [];

  function whitelist(): Record<string, unknown> {
    return {
      // Each run appends its pid (the sleep's, after exec) and runs until stopped.
      converge: { command_line: `echo $$ >> ${runsFile()}; exec sleep 60`, lock: lockFile() },
      hello: 'echo hello',
    };
  }

  async function startServer(): Promise<{ server: ServerProcess; api: PushApiClient }> {
    return scope.server({ heartbeatIntervalMs: 200 });
  }

  /** A stand-in for chef-client: holds a flock on the lock file (writing no pid) until killed. */
  async function holdLockElsewhere(): Promise<ChildProcess> {
    const ready = join(scope.dir, 'holder-ready');
    const holder = spawn('flock', [lockFile(), 'sh', '-c', `touch ${ready}; exec sleep 60`], {
      stdio: 'ignore',
      detached: true,
    });
    scope.defer(() => killGroup(holder.pid));
    await until(() => existsSync(ready), 'the other process to hold the lock');
    return holder;
  }

  it('a job left running by an agent killed with -9 keeps its lock, and the restarted agent stops it before running the command again', async () => {
    const { server, api } = await startServer();
    const agent = await scope.agent(server, { node: 'node1', whitelist: whitelist() });
    await waitForAvailability(api, ['node1'], 'available', 30_000);
    const first = await api.startJob({ command: 'converge', nodes: ['node1'] });
    await until(() => runs().length === 1, 'the locked command running');
    const orphan = runs()[0]!;
    scope.defer(() => killGroup(orphan));
    await until(async () => (await api.getNodeState('node1')).state === 'running', 'node1 reported running');

    await agent.kill();
    // The agent is gone, its job is not: it still holds the lock, so chef-client would wait.
    expect(gone(orphan)).to.equal(false);
    expect(lockedElsewhere(lockFile())).to.equal(true);

    const restarted = await agent.restart();
    scope.defer(() => restarted.stop());
    await until(() => gone(orphan), 'the restarted agent to stop the orphaned job');
    const log = (): string => restarted.output.join('');
    await until(
      () =>
        log().includes(
          `Stopping job ${first.id} ('echo $$ >> ${runsFile()}; exec sleep 60') left running by a previous agent`,
        ),
      'the agent to say which job it stopped',
    );
    expect(log()).to.not.include('stale lock');
    // The new incarnation is the one the server talks to once it reports itself idle.
    await until(async () => {
      const state = await api.getNodeState('node1');
      return state.availability === 'available' && state.state === 'idle';
    }, 'node1 back and idle');
    const second = await api.startJob({ command: 'converge', nodes: ['node1'] });
    try {
      await until(() => runs().length === 2, 'the locked command running again');
    } catch (err) {
      const job = JSON.stringify(await api.getJob(second.id));
      throw new Error(`${(err as Error).message}; job ${job}; agent log:\n${log()}`, { cause: err });
    }
    expect(gone(orphan), 'the first copy still runs beside the second').to.equal(true);
    await until(async () => (await api.getJob(second.id)).status === 'running', 'the second job running');
    await api.abortJob(second.id);
    expect((await waitForJob(api, second.id)).status).to.equal('aborted');
    await until(() => gone(runs()[1]!), 'the second copy stopped by the abort');
    await until(() => !lockedElsewhere(lockFile()), 'the lock free again');
  });

  it("a lock is a real flock both ways: chef-client's lock makes the agent nack, and the agent's lock stops chef-client", async () => {
    const { server, api } = await startServer();
    const agent = await scope.agent(server, { node: 'node1', whitelist: whitelist() });
    await waitForAvailability(api, ['node1'], 'available', 30_000);

    // Someone else (chef-client) holds the lock, and the file holds no pid of theirs.
    const holder = await holdLockElsewhere();
    const refused = await api.startJob({ command: 'converge', nodes: ['node1'] });
    const { job, nodes } = await waitForJobNodes(api, refused.id);
    expect({ status: job.status, nodes }).to.deep.equal({
      status: 'quorum_failed',
      nodes: { nacked: ['node1'] },
    });
    expect(runs()).to.deep.equal([]);
    await until(
      () =>
        agent.output.join('').includes(`is already running: lock ${lockFile()} is held by another process`),
      'the reason in the agent log',
    );
    killGroup(holder.pid);
    await until(() => !lockedElsewhere(lockFile()), 'the other process to let go');

    // Now the agent's job holds it, and chef-client's flock finds it taken.
    const ran = await api.startJob({ command: 'converge', nodes: ['node1'] });
    await until(() => runs().length === 1, 'the locked command running');
    expect(lockedElsewhere(lockFile())).to.equal(true);
    await api.abortJob(ran.id);
    expect((await waitForJob(api, ran.id)).status).to.equal('aborted');
    await until(() => !lockedElsewhere(lockFile()), 'the lock released after the abort');
  });

  it('without a flock program on its PATH the agent refuses lock entries with the reason, and still runs the others', async () => {
    const { server, api } = await startServer();
    const bin = join(scope.dir, 'bin-without-flock');
    mkdirSync(bin);
    const path = process.env['PATH'];
    process.env['PATH'] = bin; // the agent inherits it at spawn
    const started = scope.agent(server, { node: 'node1', whitelist: whitelist() });
    process.env['PATH'] = path;
    const agent = await started;
    await waitForAvailability(api, ['node1'], 'available', 30_000);
    const refused = await api.startJob({ command: 'converge', nodes: ['node1'] });
    expect((await waitForJobNodes(api, refused.id)).nodes).to.deep.equal({ nacked: ['node1'] });
    expect(runs()).to.deep.equal([]);
    await until(
      () =>
        agent.output
          .join('')
          .includes(
            `Job ${refused.id}: cannot take lock ${lockFile()}: the flock program (util-linux) is not on the agent's PATH`,
          ),
      'the reason in the agent log',
    );
    const hello = await api.startJob({ command: 'hello', nodes: ['node1'] });
    expect((await waitForJob(api, hello.id)).status).to.equal('complete');
  });
});
