import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { renderClientRb } from '@push-jobs/cookbook';
import { expect } from 'chai';
import { ArgumentError, PushJobsAgent, type PushJobsAgentArgs } from '../src/index.js';
import { innerScript, MockRecorder, plainInputStrings, promiseOf } from './harness.js';

const SSH_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nSSHKEY\n-----END OPENSSH PRIVATE KEY-----\n';
const VALIDATOR_KEY = '-----BEGIN RSA PRIVATE KEY-----\nVALIDATORKEY\n-----END RSA PRIVATE KEY-----\n';
const COMMAND = 'command:remote:Command';
const server = {
  chefServerUrl: 'https://push.example.com:10003/organizations/acme',
  validatorName: 'acme-validator',
  validatorKey: VALIDATOR_KEY,
};

async function build(
  args: Partial<PushJobsAgentArgs> = {},
  name = 'web1',
): Promise<{ agent: PushJobsAgent; rec: MockRecorder }> {
  const rec = new MockRecorder();
  await rec.install();
  const agent = new PushJobsAgent(name, {
    connection: { host: 'web1.example.com', privateKey: SSH_KEY },
    nodeName: 'web1',
    server,
    ...args,
  });
  await promiseOf(pulumi.all([agent.nodeName, agent.clientName, agent.configPath]));
  return { agent, rec };
}

/** The create script of a step, unquoted. */
function create(rec: MockRecorder, name: string): string {
  return innerScript(rec.get(name).inputs.create as string);
}

/** The delete script of a step, unquoted. */
function remove(rec: MockRecorder, name: string): string {
  return innerScript(rec.get(name).inputs.delete as string);
}

/** The attributes document the converge step writes. */
function attributesOf(rec: MockRecorder, name = 'web1'): { push_jobs: Record<string, unknown> } {
  const script = create(rec, `${name}-converge`);
  const match = /<<'PUSH_JOBS_EOF'\n([\s\S]*?)\nPUSH_JOBS_EOF/.exec(script);
  if (match === null) throw new Error('no attributes heredoc in the converge step');
  return JSON.parse(match[1]!) as { push_jobs: Record<string, unknown> };
}

