// The real `push-jobs-client` executable (bin/push-jobs-client.js, built lib) as a child process
// against the real push server: jobs, nack, abort, allow-list reload (SIGHUP and file watch),
// SIGTERM, and the start-up errors.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { until } from '@push-jobs/testing';
import { ORG, PushTestServer } from './helpers/agent-harness.js';

const BIN = fileURLToPath(new URL('../bin/push-jobs-client.js', import.meta.url));

interface Client {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  exit: Promise<number | null>;
}

function startClient(args: readonly string[], env: Record<string, string> = {}): Client {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out, exit };
}

async function runClient(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const c = startClient(args);
  const code = await c.exit;
  return { code, ...c.out };
}

/** Processes below `root` (pid and comm), from /proc. */
function descendants(root: number): { pid: number; comm: string }[] {
  const parent = new Map<number, { ppid: number; comm: string }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      if (fields[0] === 'Z') continue;
      parent.set(Number(name), { ppid: Number(fields[1]), comm });
    } catch {
      // gone meanwhile
    }
  }
  const result: { pid: number; comm: string }[] = [];
  for (const [pid, info] of parent) {
    for (let p = info.ppid, hops = 0; p > 1 && hops < 50; p = parent.get(p)?.ppid ?? 0, hops++) {
      if (p === root) {
        result.push({ pid, comm: info.comm });
        break;
      }
    }
  }
  return result;
}

