/**
 * The cluster's server steps, run for real on this machine: a PushJobsCluster of two instances
 * under mocks whose commands run here (LocalHost), each under a temp root with init system
 * `none`, on one PostgreSQL schema, behind a small round-robin TCP load balancer made from the
 * cluster's `apiBackends`. The Node.js and npm install steps are not run (offline and fast): each
 * root's install prefix links to this repository's built server package instead. Then the delete
 * scripts run: the joining instance leaves the org, the first removes it, no file is left.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { signRequest } from '@push-jobs/protocol';
import { z85Encode } from '@push-jobs/protocol/internal';
import {
  dropSchema,
  freePorts,
  isAlive,
  RoundRobinBalancer,
  schemaName,
  schemaUrl,
  uniqueOrg,
} from '@push-jobs/testing';
import { expect } from 'chai';
import { PushJobsCluster } from '../src/index.js';
import { serverLayout } from '../src/host/layout.js';
import { filesUnder, MockRecorder, promiseOf, type Recorded } from './harness.js';
import { LocalHost, sessionEnvironment } from './host-runner.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const SERVER_BIN = join(REPO, 'server/bin/push-jobs-server.js');

/** A signed request on a connection of its own (so a load balancer sees each one). */
function signed(
  base: string,
  signer: { userId: string; privateKey: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const text = body === undefined ? '' : JSON.stringify(body);
  const url = new URL(base + path);
  const headers = {
    ...signRequest({ method, path: url.pathname, body: text, ...signer }),
    accept: 'application/json',
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
  };
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      let out = '';
      res.setEncoding('utf8').on('data', (d: string) => (out += d));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(out);
        } catch {
          json = out;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end(text);
  });
}