describe('PushJobsAgent resources', () => {
  it('registers the component and its host steps, named from it, parented to it, in order', async () => {
    const { rec } = await build();
    const component = rec.get('web1');
    expect(component.type).to.equal('push-jobs:index:Agent');
    expect(rec.names(COMMAND)).to.deep.equal(['web1-node', 'web1-install', 'web1-client', 'web1-converge']);
    const urn = (n: string): string => rec.get(n).urn;
    for (const r of rec.resources.filter((x) => x.type === COMMAND)) expect(r.parent).to.equal(component.urn);
    expect(rec.get('web1-install').dependencies).to.deep.equal([urn('web1-node')]);
    expect(rec.get('web1-client').dependencies).to.deep.equal([urn('web1-install')]);
    expect(rec.get('web1-converge').dependencies).to.deep.equal([urn('web1-client')]);
  });

  it('outputs the node name, client name and config path', async () => {
    const { agent } = await build({ clientName: 'web1-client' });
    expect(await promiseOf(agent.nodeName)).to.equal('web1');
    expect(await promiseOf(agent.clientName)).to.equal('web1-client');
    expect(await promiseOf(agent.configPath)).to.equal('/etc/chef/push-jobs-client.rb');
  });

  it('passes the validator key on a secret stdin only, and the SSH key in a secret connection', async () => {
    const { rec } = await build();
    const client = rec.get('web1-client');
    expect(client.secretInputs).to.include.members(['stdin', 'connection']);
    expect(JSON.parse(client.inputs.stdin as string)).to.deep.equal({
      validator_name: 'acme-validator',
      validator_key: VALIDATOR_KEY,
    });
    const plain = plainInputStrings(rec).join('\n');
    expect(plain).not.to.include('VALIDATORKEY');
    expect(plain).not.to.include('SSHKEY');
  });

  it('keeps a validator key given as a secret output secret', async () => {
    const { rec } = await build({ server: { ...server, validatorKey: pulumi.secret(VALIDATOR_KEY) } });
    expect(rec.get('web1-client').secretInputs).to.include('stdin');
  });

  it('registers the client on the host with the server URL, names and key path, and deletes it again', async () => {
    const { rec } = await build({ clientName: 'web1-client' });
    const script = create(rec, 'web1-client');
    expect(script).to.include("SERVER_URL='https://push.example.com:10003/organizations/acme'");
    expect(script).to.include("CLIENT='web1-client'");
    expect(script).to.include("KEY_FILE='/etc/chef/client.pem'");
    expect(script).to.include('generateKeyPairSync');
    expect(script).to.include('node --input-type=module -e');
    expect(remove(rec, 'web1-client')).to.match(/DELETE.*\/clients\//);
    expect(remove(rec, 'web1-client')).to.include('rm -f "$KEY_FILE"');
  });

  it('converges with the cookbook: attributes with the whitelist, server, node and package source', async () => {
    const { rec } = await build({
      whitelist: { uptime: 'uptime', 'chef-client': null },
      attributes: { logging_level: 'debug', environment_variables: { LANG: 'C' } },
      packageSource: { version: '1.2.3', registry: 'https://npm.example.com/' },
    });
    const attrs = attributesOf(rec).push_jobs;
    expect(attrs.whitelist).to.deep.equal({ uptime: 'uptime' });
    expect(attrs.chef).to.include({
      chef_server_url: 'https://push.example.com:10003/organizations/acme',
      node_name: 'web1',
      client_key_path: '/etc/chef/client.pem',
    });
    expect(attrs).to.include({
      logging_level: 'debug',
      package_source: 'registry',
      package_version: '1.2.3',
      npm_registry: 'https://npm.example.com/',
    });
    const script = create(rec, 'web1-converge');
    expect(script).to.include('node "$COOKBOOK_BIN" apply --attributes "$ATTRIBUTES_FILE" --platform-family');
    expect(script).to.include('--recipe install,config,service');
    expect(script).not.to.include('--root');
    expect(create(rec, 'web1-install')).to.include("'@push-jobs/cookbook@1.2.3'");
  });

  it('merges the whitelist over the cookbook default, as Chef does', async () => {
    const { rec } = await build({ whitelist: { uptime: 'uptime' } });
    expect(attributesOf(rec).push_jobs.whitelist).to.deep.equal({
      'chef-client': 'chef-client',
      uptime: 'uptime',
    });
  });

  it('renders the same config as the cookbook renderer for those attributes', async () => {
    const { rec } = await build({ whitelist: { uptime: 'uptime' } });
    const rendered = renderClientRb(attributesOf(rec).push_jobs as never);
    expect(rendered).to.include("chef_server_url   'https://push.example.com:10003/organizations/acme'");
    expect(rendered).to.include("node_name         'web1'");
    expect(rendered).to.include('"uptime"=>"uptime"');
  });

  describe('from tarballs', () => {
    let dir: string;
    let tarballs: string[];
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'pj-pulumi-'));
      tarballs = ['protocol', 'server', 'agent', 'cookbook'].map((p) => {
        const path = join(dir, `push-jobs-${p}-0.1.0.tgz`);
        writeFileSync(path, p);
        return path;
      });
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('copies the agent, cookbook and protocol tarballs (not the server), installs the cookbook, converges from the agent tarball', async () => {
      const { rec } = await build({ packageSource: { tarballs } });
      const copies = rec.resources.filter((r) => r.type === 'command:remote:CopyFile');
      expect(copies.map((c) => c.inputs.remotePath)).to.deep.equal([
        '/var/cache/push-jobs-client/push-jobs-protocol-0.1.0.tgz',
        '/var/cache/push-jobs-client/push-jobs-agent-0.1.0.tgz',
        '/var/cache/push-jobs-client/push-jobs-cookbook-0.1.0.tgz',
      ]);
      const npmInstall = create(rec, 'web1-install')
        .split('\n')
        .find((l) => l.startsWith('npm install'));
      expect(npmInstall).to.include('push-jobs-cookbook-0.1.0.tgz');
      expect(npmInstall).to.include('push-jobs-protocol-0.1.0.tgz');
      expect(npmInstall).not.to.include('push-jobs-agent-0.1.0.tgz');
      expect(attributesOf(rec).push_jobs).to.deep.include({
        package_source: 'tarball',
        local_package_path: [
          '/var/cache/push-jobs-client/push-jobs-protocol-0.1.0.tgz',
          '/var/cache/push-jobs-client/push-jobs-agent-0.1.0.tgz',
        ],
      });
    });
  });

  it('with init system none under a root: converges under --root without the service recipe, then starts the agent', async () => {
    const { rec, agent } = await build({ initSystem: 'none', root: '/tmp/pj' });
    expect(rec.names(COMMAND)).to.deep.equal([
      'web1-node',
      'web1-install',
      'web1-client',
      'web1-converge',
      'web1-service',
    ]);
    expect(rec.get('web1-service').dependencies).to.deep.equal([rec.get('web1-converge').urn]);
    const converge = create(rec, 'web1-converge');
    expect(converge).to.include("--recipe install,config --root '/tmp/pj'");
    const service = create(rec, 'web1-service');
    expect(service).to.include(
      `nohup "$NODE_BIN" '/tmp/pj/opt/push-jobs/node_modules/.bin/push-jobs-client' '-l' 'info' '-L' '/tmp/pj/var/log/chef/push-jobs-client.log' '-c' '/tmp/pj/etc/chef/push-jobs-client.rb' '-k' '/tmp/pj/etc/chef/client.pem' '-d' '/tmp/pj/tmp/chef-push'`,
    );
    expect(service).to.include("PID_FILE='/tmp/pj/run/push-jobs/chef-push-jobs-client.pid'");
    expect(await promiseOf(agent.configPath)).to.equal('/tmp/pj/etc/chef/push-jobs-client.rb');
  });

  it('re-runs only the client and converge steps when the whitelist changes (and the agent restart with init none)', async () => {
    const a = (await build({ whitelist: { a: 'a' } })).rec;
    const b = (await build({ whitelist: { a: 'a', b: 'b' } })).rec;
    expect(changedSteps(a, b)).to.deep.equal(['web1-client', 'web1-converge']);
    const c = (await build({ whitelist: { a: 'a' }, initSystem: 'none' })).rec;
    const d = (await build({ whitelist: { a: 'b' }, initSystem: 'none' })).rec;
    expect(changedSteps(c, d)).to.deep.equal(['web1-client', 'web1-converge', 'web1-service']);
  });

  it('re-runs only the converge step when the log level changes', async () => {
    const a = (await build({ attributes: { logging_level: 'info' } })).rec;
    const b = (await build({ attributes: { logging_level: 'debug' } })).rec;
    expect(changedSteps(a, b)).to.deep.equal(['web1-converge']);
  });

  it('renders scripts that bash parses', async () => {
    for (const options of [{}, { initSystem: 'none' as const, root: '/tmp/x y' }]) {
      const { rec } = await build(options);
      for (const r of rec.resources.filter((x) => x.type === COMMAND)) {
        for (const field of ['create', 'delete']) {
          const command = r.inputs[field];
          if (typeof command !== 'string') continue;
          execFileSync('/bin/sh', ['-c', command.replace('/bin/bash -c ', '/bin/bash -n -c ')]);
        }
      }
    }
  });
});