describe('push-jobs-client executable', function () {
  this.timeout(60_000);

  describe('start-up errors and information', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'pj-daemon-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('--help prints the usage and exits 0', async () => {
      const r = await runClient(['--help']);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(/^Usage: push-jobs-client \(options\)/);
      expect(r.stdout).to.include('--config CONFIG');
    });

    it('--version prints the package version and exits 0', async () => {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
        version: string;
      };
      const r = await runClient(['--version']);
      expect(r.code).to.equal(0);
      expect(r.stdout.trim()).to.equal(`Push Client: ${pkg.version}`);
    });

    it('an unknown flag exits 2 with one line on stderr', async () => {
      const r = await runClient(['--bogus']);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include("Unknown option '--bogus'");
      expect(r.stderr.trim().split('\n')).to.have.length(1);
    });

    it('a malformed config file exits 1 naming the file and line', async () => {
      const file = join(dir, 'bad.rb');
      writeFileSync(
        file,
        'node_name "web1"\nchef_server_url "http://x/organizations/acme"\nwhitelist({"a" =>\n',
      );
      const r = await runClient(['-c', file]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include(`${file}:4:`);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
    });

    it('a missing config file exits 1', async () => {
      const r = await runClient(['-c', join(dir, 'nope.rb')]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include('nope.rb');
    });
  });

  describe('against the real push server', () => {
    let h: PushTestServer;
    let dir: string;
    const clients: Client[] = [];

    function configText(node: string, keyPath: string, extra: Record<string, string> = {}): string {
      const entries = {
        hello: 'echo hello from $CHEF_PUSH_NODE_NAME',
        slow: 'sleep 60',
        greet: 'echo "$PUSH_DEMO_GREETING"',
        ...extra,
      };
      const list = Object.entries(entries)
        .map(([k, v]) => `  ${JSON.stringify(k)} => ${JSON.stringify(v)}`)
        .join(',\n');
      return [
        // An environment line as the cookbook renders environment_variables.
        "PUSH_DEMO_GREETING='set by the config file'",
        `chef_server_url "${h.apiUrl}/organizations/${ORG}"`,
        `node_name "${node}"`,
        `client_key "${keyPath}"`,
        `file_dir "${join(dir, `files-${node}`)}"`,
        `file_cache_path "${dir}"`,
        `whitelist({\n${list}\n})`,
        '',
      ].join('\n');
    }

    /** Registers `node`, writes its config and starts the executable; waits until available. */
    async function startNode(
      node: string,
      env: Record<string, string> = {},
    ): Promise<{ client: Client; config: string; key: string }> {
      const key = (await h.agentOptions(node)).client_key;
      const config = join(dir, `${node}.rb`);
      writeFileSync(config, configText(node, key));
      const client = startClient(['-c', config], env);
      clients.push(client);
      await until(() => h.isAvailable(node) || client.child.exitCode !== null, `${node} available`, 20_000);
      if (!h.isAvailable(node)) throw new Error(`client exited: ${client.out.stdout}${client.out.stderr}`);
      return { client, config, key };
    }

    /** The job's stored stdout for `node`, as text. */
    const output = (id: string, node: string): Promise<string> => h.stdout(id, node);

    before(async () => {
      h = await PushTestServer.start();
      dir = mkdtempSync(join(tmpdir(), 'pj-daemon-'));
    });

    after(async () => {
      for (const c of clients) if (c.child.exitCode === null) c.child.kill('SIGKILL');
      await Promise.all(clients.map((c) => c.exit));
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    });

    describe('one agent (config watch disabled)', () => {
      let web1: { client: Client; config: string; key: string };
      let pid: number;

      before(async () => {
        web1 = await startNode('web1', { PUSH_JOBS_CLIENT_CONFIG_POLL_MS: '0' });
        pid = web1.client.child.pid!;
      });

      it('logs the start-up lines with the node prefix and never the key', () => {
        expect(web1.client.out.stdout).to.include('[web1] Started client.');
        expect(web1.client.out.stdout).to.include(`[web1] Using private key: ${web1.key}`);
        expect(web1.client.out.stdout).to.not.include('PRIVATE KEY');
      });

      it('runs an allow-listed job with captured output', async () => {
        const id = await h.startJob({ command: 'hello', nodes: ['web1'], capture_output: true });
        const job = await h.waitForJob(id);
        expect(job['status']).to.equal('complete');
        expect(job['nodes']).to.deep.equal({ succeeded: ['web1'] });
        expect(await output(id, 'web1')).to.equal('hello from web1\n');
      });

      it('gives jobs the environment variables of the config file', async () => {
        const id = await h.startJob({ command: 'greet', nodes: ['web1'], capture_output: true });
        expect((await h.waitForJob(id))['status']).to.equal('complete');
        expect(await output(id, 'web1')).to.equal('set by the config file\n');
      });

      it('nacks a command that is not allow-listed: quorum_failed', async () => {
        const id = await h.startJob({ command: 'rm -rf /tmp/x', nodes: ['web1'] });
        const job = await h.waitForJob(id);
        expect(job['status']).to.equal('quorum_failed');
        expect(job['nodes']).to.deep.equal({ nacked: ['web1'] });
      });

      it('aborts a running job and kills its process', async () => {
        const id = await h.startJob({ command: 'slow', nodes: ['web1'] });
        let sleeper: { pid: number } | undefined;
        await until(
          () => (sleeper = descendants(pid).find((p) => p.comm === 'sleep')) !== undefined,
          'sleep',
        );
        const res = await h.request('POST', `/organizations/${ORG}/pushy/jobs/${id}/abort`);
        expect(res.status).to.be.lessThan(300);
        const job = await h.waitForJob(id);
        expect(job['status']).to.equal('aborted');
        expect(job['nodes']).to.deep.equal({ aborted: ['web1'] });
        await until(
          () => !existsSync(`/proc/${sleeper!.pid}`) || descendants(pid).length === 0,
          'sleep gone',
        );
        expect(descendants(pid).filter((p) => p.comm === 'sleep')).to.deep.equal([]);
      });

      it('SIGHUP reloads the allow-list without a restart', async () => {
        const before = await h.startJob({ command: 'added', nodes: ['web1'] });
        expect((await h.waitForJob(before))['status']).to.equal('quorum_failed');
        writeFileSync(web1.config, configText('web1', web1.key, { added: 'echo added' }));
        await new Promise((r) => setTimeout(r, 1000));
        // The watch is off: the new entry is not known yet.
        expect(web1.client.out.stdout).to.not.include('Reloaded allow-list');
        web1.client.child.kill('SIGHUP');
        await until(() => web1.client.out.stdout.includes('Reloaded allow-list'), 'the reload');
        const id = await h.startJob({ command: 'added', nodes: ['web1'], capture_output: true });
        const job = await h.waitForJob(id);
        expect(job['status']).to.equal('complete');
        expect(await output(id, 'web1')).to.equal('added\n');
        expect(web1.client.child.pid).to.equal(pid);
        expect(web1.client.child.exitCode).to.equal(null);
      });

      it('SIGHUP with a broken config file keeps the current allow-list', async () => {
        writeFileSync(web1.config, 'whitelist({"x" =>\n');
        web1.client.child.kill('SIGHUP');
        await until(() => web1.client.out.stdout.includes('Keeping the current allow-list'), 'the error');
        const id = await h.startJob({ command: 'added', nodes: ['web1'] });
        expect((await h.waitForJob(id))['status']).to.equal('complete');
      });

      it('SIGTERM shuts down gracefully with exit 0', async () => {
        web1.client.child.kill('SIGTERM');
        expect(await web1.client.exit).to.equal(0);
        expect(web1.client.out.stdout).to.include('received TERM, shutting down');
        expect(web1.client.out.stdout).to.include('[web1] Stopped client.');
        await until(() => !h.isAvailable('web1'), 'web1 unavailable', 15_000);
      });
    });

    it('reloads the allow-list when the config file changes (no signal)', async () => {
      const web2 = await startNode('web2', { PUSH_JOBS_CLIENT_CONFIG_POLL_MS: '100' });
      const pid = web2.client.child.pid;
      writeFileSync(web2.config, configText('web2', web2.key, { added: 'echo added' }));
      await until(() => web2.client.out.stdout.includes('Reloaded allow-list'), 'the reload');
      const id = await h.startJob({ command: 'added', nodes: ['web2'], capture_output: true });
      const job = await h.waitForJob(id);
      expect(job['status']).to.equal('complete');
      expect(await output(id, 'web2')).to.equal('added\n');
      expect(web2.client.child.pid).to.equal(pid);
      web2.client.child.kill('SIGINT');
      expect(await web2.client.exit).to.equal(0);
    });
  });
});
