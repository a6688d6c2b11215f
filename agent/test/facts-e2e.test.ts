// Node facts end to end: the real `push-jobs-client` executable against the real push server
// writes its node object (collected facts, configured tags/roles/attributes, allowed command
// names), search finds it, a config change follows, and others' attributes survive.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { until, waitForValue } from '@push-jobs/testing';
import { parseOsRelease } from '../src/facts/index.js';
import { ORG, PushTestServer } from './helpers/agent-harness.js';

const BIN = fileURLToPath(new URL('../bin/push-jobs-client.js', import.meta.url));
const HOST_PLATFORM = parseOsRelease(readFileSync('/etc/os-release', 'utf8')).ID ?? 'unknown';

interface NodeJson {
  name: string;
  chef_environment: string;
  run_list: string[];
  normal: Record<string, unknown>;
  automatic: Record<string, unknown>;
}

describe('node facts written by the real agent process', function () {
  this.timeout(60_000);
  let h: PushTestServer;
  let dir: string;
  const children: ChildProcess[] = [];

  before(async () => {
    h = await PushTestServer.start();
    dir = mkdtempSync(join(tmpdir(), 'pj-facts-e2e-'));
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await Promise.all(
      children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)),
    );
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function config(node: string, extra: Record<string, unknown>): Promise<string> {
    const path = join(dir, `${node}.json`);
    const key = (await h.agentOptions(node)).client_key;
    const write = (more: Record<string, unknown>): void =>
      writeFileSync(
        path,
        JSON.stringify({
          chef_server_url: h.orgUrl,
          node_name: node,
          client_key: key,
          file_dir: join(dir, `files-${node}`),
          file_cache_path: dir,
          whitelist: {
            'chef-client': 'chef-client',
            uptime: 'uptime',
            '/^restart (\\w+)$/': 'systemctl restart \\1',
          },
          ...more,
        }),
      );
    write(extra);
    return path;
  }

  function start(path: string): { child: ChildProcess; out: () => string } {
    const child = spawn(process.execPath, [BIN, '-c', path], {
      env: { ...process.env, PUSH_JOBS_CLIENT_CONFIG_POLL_MS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    return { child, out: () => out };
  }

  const getNode = async (name: string): Promise<NodeJson | undefined> => {
    const res = await h.request('GET', `/organizations/${ORG}/nodes/${name}`);
    return res.status === 200 ? (res.json as NodeJson) : undefined;
  };

  const search = async (q: string): Promise<string[]> => {
    const res = await h.request('GET', `/organizations/${ORG}/search/node?q=${encodeURIComponent(q)}`);
    expect(res.status, JSON.stringify(res.json)).to.equal(200);
    return (res.json as { rows: { name: string }[] }).rows.map((r) => r.name).sort();
  };

  it('writes facts and configured keys, is searchable, follows a reload and keeps what others set', async () => {
    // Someone else's data on the node before the agent starts.
    const pre = await h.request('POST', `/organizations/${ORG}/nodes`, {
      name: 'fweb1',
      run_list: ['recipe[base]'],
      normal: { owner: 'ops', push_jobs: { whitelist: { uptime: 'uptime' } } },
    });
    expect(pre.status).to.equal(201);
    const path = await config('fweb1', {
      tags: ['web', 'canary'],
      roles: ['web'],
      chef_environment: 'production',
      policy_name: 'webapp',
      policy_group: 'prod',
      attributes: { team: 'payments' },
    });
    const agent = start(path);
    const node = await waitForValue(
      () => `fweb1 node with facts; agent output:\n${agent.out()}`,
      async () => {
        const n = await getNode('fweb1');
        return n?.automatic.platform === undefined ? undefined : n;
      },
      30_000,
    );
    expect(node.automatic.platform).to.equal(HOST_PLATFORM);
    expect(node.automatic.os).to.equal('linux');
    expect(node.automatic.hostname).to.be.a('string');
    expect((node.automatic.kernel as { machine: string }).machine).to.be.a('string');
    expect((node.automatic.cpu as { total: number }).total).to.be.greaterThan(0);
    expect(node.automatic.roles).to.deep.equal(['web']);
    expect((node.automatic.push_jobs as { allowed_commands: string[] }).allowed_commands).to.deep.equal([
      'chef-client',
      'uptime',
      '/^restart (\\w+)$/',
    ]);
    expect(node.chef_environment).to.equal('production');
    expect(node.run_list).to.deep.equal(['recipe[base]', 'role[web]']);
    expect(node.normal).to.deep.equal({
      owner: 'ops',
      push_jobs: { whitelist: { uptime: 'uptime' } },
      team: 'payments',
      tags: ['web', 'canary'],
      policy_name: 'webapp',
      policy_group: 'prod',
    });

    expect(await search(`platform:${HOST_PLATFORM} AND tags:web`)).to.deep.equal(['fweb1']);
    expect(await search('role:web')).to.deep.equal(['fweb1']);
    expect(await search('roles:web')).to.deep.equal(['fweb1']);
    expect(await search('chef_environment:production AND policy_group:prod')).to.deep.equal(['fweb1']);
    expect(await search('os:linux AND cpu_total:*')).to.deep.equal(['fweb1']);

    // A reload (SIGHUP) with other tags and no roles: the node object follows.
    const cfg = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    writeFileSync(
      path,
      JSON.stringify({ ...cfg, tags: ['api'], roles: undefined, whitelist: { uptime: 'uptime' } }),
    );
    agent.child.kill('SIGHUP');
    const after = await waitForValue(
      () => `tags api; agent output:\n${agent.out()}`,
      async () => {
        const n = await getNode('fweb1');
        return (n?.normal.tags as string[] | undefined)?.[0] === 'api' ? n : undefined;
      },
      30_000,
    );
    expect(after.run_list).to.deep.equal(['recipe[base]']);
    expect(after.automatic).to.not.have.property('roles');
    expect((after.automatic.push_jobs as { allowed_commands: string[] }).allowed_commands).to.deep.equal([
      'uptime',
    ]);
    expect(after.normal.owner).to.equal('ops');
    expect(await search(`platform:${HOST_PLATFORM} AND tags:web`)).to.deep.equal([]);
    expect(await search('tags:api')).to.deep.equal(['fweb1']);
    expect(await search('role:web OR roles:web')).to.deep.equal([]);
    agent.child.kill('SIGTERM');
    await new Promise((r) => agent.child.once('exit', r));
  });

  it('creates its node when there is none; report_facts false writes nothing', async () => {
    const created = start(await config('fnew', { tags: ['fresh'] }));
    await until(
      async () => (await search('tags:fresh')).includes('fnew'),
      () => `fnew searchable; agent output:\n${created.out()}`,
      30_000,
    );
    const off = start(await config('foff', { tags: ['quiet'], report_facts: false }));
    await until(() => off.out().includes('Node facts reporting is off'), 'the off line', 30_000);
    await until(() => h.isAvailable('foff'), 'foff available', 30_000);
    expect(await getNode('foff')).to.equal(undefined);
    expect(await search('tags:quiet')).to.deep.equal([]);
  });
});
