// The real thing: converge into a temp root with the agent's own tarballs (real npm install),
// start the agent that was installed, the way the rendered systemd unit starts it (its
// environment and command line, with paths under the root), against the real push server, and
// run jobs that only the rendered whitelist allows.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { converge, type ConvergeReport, type PushJobsAttributesInput } from '../src/index.js';
import { packAgentTarballs } from './helpers/packages.js';
import { TestPushServer } from './helpers/push-server.js';
import { until } from '@push-jobs/testing';
import { removeDir, tempDir } from './helpers/temp.js';

const UNIT = 'etc/systemd/system/chef-push-jobs-client.service';

/** The command line and environment of a systemd unit, with absolute paths moved under `root`. */
function unitCommand(root: string): { argv: string[]; env: Record<string, string> } {
  const unit = readFileSync(join(root, UNIT), 'utf8');
  const env: Record<string, string> = {};
  for (const match of unit.matchAll(/^Environment="([^=]+)=(.*)"$/gm)) env[match[1]!] = match[2]!;
  const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1];
  if (execStart === undefined) throw new Error('no ExecStart in the unit');
  const argv = execStart.split(' ').map((arg) => (arg.startsWith('/') ? join(root, arg) : arg));
  return { argv, env };
}

describe('a converged node runs jobs against the real server', function () {
  this.timeout(180_000);
  let h: TestPushServer;
  let packs: { dir: string; tarballs: string[] };
  let root: string;
  let secrets: string;
  let agent: ChildProcess | undefined;
  let agentExit: Promise<number | null> | undefined;
  let first: ConvergeReport;
  const log: string[] = [];

  const agentLog = (): string => {
    const file = join(root, 'var/log/chef/push-jobs-client.log');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  };

  function attributes(extraWhitelist: Record<string, unknown> = {}): PushJobsAttributesInput {
    return {
      chef: { chef_server_url: h.orgUrl, node_name: 'web1', client_key_source: join(secrets, 'web1.pem') },
      local_package_path: packs.tarballs,
      environment_variables: { LC_ALL: 'C.UTF-8', PJ_COOKBOOK_TEST: 'from-the-unit' },
      file_dir: join(root, 'var/lib/push-jobs/files'),
      whitelist: {
        'cookbook-echo': 'echo cookbook-$PJ_COOKBOOK_TEST',
        '/^greet (\\w+)$/': 'echo hello \\1',
        locked: { command_line: 'echo locked', lock: join(root, 'run/push-jobs.lock') },
        ...extraWhitelist,
      },
    };
  }

  before(async function () {
    this.timeout(300_000);
    packs = packAgentTarballs();
    h = await TestPushServer.start();
    secrets = tempDir('secrets');
    writeFileSync(join(secrets, 'web1.pem'), await h.createClient('web1'), { mode: 0o600 });
    root = tempDir('node');
    mkdirSync(join(root, 'run'));
    first = await converge(attributes(), { root, platformFamily: 'debian', log: (l) => log.push(l) });

    const { argv, env } = unitCommand(root);
    agent = spawn(argv[0]!, [...argv.slice(1), '-k', join(root, 'etc/chef/client.pem')], {
      // The init system's job: the unit's environment (PATH so that `env node` is found).
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env, PUSH_JOBS_CLIENT_CONFIG_POLL_MS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    agent.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    agent.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    agentExit = new Promise((resolve) => agent!.on('exit', (code) => resolve(code)));
    await until(() => h.isAvailable('web1') || agent!.exitCode !== null, 'web1 available', 60_000);
    if (!h.isAvailable('web1')) throw new Error(`the agent exited: ${output}${agentLog()}`);
  });

  after(async () => {
    if (agent !== undefined && agent.exitCode === null) {
      agent.kill('SIGTERM');
      const timer = setTimeout(() => agent?.kill('SIGKILL'), 10_000);
      await agentExit;
      clearTimeout(timer);
    }
    await h?.close();
    removeDir(root);
    removeDir(secrets);
    removeDir(packs?.dir);
  });

  it('installed the agent from the tarballs and rendered its config and unit', () => {
    expect(first.success).to.equal(true);
    expect(first.resources.filter((r) => !r.updated).map((r) => r.name)).to.deep.equal([]);
    const version = spawnSync(join(root, 'opt/push-jobs/node_modules/.bin/push-jobs-client'), ['--version'], {
      encoding: 'utf8',
    });
    expect(version.stdout).to.equal('Push Client: 0.1.0\n');
    expect(readFileSync(join(root, 'etc/chef/push-jobs-client.rb'), 'utf8')).to.include(
      `chef_server_url   '${h.orgUrl}'`,
    );
    expect(agentLog()).to.include('[web1] Started client.');
    expect(agentLog()).to.not.include('PRIVATE KEY');
  });

  it('runs a job that only the rendered whitelist allows, with the environment of the unit', async () => {
    const id = await h.startJob({ command: 'cookbook-echo', nodes: ['web1'], capture_output: true });
    const job = await h.waitForJob(id);
    expect(job['status']).to.equal('complete');
    expect(job['nodes']).to.deep.equal({ succeeded: ['web1'] });
    expect(await h.stdout(id, 'web1')).to.equal('cookbook-from-the-unit\n');
  });

  it('runs regex and lock entries (which the original cookbook could not render)', async () => {
    const greet = await h.startJob({ command: 'greet world', nodes: ['web1'], capture_output: true });
    expect((await h.waitForJob(greet))['nodes']).to.deep.equal({ succeeded: ['web1'] });
    expect(await h.stdout(greet, 'web1')).to.equal('hello world\n');
    const locked = await h.startJob({ command: 'locked', nodes: ['web1'], capture_output: true });
    expect((await h.waitForJob(locked))['status']).to.equal('complete');
    expect(await h.stdout(locked, 'web1')).to.equal('locked\n');
  });

  it('nacks a command outside the whitelist', async () => {
    const id = await h.startJob({ command: 'rm -rf /', nodes: ['web1'] });
    const job = await h.waitForJob(id);
    expect(job['status']).to.equal('quorum_failed');
    expect(job['nodes']).to.deep.equal({ nacked: ['web1'] });
  });

  it('a whitelist change converges to a reload, and the agent takes it on SIGHUP without a restart', async () => {
    const before = await h.startJob({ command: 'added', nodes: ['web1'] });
    expect((await h.waitForJob(before))['status']).to.equal('quorum_failed');
    const report = await converge(attributes({ added: 'echo added' }), { root, platformFamily: 'debian' });
    expect(report.resources.filter((r) => r.updated).map((r) => `${r.name} ${r.action}`)).to.deep.equal([
      'template[/etc/chef/push-jobs-client.rb] create',
      'service[chef-push-jobs-client] reload',
    ]);
    const actions = readFileSync(join(root, 'var/lib/push-jobs-cookbook/service-actions.log'), 'utf8')
      .trim()
      .split('\n');
    expect(actions.at(-1)).to.equal('systemd reload chef-push-jobs-client');
    // Do what `systemctl reload` does with the unit's ExecReload.
    const pid = agent!.pid;
    agent!.kill('SIGHUP');
    await until(() => agentLog().includes('Reloaded allow-list'), 'the allow-list reload');
    const id = await h.startJob({ command: 'added', nodes: ['web1'], capture_output: true });
    expect((await h.waitForJob(id))['status']).to.equal('complete');
    expect(await h.stdout(id, 'web1')).to.equal('added\n');
    expect(agent!.pid).to.equal(pid);
    expect(agent!.exitCode).to.equal(null);
  });

  it('converging again changes nothing', async () => {
    const report = await converge(attributes({ added: 'echo added' }), { root, platformFamily: 'debian' });
    expect(report.updatedCount).to.equal(0);
    expect(report.resources.map((r) => r.name)).to.include('push_jobs_package[@push-jobs/agent]');
  });
});