describe('PushJobsCluster, its server steps run for real on this machine (two instances, PostgreSQL)', function () {
  this.timeout(5 * 60_000);

  const org = uniqueOrg('rc');
  const schema = schemaName('pj_pulumi_');
  const databaseUrl = schemaUrl(schema);
  let roots: string[] = [];
  let home: string;
  let host: LocalHost;
  let cluster: PushJobsCluster;
  let lb: RoundRobinBalancer;
  let lbPort: number;
  let ports: number[];
  let adminKey: string;
  let pids: number[] = [];
  const skipped: string[] = [];
  let destroyed = false;

  before(async () => {
    roots = [mkdtempSync(join(tmpdir(), 'pj-root-a-')), mkdtempSync(join(tmpdir(), 'pj-root-b-'))];
    home = mkdtempSync(join(tmpdir(), 'pj-home-'));
    // What the install step would leave: the server package in the prefix (here, this repository's).
    for (const root of roots) {
      const scope = join(serverLayout(root, 'push-jobs-server').prefix, 'node_modules/@push-jobs');
      mkdirSync(scope, { recursive: true });
      symlinkSync(join(REPO, 'server'), join(scope, 'server'));
    }
    ports = await freePorts(7);
    lbPort = ports[6]!;

    host = new LocalHost(home);
    const hook = async (r: Recorded): Promise<Record<string, unknown>> => {
      if (/-(node|install)$/.test(r.name) || r.type === 'command:remote:CopyFile') {
        skipped.push(r.name);
        return { stdout: `${r.name} skipped\n`, stderr: '' };
      }
      return host.hook(r);
    };
    const recorder = new MockRecorder(hook);
    await recorder.install();
    const local = { host: '127.0.0.1', user: 'root' };
    cluster = new PushJobsCluster('rc', {
      storage: { postgresUrl: databaseUrl },
      loadBalancerUrl: `http://localhost:${lbPort}`,
      org,
      initSystem: 'none',
      heartbeatInterval: 500,
      logLevel: 'warn',
      leaseSeconds: 6,
      instances: [
        {
          instanceName: 'a',
          connection: local,
          root: roots[0]!,
          apiPort: ports[0]!,
          heartbeatPort: ports[1]!,
          commandPort: ports[2]!,
        },
        {
          instanceName: 'b',
          connection: local,
          root: roots[1]!,
          apiPort: ports[3]!,
          heartbeatPort: ports[4]!,
          commandPort: ports[5]!,
        },
      ],
    });
    // The load balancer is made from the cluster's outputs, as a program would.
    lb = await RoundRobinBalancer.start(await promiseOf(cluster.apiBackends), lbPort);
    try {
      adminKey = await promiseOf(cluster.adminKey);
      await promiseOf(
        pulumi.all([
          cluster.chefServerUrl,
          cluster.loadBalancerRequirements,
          ...cluster.instances.map((s) => s.serverPublicKey),
        ]),
      );
    } catch (err) {
      const failed = host.runs.find((r) => r.code !== 0) ?? host.runs[host.runs.length - 1];
      throw new Error(
        `provisioning failed: ${(err as Error).message}\nstep: ${failed?.name} ${failed?.stderr}`,
      );
    }
    pids = roots
      .map((root) => join(root, 'run/push-jobs/push-jobs-server.pid'))
      .filter((f) => existsSync(f))
      .map((f) => Number(readFileSync(f, 'utf8').trim()));
  });

  after(async () => {
    if (host !== undefined && !destroyed) await host.destroy();
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await lb?.close();
    for (const dir of [...roots, home]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    await dropSchema(schema);
  });

  it('ran each step once, the joining instance after the first is up, and every one succeeded', () => {
    expect(skipped.sort()).to.deep.equal(['rc-a-install', 'rc-a-node', 'rc-b-install', 'rc-b-node']);
    const creates = host.runs.filter((r) => r.phase === 'create');
    expect(creates.filter((r) => r.code !== 0).map((r) => `${r.name}: ${r.stderr}`)).to.deep.equal([]);
    const order = creates.map((r) => r.name);
    expect(new Set(order).size).to.equal(order.length);
    expect(order).to.have.members([
      'rc-a-config',
      'rc-a-init',
      'rc-a-service',
      'rc-a-keys',
      'rc-a-public-key',
      'rc-b-config',
      'rc-b-init',
      'rc-b-service',
      'rc-b-public-key',
    ]);
    expect(order.indexOf('rc-a-service')).to.be.lessThan(order.indexOf('rc-b-init'));
    expect(creates.find((r) => r.name === 'rc-b-init')?.stdout).to.equal(
      `joins the cluster: org ${org} is in the shared database (initialized by rc-a)\n`,
    );
  });

  it("wrote each instance's config: cluster mode, its name, its ports, the shared database (mode 0600)", () => {
    for (const [i, root] of roots.entries()) {
      const file = join(root, 'etc/push-jobs/server.json');
      expect(statSync(file).mode & 0o777).to.equal(0o600);
      expect(JSON.parse(readFileSync(file, 'utf8'))).to.deep.include({
        server_name: '127.0.0.1',
        api_port: ports[i * 3],
        server_heartbeat_port: ports[i * 3 + 1],
        command_port: ports[i * 3 + 2],
        database_url: databaseUrl,
        cluster: true,
        instance_name: ['a', 'b'][i],
        cluster_lease_seconds: 6,
      });
    }
    // Only the first holds the admin and validator keys.
    expect(existsSync(join(roots[0]!, `var/lib/push-jobs/keys/${org}-validator.pem`))).to.equal(true);
    expect(existsSync(join(roots[1]!, 'var/lib/push-jobs/keys/admin.pem'))).to.equal(false);
  });

  it("outputs each instance's server public key (what signs its heartbeats)", async () => {
    const [a, b] = await Promise.all(cluster.instances.map((s) => promiseOf(s.serverPublicKey)));
    expect(a).to.match(/^-----BEGIN PUBLIC KEY-----/);
    expect(b).to.match(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('every backend passes the health check the load balancer is told to make', async () => {
    const path = await promiseOf(cluster.healthCheckPath);
    for (const backend of await promiseOf(cluster.apiBackends)) {
      const res = await fetch(`http://${backend}${path}`);
      expect(res.status, backend).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^application\/json/);
      expect(((await res.json()) as { status: string }).status).to.equal("it's alive");
    }
    expect(await promiseOf(cluster.loadBalancerRequirements)).to.include(`GET ${path} (http)`);
  });

  it('through the load balancer, both instances serve the one org with the same admin key', async () => {
    const base = await promiseOf(cluster.chefServerUrl);
    expect(base).to.equal(`http://localhost:${lbPort}/organizations/${org}`);
    lb.connections.length = 0;
    for (let i = 0; i < 4; i++) {
      const res = await signed(base, { userId: 'admin', privateKey: adminKey }, 'GET', '/clients');
      expect(res.status).to.equal(200);
      expect(Object.keys(res.json as object)).to.include(`${org}-validator`);
    }
    expect(new Set(lb.connections)).to.deep.equal(new Set(await promiseOf(cluster.apiBackends)));
  });

  it('a client the validator registers through the load balancer gets each instance its own ZeroMQ ports', async () => {
    const base = await promiseOf(cluster.chefServerUrl);
    const validator = { userId: `${org}-validator`, privateKey: await promiseOf(cluster.validatorKey) };
    const made = await signed(base, validator, 'POST', '/clients', { name: 'node-x', create_key: true });
    expect(made.status).to.equal(201);
    const key = (made.json as { chef_key: { private_key: string } }).chef_key.private_key;
    const [a, b] = await promiseOf(cluster.apiBackends);
    for (const [backend, heartbeat, command] of [
      [a, ports[1], ports[2]],
      [b, ports[4], ports[5]],
    ] as const) {
      const res = await signed(
        `http://${backend}/organizations/${org}`,
        { userId: 'node-x', privateKey: key },
        'GET',
        `/pushy/config/node-x?ccpk=${encodeURIComponent(z85Encode(randomBytes(32)))}`,
      );
      expect(res.status, backend).to.equal(200);
      const doc = res.json as {
        host: string;
        push_jobs: { heartbeat: { out_addr: string; command_addr: string } };
      };
      expect(doc.host).to.equal('127.0.0.1');
      expect(doc.push_jobs.heartbeat.out_addr).to.equal(`tcp://127.0.0.1:${heartbeat}`);
      expect(doc.push_jobs.heartbeat.command_addr).to.equal(`tcp://127.0.0.1:${command}`);
    }
    expect(await promiseOf(cluster.heartbeatAddresses)).to.deep.equal([
      `tcp://127.0.0.1:${ports[1]}`,
      `tcp://127.0.0.1:${ports[4]}`,
    ]);
  });

  it('delete: the joining instance leaves the org, the first removes it; processes and files are gone', async () => {
    expect(pids).to.have.length(2);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid} runs before delete`).to.equal(true);
    const failures = await host.destroy();
    destroyed = true;
    expect(failures.map((f) => `${f.name}: ${f.stderr}`)).to.deep.equal([]);
    const deletes = host.runs.filter((r) => r.phase === 'delete').map((r) => r.name);
    expect(deletes.indexOf('rc-b-init')).to.be.lessThan(deletes.indexOf('rc-a-service'));
    expect(host.runs.find((r) => r.name === 'rc-b-init' && r.phase === 'delete')?.stdout).to.include(
      'the org stays in the shared database',
    );
    for (const pid of pids) expect(isAlive(pid), `pid ${pid} stopped`).to.equal(false);
    for (const root of roots) {
      // The install prefix was this test's link, not the install step's.
      rmSync(join(root, 'opt'), { recursive: true, force: true });
      expect(filesUnder(root)).to.deep.equal([]);
    }
    const orgs = execFileSync(
      'node',
      [SERVER_BIN, 'org', 'list', '--database-url', databaseUrl, '--data-dir', home],
      {
        encoding: 'utf8',
        env: sessionEnvironment(),
      },
    );
    expect(orgs.split('\n')).not.to.include(org);
  });
});
