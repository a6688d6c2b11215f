/**
 * The real test: builds a PushJobsFleet under mocks whose commands run for real on this
 * machine (LocalHost), under a temp root with init system `none`: the server and one agent are
 * installed from `npm pack` tarballs, the server answers, the agent registers and shows
 * available, a job runs to `complete`; then the delete scripts run and everything is gone.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { isFinalJobState } from '@push-jobs/protocol';
import {
  freePorts,
  isAlive,
  signedRequest,
  until,
  waitForValue,
  type SignedResponse,
} from '@push-jobs/testing';
import { expect } from 'chai';
import { PushJobsFleet } from '../src/index.js';
import { filesUnder, MockRecorder, promiseOf } from './harness.js';
import { LocalHost, sessionEnvironment, type RunResult } from './host-runner.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const PACKAGES = ['@push-jobs/protocol', '@push-jobs/server', '@push-jobs/agent', '@push-jobs/cookbook'];

describe('PushJobsFleet, run for real on this machine (temp root, no systemd)', function () {
  this.timeout(20 * 60_000);

  let packs: string;
  let root: string;
  let home: string;
  let host: LocalHost;
  let fleet: PushJobsFleet;
  let apiPort: number;
  let adminKey: string;
  let pids: number[] = [];
  let started: number;
  let destroyed = false;

  const org = 'acme';
  const pidFiles = (): string[] => [
    join(root, 'run/push-jobs/push-jobs-server.pid'),
    join(root, 'run/push-jobs/chef-push-jobs-client.pid'),
  ];

  /** A request signed as the admin, to the server the fleet installed. */
  function api(method: string, path: string, body?: unknown, accept?: string): Promise<SignedResponse> {
    const signer = { baseUrl: `http://127.0.0.1:${apiPort}`, userId: 'admin', privateKey: adminKey };
    return signedRequest(signer, method, path, body, accept);
  }

  before(async () => {
    packs = mkdtempSync(join(tmpdir(), 'pj-packs-'));
    root = mkdtempSync(join(tmpdir(), 'pj-root-'));
    home = mkdtempSync(join(tmpdir(), 'pj-home-'));
    execFileSync(
      'npm',
      ['pack', ...PACKAGES.flatMap((p) => ['-w', p]), '--pack-destination', packs, '--silent'],
      {
        cwd: REPO,
        env: sessionEnvironment(),
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const tarballs = readdirSync(packs).map((f) => join(packs, f));
    const [api, heartbeat, command] = await freePorts(3);
    apiPort = api!;

    host = new LocalHost(home);
    const recorder = new MockRecorder(host.hook);
    await recorder.install();
    started = Date.now();
    fleet = new PushJobsFleet('it', {
      server: {
        connection: { host: '127.0.0.1', user: 'root' },
        root,
        initSystem: 'none',
        org,
        apiPort,
        heartbeatPort: heartbeat!,
        commandPort: command!,
        heartbeatInterval: 500,
        logLevel: 'warn',
        packageSource: { tarballs },
      },
      whitelist: { hello: 'echo hello from push jobs' },
      attributes: { logging_level: 'debug' },
      hosts: [{ nodeName: 'node-a', connection: { host: '127.0.0.1', user: 'root' } }],
    });
    try {
      adminKey = await promiseOf(fleet.adminKey);
      await promiseOf(fleet.nodeNames);
    } catch (err) {
      const last = host.runs[host.runs.length - 1];
      throw new Error(
        `provisioning failed: ${(err as Error).message}\nlast step: ${last?.name} ${last?.stderr}`,
      );
    }
    pids = pidFiles()
      .filter((f) => existsSync(f))
      .map((f) => Number(readFileSync(f, 'utf8').trim()));
    process.stdout.write(`      (provisioned in ${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  });

  after(async () => {
    if (host !== undefined && !destroyed) await host.destroy();
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    for (const dir of [packs, root, home])
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('ran each step once, in dependency order, and every one succeeded', () => {
    const creates = host.runs.filter((r) => r.phase === 'create');
    expect(creates.filter((r) => r.code !== 0).map((r) => `${r.name}: ${r.stderr}`)).to.deep.equal([]);
    const order = creates.map((r) => r.name);
    const index = (n: string): number => order.indexOf(n);
    for (const [before, after] of [
      ['it-server-node', 'it-server-install'],
      ['it-server-install', 'it-server-config'],
      ['it-server-config', 'it-server-init'],
      ['it-server-init', 'it-server-service'],
      ['it-server-service', 'it-server-keys'],
      ['it-server-keys', 'it-node-a-client'],
      ['it-node-a-install', 'it-node-a-client'],
      ['it-node-a-client', 'it-node-a-converge'],
      ['it-node-a-converge', 'it-node-a-service'],
    ]) {
      expect(index(before!), `${before} ran`).to.be.greaterThan(-1);
      expect(index(before!), `${before} before ${after}`).to.be.lessThan(index(after!));
    }
    expect(new Set(order).size).to.equal(order.length);
  });

  it('outputs the real keys as secrets', async () => {
    expect(await pulumi.isSecret(fleet.adminKey)).to.equal(true);
    expect(createPrivateKey(adminKey).asymmetricKeyType).to.equal('rsa');
    const validatorKey = await promiseOf(fleet.server.validatorKey);
    expect(createPrivateKey(validatorKey).asymmetricKeyType).to.equal('rsa');
    expect(await promiseOf(fleet.server.serverPublicKey)).to.match(/^-----BEGIN PUBLIC KEY-----/);
    expect(await promiseOf(fleet.chefServerUrl)).to.equal(`http://127.0.0.1:${apiPort}/organizations/${org}`);
  });

  it('the server answers /pushy/_status', async () => {
    const res = await fetch(`http://127.0.0.1:${apiPort}/pushy/_status`);
    expect(res.status).to.equal(200);
    expect(((await res.json()) as { status: string }).status).to.equal("it's alive");
  });

  it('the agent registered its client and node, and its key stayed on the host (mode 0600)', async () => {
    const client = await api('GET', `/organizations/${org}/clients/node-a`);
    expect(client.status).to.equal(200);
    const node = await api('GET', `/organizations/${org}/nodes/node-a`);
    expect(node.status).to.equal(200);
    expect((node.json as { normal: unknown }).normal).to.deep.equal({
      push_jobs: { whitelist: { 'chef-client': 'chef-client', hello: 'echo hello from push jobs' } },
    });
    expect(statSync(join(root, 'etc/chef/client.pem')).mode & 0o777).to.equal(0o600);
    const configPath = await promiseOf(fleet.agents['node-a']!.configPath);
    expect(configPath).to.equal(join(root, 'etc/chef/push-jobs-client.rb'));
    expect(readFileSync(configPath, 'utf8')).to.include('hello');
  });

  it('the agent shows available', async () => {
    await until(
      async () => {
        const res = await api('GET', `/organizations/${org}/pushy/node_states/node-a`);
        return (res.json as { availability?: string } | undefined)?.availability === 'available';
      },
      'node-a available',
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  });

  it('a job runs to complete on the node', async () => {
    const created = await api('POST', `/organizations/${org}/pushy/jobs`, {
      command: 'hello',
      nodes: ['node-a'],
      capture_output: true,
    });
    expect(created.status).to.equal(201);
    const id = (created.json as { uri: string }).uri.split('/').pop()!;
    const job = await waitForValue(
      `job ${id} to finish`,
      async () => {
        const got = (await api('GET', `/organizations/${org}/pushy/jobs/${id}`)).json as
          { status: string; nodes: Record<string, string[]> } | undefined;
        return isFinalJobState(got?.status) ? got : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(job.status).to.equal('complete');
    expect(job.nodes).to.deep.equal({ succeeded: ['node-a'] });
    const output = await api(
      'GET',
      `/organizations/${org}/pushy/jobs/${id}/output/node-a/stdout`,
      undefined,
      'application/octet-stream',
    );
    expect(output.text).to.equal('hello from push jobs\n');
  });

  it('delete stops the server and the agent, unregisters the node and removes every file', async () => {
    expect(pids).to.have.length(2);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid} runs before delete`).to.equal(true);
    const clientBefore = await api('GET', `/organizations/${org}/clients/node-a`);
    expect(clientBefore.status).to.equal(200);
    const deleteStarted = Date.now();
    const failures: RunResult[] = await host.destroy();
    destroyed = true;
    const slowest = host.runs
      .filter((r) => r.phase === 'delete')
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 3)
      .map((r) => `${r.name} ${(r.ms / 1000).toFixed(1)} s`);
    process.stdout.write(
      `      (deleted in ${((Date.now() - deleteStarted) / 1000).toFixed(0)} s; slowest: ${slowest.join(', ')})\n`,
    );
    expect(failures.map((f) => `${f.name}: ${f.stderr}`)).to.deep.equal([]);
    const deletes = host.runs.filter((r) => r.phase === 'delete').map((r) => r.name);
    // The agent goes first (it depends on the server), the server's service before its data.
    expect(deletes.indexOf('it-node-a-client')).to.be.lessThan(deletes.indexOf('it-server-service'));
    expect(deletes.indexOf('it-server-service')).to.be.lessThan(deletes.indexOf('it-server-init'));
    expect(host.runs.find((r) => r.name === 'it-node-a-client' && r.phase === 'delete')?.stdout).to.include(
      'deleted client node-a',
    );
    for (const pid of pids) expect(isAlive(pid), `pid ${pid} stopped`).to.equal(false);
    expect(filesUnder(root)).to.deep.equal([]);
  });
});