describe('PushJobsAgent argument checks at construction', () => {
  beforeEach(async () => {
    await new MockRecorder().install();
  });
  const attempt = (args: Partial<PushJobsAgentArgs>) => (): PushJobsAgent =>
    new PushJobsAgent('bad', { connection: { host: 'h' }, nodeName: 'web1', server, ...args });

  const cases: [string, Partial<PushJobsAgentArgs>, RegExp][] = [
    [
      'a whitelist that is not a map',
      { whitelist: ['uptime'] as never },
      /^PushJobsAgent 'bad': push_jobs.whitelist should have a hash value! \(got an array\)$/,
    ],
    [
      'a whitelist entry without a command',
      { whitelist: { x: { lock: true } as never } },
      /^PushJobsAgent 'bad': push_jobs.whitelist/,
    ],
    [
      'an unknown attribute',
      { attributes: { no_such_attribute: 1 } as never },
      /^PushJobsAgent 'bad': .*no_such_attribute/,
    ],
    [
      'a bad log level',
      { attributes: { logging_level: 'loud' as never } },
      /^PushJobsAgent 'bad': push_jobs.logging_level/,
    ],
    ['a bad node name', { nodeName: 'web 1' }, /^PushJobsAgent 'bad': push_jobs.chef.node_name/],
    ['a missing node name', { nodeName: undefined as never }, /^PushJobsAgent 'bad': nodeName is missing/],
    [
      'a server URL without the org',
      { server: { ...server, chefServerUrl: 'https://push.example.com' } },
      /^PushJobsAgent 'bad': push_jobs.chef.chef_server_url/,
    ],
    ['a missing server', { server: undefined as never }, /^PushJobsAgent 'bad': server is missing/],
    [
      'a server without the validator key',
      { server: { ...server, validatorKey: undefined as never } },
      /server.validatorKey is missing/,
    ],
    ['a missing host', { connection: {} as never }, /^PushJobsAgent 'bad': connection.host is missing/],
    [
      'a bad SSH port',
      { connection: { host: 'h', port: 0 } },
      /connection.port must be an integer from 1 to 65535, got 0/,
    ],
    [
      'an unsupported platform family',
      { platformFamily: 'windows' as never },
      /platformFamily must be one of debian, rhel, suse, amazon/,
    ],
    [
      'tarballs without the cookbook',
      { packageSource: { tarballs: [] } },
      /packageSource.tarballs must be a non-empty list/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(`rejects ${what}`, () => {
      expect(attempt(args)).to.throw(ArgumentError, message);
    });
  }
});

function changedSteps(a: MockRecorder, b: MockRecorder): string[] {
  return a.resources
    .filter((r) => JSON.stringify(r.inputs) !== JSON.stringify(b.get(r.name).inputs))
    .map((r) => r.name)
    .sort();
}
