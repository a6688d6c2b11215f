import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { expect } from 'chai';
import { PushJobsServer, type PushJobsServerArgs } from '../src/index.js';
import { FAKE_KEYS, MockRecorder, plainInputStrings, promiseOf } from './harness.js';

const SSH_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nSSHKEY\n-----END OPENSSH PRIVATE KEY-----\n';
const COMMAND = 'command:remote:Command';

async function build(
  args: Partial<PushJobsServerArgs> = {},
  name = 'push',
): Promise<{ server: PushJobsServer; rec: MockRecorder }> {
  const rec = new MockRecorder();
  await rec.install();
  const server = new PushJobsServer(name, {
    connection: { host: 'push.example.com', privateKey: SSH_KEY },
    ...args,
  });
  await promiseOf(pulumi.all([server.adminKey, server.serverPublicKey, server.chefServerUrl]));
  return { server, rec };
}

function create(rec: MockRecorder, name: string): string {
  return rec.get(name).inputs.create as string;
}

describe('PushJobsServer resources', () => {
  it('registers the component and its host steps, named from it and parented to it', async () => {
    const { rec } = await build();
    const component = rec.get('push');
    expect(component.type).to.equal('push-jobs:index:Server');
    expect(rec.names(COMMAND)).to.have.members([
      'push-node',
      'push-install',
      'push-config',
      'push-init',
      'push-service',
      'push-keys',
      'push-public-key',
    ]);
    for (const r of rec.resources.filter((x) => x.type === COMMAND)) {
      expect(r.parent, r.name).to.equal(component.urn);
    }
  });

  it('orders the steps: node, install, config, init, service, then keys and public key', async () => {
    const { rec } = await build();
    const urn = (n: string): string => rec.get(n).urn;
    expect(rec.get('push-node').dependencies).to.deep.equal([]);
    expect(rec.get('push-install').dependencies).to.deep.equal([urn('push-node')]);
    expect(rec.get('push-config').dependencies).to.deep.equal([urn('push-install')]);
    expect(rec.get('push-init').dependencies).to.deep.equal([urn('push-config')]);
    expect(rec.get('push-service').dependencies).to.deep.equal([urn('push-init')]);
    expect(rec.get('push-keys').dependencies).to.deep.equal([urn('push-service')]);
    expect(rec.get('push-public-key').dependencies).to.deep.equal([urn('push-service')]);
  });

  it('keeps the SSH key and the printed private keys secret', async () => {
    const { server, rec } = await build();
    for (const r of rec.resources.filter((x) => x.type === COMMAND)) {
      expect(r.secretInputs, r.name).to.include('connection');
      expect((r.inputs.connection as { privateKey: string }).privateKey).to.equal(SSH_KEY);
    }
    expect(rec.get('push-keys').additionalSecretOutputs).to.deep.equal(['stdout']);
    expect(await pulumi.isSecret(server.adminKey)).to.equal(true);
    expect(await pulumi.isSecret(server.validatorKey)).to.equal(true);
    expect(await promiseOf(server.adminKey)).to.equal(FAKE_KEYS.admin);
    expect(await promiseOf(server.validatorKey)).to.equal(FAKE_KEYS.validator);
    expect(await pulumi.isSecret(server.serverPublicKey)).to.equal(false);
    expect(await promiseOf(server.serverPublicKey)).to.equal(FAKE_KEYS.server);
    expect(plainInputStrings(rec).join('\n')).not.to.include('SSHKEY');
  });

  it('outputs the API URL, chef_server_url, ZeroMQ addresses and names, none of them secret', async () => {
    const { server } = await build({ org: 'acme', adminName: 'alice', apiPort: 8443, commandPort: 9002 });
    expect(await promiseOf(server.apiUrl)).to.equal('http://push.example.com:8443');
    expect(await promiseOf(server.chefServerUrl)).to.equal('http://push.example.com:8443/organizations/acme');
    expect(await promiseOf(server.commandAddress)).to.equal('tcp://push.example.com:9002');
    expect(await promiseOf(server.heartbeatAddress)).to.equal('tcp://push.example.com:10000');
    expect(await promiseOf(server.adminName)).to.equal('alice');
    expect(await promiseOf(server.validatorName)).to.equal('acme-validator');
    for (const o of [server.apiUrl, server.chefServerUrl, server.commandAddress, server.org]) {
      expect(await pulumi.isSecret(o)).to.equal(false);
    }
  });

  it('advertises publicAddress to agents (server_name and URLs) instead of the SSH host', async () => {
    const { server, rec } = await build({ publicAddress: '10.1.2.3' });
    expect(await promiseOf(server.apiUrl)).to.equal('http://10.1.2.3:10003');
    const config = JSON.parse(JSON.parse(rec.get('push-config').inputs.stdin as string).files[0].content);
    expect(config.server_name).to.equal('10.1.2.3');
  });

  it('writes the config file with the ports, heartbeat interval, storage and log level', async () => {
    const { rec } = await build({ heartbeatInterval: 250, heartbeatPort: 9000, logLevel: 'warn' });
    const doc = JSON.parse(rec.get('push-config').inputs.stdin as string) as {
      files: { path: string; content: string; mode: number }[];
    };
    expect(doc.files.map((f) => f.path)).to.deep.equal(['/etc/push-jobs/server.json']);
    expect(doc.files[0]!.mode).to.equal(0o600);
    expect(JSON.parse(doc.files[0]!.content)).to.deep.equal({
      server_name: 'push.example.com',
      api_port: 10003,
      server_heartbeat_port: 9000,
      command_port: 10002,
      heartbeat_interval: 250,
      data_dir: '/var/lib/push-jobs',
      database_url: 'push-jobs.sqlite',
      tls_cert: null,
      tls_key: null,
      log_level: 'warn',
    });
    expect(rec.get('push-config').secretInputs).not.to.include('stdin');
  });

  it('with TLS: https URLs, the files written from a secret stdin, the key in no plain input', async () => {
    const { server, rec } = await build({
      tls: {
        certificate: '-----BEGIN CERTIFICATE-----\nCERT\n',
        privateKey: '-----BEGIN PRIVATE KEY-----\nTLSKEY\n',
      },
    });
    expect(await promiseOf(server.apiUrl)).to.equal('https://push.example.com:10003');
    const config = rec.get('push-config');
    expect(config.secretInputs).to.include('stdin');
    const doc = JSON.parse(config.inputs.stdin as string) as { files: { path: string; mode: number }[] };
    expect(doc.files.map((f) => [f.path, f.mode])).to.deep.equal([
      ['/etc/push-jobs/server.json', 0o600],
      ['/etc/push-jobs/tls/server.crt', 0o644],
      ['/etc/push-jobs/tls/server.key', 0o600],
    ]);
    expect(create(rec, 'push-service')).to.include('https://127.0.0.1:10003/pushy/_status');
    expect(plainInputStrings(rec).join('\n')).not.to.include('TLSKEY');
  });

  it('with PostgreSQL: the URL is secret, never in a plain input, and delete drops the org', async () => {
    const { rec } = await build({ storage: { postgresUrl: 'postgres://push:s3cret@db:5432/push' } });
    expect(rec.get('push-config').secretInputs).to.include('stdin');
    const doc = JSON.parse(rec.get('push-config').inputs.stdin as string) as { files: { content: string }[] };
    expect(JSON.parse(doc.files[0]!.content).database_url).to.equal('postgres://push:s3cret@db:5432/push');
    expect(plainInputStrings(rec).join('\n')).not.to.include('s3cret');
    expect(rec.get('push-init').inputs.delete).to.include('org delete');
  });

  it('puts an absolute SQLite path under the host root', async () => {
    const { rec } = await build({ storage: { sqlitePath: '/srv/push.sqlite' }, root: '/tmp/r' });
    const doc = JSON.parse(rec.get('push-config').inputs.stdin as string) as { files: { content: string }[] };
    expect(JSON.parse(doc.files[0]!.content).database_url).to.equal('/tmp/r/srv/push.sqlite');
  });

  it('installs from the registry at a version', async () => {
    const { rec } = await build({
      packageSource: { version: '1.2.3', registry: 'https://npm.example.com/' },
    });
    const install = create(rec, 'push-install');
    expect(install).to.include(`'\\''@push-jobs/server@1.2.3'\\''`);
    expect(install).to.include(`--registry '\\''https://npm.example.com/'\\''`);
    expect(rec.names('command:remote:CopyFile')).to.deep.equal([]);
  });

  describe('from tarballs', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'pj-pulumi-'));
      writeFileSync(join(dir, 'push-jobs-protocol-0.1.0.tgz'), 'protocol');
      writeFileSync(join(dir, 'push-jobs-server-0.1.0.tgz'), 'server');
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('copies each tarball to the host, then installs them together', async () => {
      const tarballs = [join(dir, 'push-jobs-protocol-0.1.0.tgz'), join(dir, 'push-jobs-server-0.1.0.tgz')];
      const { rec } = await build({ packageSource: { tarballs } });
      expect(rec.names('command:remote:CopyFile')).to.deep.equal(['push-tarball-0', 'push-tarball-1']);
      const copy = rec.get('push-tarball-1');
      expect(copy.inputs.localPath).to.equal(tarballs[1]);
      expect(copy.inputs.remotePath).to.equal('/var/cache/push-jobs-server/push-jobs-server-0.1.0.tgz');
      expect(copy.dependencies).to.deep.equal([rec.get('push-node').urn]);
      expect(rec.get('push-install').dependencies).to.deep.equal([
        rec.get('push-node').urn,
        rec.get('push-tarball-0').urn,
        rec.get('push-tarball-1').urn,
      ]);
      expect(create(rec, 'push-install')).to.include(
        '/var/cache/push-jobs-server/push-jobs-protocol-0.1.0.tgz',
      );
      expect(create(rec, 'push-node')).to.include('chown "$SUDO_USER"');
    });

    it('a changed tarball changes its copy trigger and the install step, nothing else', async () => {
      const tarballs = [join(dir, 'push-jobs-protocol-0.1.0.tgz'), join(dir, 'push-jobs-server-0.1.0.tgz')];
      const first = (await build({ packageSource: { tarballs } })).rec;
      writeFileSync(tarballs[1]!, 'server v2');
      const second = (await build({ packageSource: { tarballs } })).rec;
      expect(changedSteps(first, second)).to.deep.equal(['push-install', 'push-tarball-1']);
    });
  });

  it('re-runs only the config and service steps when the heartbeat interval changes', async () => {
    const first = (await build({ heartbeatInterval: 1000 })).rec;
    const second = (await build({ heartbeatInterval: 500 })).rec;
    expect(changedSteps(first, second)).to.deep.equal(['push-config', 'push-service']);
  });

  it('re-runs only the install step when the package version changes', async () => {
    const first = (await build({ packageSource: { version: '0.1.0' } })).rec;
    const second = (await build({ packageSource: { version: '0.2.0' } })).rec;
    expect(changedSteps(first, second)).to.deep.equal(['push-install']);
  });

  it('uses sudo for a user other than root, and not for root', async () => {
    const { rec } = await build({ connection: { host: 'h', user: 'ubuntu', privateKey: SSH_KEY } });
    expect(create(rec, 'push-service').startsWith('sudo -n /bin/bash -c ')).to.equal(true);
    const root = (await build({ connection: { host: 'h', user: 'root', privateKey: SSH_KEY } })).rec;
    expect(create(root, 'push-service').startsWith('/bin/bash -c ')).to.equal(true);
  });

  it('runs the server under systemd by default, and in the background with initSystem none', async () => {
    const { rec } = await build();
    expect(create(rec, 'push-service')).to.include('systemctl restart');
    expect(rec.get('push-service').inputs.delete).to.include('systemctl disable --now');
    const none = (await build({ initSystem: 'none', root: '/tmp/pj' })).rec;
    const script = create(none, 'push-service');
    expect(script).not.to.include('systemctl');
    expect(script).to.include('/tmp/pj/run/push-jobs/push-jobs-server.pid');
    expect(script).to.include('nohup');
  });

  it('renders scripts that bash parses', async () => {
    for (const options of [{}, { initSystem: 'none' as const, root: '/tmp/x y' }]) {
      const { rec } = await build({ ...options, storage: { postgresUrl: 'postgres://db/x' } });
      for (const r of rec.resources.filter((x) => x.type === COMMAND)) {
        for (const field of ['create', 'delete']) {
          const command = r.inputs[field];
          if (typeof command !== 'string') continue;
          expect(command, `${r.name} ${field}`).to.match(/^(sudo -n )?\/bin\/bash -c /);
          execFileSync('/bin/sh', ['-c', command.replace('/bin/bash -c ', '/bin/bash -n -c ')]);
        }
      }
    }
  });
});

/** Names of the steps whose inputs differ between two builds. */
function changedSteps(a: MockRecorder, b: MockRecorder): string[] {
  const changed: string[] = [];
  for (const r of a.resources) {
    const other = b.get(r.name);
    if (JSON.stringify(r.inputs) !== JSON.stringify(other.inputs)) changed.push(r.name);
  }
  return changed.sort();
}
