// The `push-jobs` CLI against real server and agent processes: quorum percentages, abort, and an
// allow-list edited with `push whitelist add`, applied by the cookbook, reaching the agent
// without a restart.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { PushApiClient } from '@push-jobs/protocol';
import { isAlive, until } from '@push-jobs/testing';
import { AGENT_BIN, AgentProcess } from '../helpers/agent-process.js';
import { runCli } from '../helpers/cli.js';
import { ServerProcess } from '../helpers/server-process.js';
import { waitForAvailability, waitForJob } from '../helpers/wait.js';

const COOKBOOK_BIN = fileURLToPath(
  new URL('../../cookbooks/push-jobs/bin/push-jobs-cookbook.js', import.meta.url),
);
const run = promisify(execFile);

describe('end to end: the CLI', function () {
  this.timeout(120_000);
  let server: ServerProcess;
  let api: PushApiClient;
  let scratch: string;
  const agents: AgentProcess[] = [];
  const NODES = ['n1', 'n2', 'n3'];

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'pj-e2e-cli-'));
    server = await ServerProcess.start({ heartbeatIntervalMs: 200 });
    api = server.adminClient();
    for (const node of NODES) {
      agents.push(
        await AgentProcess.start(server, {
          node,
          whitelist: {
            hello: 'echo hello',
            slow: `sh -c 'echo $$ > ${scratch}/$CHEF_PUSH_NODE_NAME.pid; sleep 60'`,
          },
        }),
      );
    }
    await waitForAvailability(api, NODES, 'available', 30_000);
  });

  after(async () => {
    api?.close();
    await Promise.all(agents.map((a) => a.remove()));
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('quorum as a percentage: 75% of four nodes is met with one unavailable, 100% is not', async () => {
    const met = await runCli(server, [
      'push',
      'jobs',
      'start',
      'hello',
      ...NODES,
      'ghost',
      '--quorum',
      '75%',
      '--json',
    ]);
    const metJob = (JSON.parse(met.stdout) as { data: { status: string; nodes: Record<string, string[]> } })
      .data;
    expect(metJob.status).to.equal('complete');
    expect(metJob.nodes).to.deep.equal({ succeeded: NODES, unavailable: ['ghost'] });
    const failed = await runCli(server, [
      'push',
      'jobs',
      'start',
      'hello',
      ...NODES,
      'ghost',
      '-q',
      '100%',
      '--json',
    ]);
    expect(failed.code).to.not.equal(0);
    expect(JSON.stringify(JSON.parse(failed.stdout))).to.include('quorum_failed');
  });

  it('aborts a running job with `push jobs abort`, killing the processes', async () => {
    const started = await runCli(server, ['push', 'jobs', 'start', 'slow', 'n1', 'n2', '--nowait', '--json']);
    expect(started.code).to.equal(0);
    const id = (JSON.parse(started.stdout) as { data: { id: string } }).data.id;
    await until(() => {
      try {
        return ['n1', 'n2'].every((n) => readFileSync(join(scratch, `${n}.pid`), 'utf8').trim() !== '');
      } catch {
        return false;
      }
    }, 'both slow processes');
    const pids = ['n1', 'n2'].map((n) => Number(readFileSync(join(scratch, `${n}.pid`), 'utf8')));
    const aborted = await runCli(server, ['push', 'jobs', 'abort', id]);
    expect(aborted.code).to.equal(0);
    expect(aborted.stdout).to.match(/aborted/i);
    expect((await waitForJob(api, id)).status).to.equal('aborted');
    await until(() => !pids.some(isAlive), 'the processes killed', 15_000);
  });

  it('an allow-list entry added with `push whitelist add` and applied by the cookbook reaches the agent without a restart', async () => {
    const node = 'cooked';
    const root = join(scratch, 'root');
    // The node's client and node object, as a bootstrap would make them.
    const created = (await api.request('POST', 'clients', { name: node })) as { private_key: string };
    const keySource = join(scratch, `${node}.pem`);
    writeFileSync(keySource, created.private_key, { mode: 0o600 });
    await api.request('POST', 'nodes', { name: node });
    const attributes = join(scratch, 'node.json');
    writeFileSync(
      attributes,
      JSON.stringify({ push_jobs: { whitelist: { hello: 'echo hello' }, file_dir: join(scratch, 'files') } }),
    );
    const converge = (extra: string[]) =>
      run(process.execPath, [
        COOKBOOK_BIN,
        'apply',
        '--root',
        root,
        '--recipe',
        'config',
        '--platform-family',
        'debian',
        '--server',
        server.orgUrl,
        '--node',
        node,
        '--key',
        '/etc/chef/client.pem',
        '--key-source',
        keySource,
        '-j',
        attributes,
        '--json',
        ...extra,
      ]);
    await converge([]);
    const agent = spawn(
      process.execPath,
      [AGENT_BIN, '-c', join(root, 'etc/chef/push-jobs-client.rb'), '-k', join(root, 'etc/chef/client.pem')],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PUSH_JOBS_CLIENT_CONFIG_POLL_MS: '100' } },
    );
    let log = '';
    agent.stdout.on('data', (c: Buffer) => (log += c.toString()));
    agent.stderr.on('data', (c: Buffer) => (log += c.toString()));
    try {
      await waitForAvailability(api, [node], 'available', 30_000);
      const before = await waitForJob(api, (await api.startJob({ command: 'deploy', nodes: [node] })).id);
      expect(before.nodes).to.deep.equal({ nacked: [node] });

      const added = await runCli(server, [
        'push',
        'whitelist',
        'add',
        'deploy',
        'echo deployed',
        '--node',
        node,
      ]);
      expect(added.code, added.stderr).to.equal(0);
      const second = JSON.parse((await converge(['--from-server'])).stdout) as {
        updatedCount: number;
        resources: { name: string; updated: boolean }[];
      };
      expect(second.updatedCount).to.be.greaterThan(0);
      expect(readFileSync(join(root, 'etc/chef/push-jobs-client.rb'), 'utf8')).to.include('echo deployed');
      await until(() => /Reloaded allow-list/.test(log), 'the agent to reload its allow-list');

      const { id } = await api.startJob({ command: 'deploy', nodes: [node], capture_output: true });
      const job = await waitForJob(api, id);
      expect(job.nodes).to.deep.equal({ succeeded: [node] });
      expect((await api.getJobOutput(id, node, 'stdout')).output).to.equal('deployed\n');
      expect(agent.exitCode).to.equal(null);
      expect(log.match(/Started client\./g)).to.have.length(1);
    } finally {
      agent.kill('SIGTERM');
      await new Promise((r) => agent.once('exit', r));
    }
  });
});
