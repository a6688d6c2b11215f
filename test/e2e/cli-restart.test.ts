// `push jobs start` rides out a server restart: real server, agent and CLI processes. The server
// is stopped while the CLI waits on a running job and held down until the CLI has said on
// stderr that it is retrying, then started again on the same ports and data dir; the CLI
// reconnects, reads the job the new incarnation marked crashed and exits as a crashed job
// does; `push jobs watch` resumes the job's feed and ends with its summary. With
// --reconnect-timeout 0 the same outage ends the CLI at once with the connection error (exit 6)
// naming the job.
import { spawn, type ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import type { PushApiClient } from '@push-jobs/protocol';
import { until } from '@push-jobs/testing';
import { AgentProcess } from '../helpers/agent-process.js';
import { CLI_BIN, cliEnv, type CliResult } from '../helpers/cli.js';
import { ServerProcess } from '../helpers/server-process.js';
import { waitForAvailability } from '../helpers/wait.js';

/** A CLI process whose output can be watched while it runs. */
interface RunningCli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<CliResult>;
}

function startCli(server: ServerProcess, args: readonly string[]): RunningCli {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    env: cliEnv(server),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exit = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

describe('end to end: the CLI across a server restart', function () {
  this.timeout(180_000);
  let server: ServerProcess;
  let api: PushApiClient;
  const agents: AgentProcess[] = [];
  const clis: RunningCli[] = [];
  // One node per test: a node still running the job of a crashed incarnation is busy until
  // that command ends.
  const NODES = ['r1', 'r2', 'r3'];

  before(async () => {
    server = await ServerProcess.start({ heartbeatIntervalMs: 200 });
    api = server.adminClient();
    for (const node of NODES) {
      agents.push(await AgentProcess.start(server, { node, whitelist: { slow: 'sleep 30' } }));
    }
    await waitForAvailability(api, NODES, 'available', 30_000);
  });

  after(async () => {
    for (const cli of clis) if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    api?.close();
    await Promise.all(agents.map((a) => a.remove()));
    await server?.stop();
  });

  /** The id of the job the CLI started (its first stdout line, or the newest job under --json). */
  async function jobOf(cli: RunningCli, json: boolean): Promise<string> {
    let id: string | undefined;
    await until(
      async () => {
        if (!json) {
          id = /Started\. {2}Job ID: ([0-9a-f]{32})/.exec(cli.stdout())?.[1];
        } else {
          const { jobs } = await api.listJobs();
          id = jobs.find((j) => j.command === 'slow' && j.status !== 'crashed')?.id;
        }
        return id !== undefined || cli.child.exitCode !== null;
      },
      'the CLI to start its job',
      30_000,
    );
    if (id === undefined) throw new Error(`the CLI exited early:\n${cli.stdout()}\n${cli.stderr()}`);
    return id;
  }

  /** Waits until the job runs on `node` (the agent started the command). */
  async function running(id: string, node: string): Promise<void> {
    await until(
      async () => {
        const job = await api.getJob(id);
        return job.status === 'running' && (job.nodes.running ?? []).includes(node);
      },
      `job ${id} running on ${node}`,
      30_000,
    );
  }

  /** Starts the server again on the same ports and data dir (after a SIGTERM sent earlier). */
  async function restart(): Promise<void> {
    server = await server.restart();
    api.close();
    api = server.adminClient();
  }

  it('reconnects after the restart and ends with the crashed job (exit 1), notices on stderr only', async () => {
    const cli = startCli(server, ['push', 'jobs', 'start', 'slow', 'r1', '--progress', 'plain']);
    clis.push(cli);
    const id = await jobOf(cli, false);
    await running(id, 'r1');
    server.child.kill('SIGTERM');
    // Held down until the CLI says it is retrying: it cannot reach the old incarnation first.
    await until(
      () => /server unreachable \(.+\); retrying for up to 60 s \.\.\./.test(cli.stderr()),
      'the retry notice',
      30_000,
    );
    expect(cli.child.exitCode).to.equal(null);
    await restart();
    const result = await cli.exit;
    expect(result.code, result.stderr).to.equal(1);
    const notices = result.stderr.split('\n').filter((l) => !l.startsWith('Error: ') && l !== '');
    expect(notices).to.have.length(2);
    expect(notices[0]).to.match(
      /^server unreachable \((E[A-Z]+|HTTP 50[234])\); retrying for up to 60 s \.\.\.$/,
    );
    expect(notices[1]).to.match(/^reconnected after \d+\.\d s$/);
    expect(result.stderr).to.include(`Error: job ${id} did not fully succeed (status crashed; crashed: r1)`);
    expect(result.stdout).to.not.include('server unreachable');
    expect(result.stdout).to.include('\nstatus:         crashed\n');
    expect(result.stdout).to.include('  crashed (1): r1');
    expect((await api.getJob(id)).status).to.equal('crashed');
  });

  it('watch resumes the feed after the restart and ends with the crashed job’s summary (exit 0)', async () => {
    await waitForAvailability(api, ['r3'], 'available', 30_000);
    const { id } = await api.startJob({ command: 'slow', nodes: ['r3'] });
    const cli = startCli(server, ['push', 'jobs', 'watch', id]);
    clis.push(cli);
    await until(() => /\brun_start\s+node=r3\b/.test(cli.stdout()), 'the CLI to print run_start', 30_000);
    server.child.kill('SIGTERM');
    await until(() => /server unreachable/.test(cli.stderr()), 'the retry notice', 30_000);
    await restart();
    const result = await cli.exit;
    expect(result.code, result.stderr).to.equal(0);
    const notices = result.stderr.trimEnd().split('\n');
    expect(notices).to.have.length(2);
    expect(notices[0]).to.match(/^server unreachable \(.+\); retrying for up to 60 s \.\.\.$/);
    expect(notices[1]).to.match(/^reconnected after \d+\.\d s$/);
    const events = result.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s+/)[2]);
    expect(events.slice(0, 4)).to.deep.equal(['start', 'quorum_vote', 'quorum_succeeded', 'run_start']);
    expect(events.at(-1)).to.equal('summary');
    expect(result.stdout.trimEnd().split('\n').at(-1)).to.include('status=crashed');
  });

  it('--reconnect-timeout 0: the outage ends the wait at once with the connection error (exit 6)', async () => {
    await waitForAvailability(api, ['r2'], 'available', 30_000);
    const cli = startCli(server, [
      'push',
      'jobs',
      'start',
      'slow',
      'r2',
      '--reconnect-timeout',
      '0',
      '--json',
    ]);
    clis.push(cli);
    const id = await jobOf(cli, true);
    await running(id, 'r2');
    server.child.kill('SIGTERM');
    // The server stays down until the CLI has given up: nothing for it to reconnect to.
    const result = await cli.exit;
    await restart();
    expect(result.code, result.stderr).to.equal(6);
    expect(result.stderr).to.equal('');
    const envelope = JSON.parse(result.stdout) as {
      ok: boolean;
      error: { code: string; message: string; exitCode: number };
    };
    expect(envelope.ok).to.equal(false);
    expect(envelope.error.code).to.equal('PJ_ERR_UNREACHABLE');
    expect(envelope.error.exitCode).to.equal(6);
    expect(envelope.error.message).to.match(
      new RegExp(`^lost the connection to the server while waiting for job ${id} \\(cannot reach http`),
    );
    expect(envelope.error.message).to.include(`check it later with: push-jobs push jobs status ${id}`);
  });
});
