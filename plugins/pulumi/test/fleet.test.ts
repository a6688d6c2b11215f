import * as pulumi from '@pulumi/pulumi';
import { expect } from 'chai';
import { ArgumentError, PushJobsFleet, type PushJobsFleetArgs } from '../src/index.js';
import { FAKE_KEYS, innerScript, MockRecorder, promiseOf } from './harness.js';

const COMMAND = 'command:remote:Command';
const conn = (host: string): { host: string; user: string; privateKey: string } => ({
  host,
  user: 'ubuntu',
  privateKey: 'SSHKEY',
});

async function build(
  args: Partial<PushJobsFleetArgs> = {},
): Promise<{ fleet: PushJobsFleet; rec: MockRecorder }> {
  const rec = new MockRecorder();
  await rec.install();
  const fleet = new PushJobsFleet('ops', {
    server: { connection: conn('push.internal'), org: 'acme' },
    whitelist: { uptime: 'uptime' },
    hosts: [
      { nodeName: 'web1', connection: conn('web1.internal') },
      {
        nodeName: 'db1',
        connection: conn('db1.internal'),
        whitelist: { backup: '/usr/local/bin/backup', uptime: null },
        attributes: { logging_level: 'debug' },
        agent: { platformFamily: 'rhel' },
      },
    ],
    ...args,
  });
  await promiseOf(pulumi.all([fleet.nodeNames, fleet.adminKey]));
  return { fleet, rec };
}

function attributesOf(rec: MockRecorder, agent: string): Record<string, unknown> {
  const script = innerScript(rec.get(`${agent}-converge`).inputs.create as string);
  const match = /<<'PUSH_JOBS_EOF'\n([\s\S]*?)\nPUSH_JOBS_EOF/.exec(script);
  return (JSON.parse(match![1]!) as { push_jobs: Record<string, unknown> }).push_jobs;
}

describe('PushJobsFleet', () => {
  it('creates one server and one agent per host, parented to the fleet and named from it', async () => {
    const { rec } = await build();
    const fleet = rec.get('ops');
    expect(fleet.type).to.equal('push-jobs:index:Fleet');
    expect(rec.get('ops-server').type).to.equal('push-jobs:index:Server');
    expect(rec.get('ops-web1').type).to.equal('push-jobs:index:Agent');
    expect(rec.get('ops-db1').type).to.equal('push-jobs:index:Agent');
    for (const child of ['ops-server', 'ops-web1', 'ops-db1'])
      expect(rec.get(child).parent).to.equal(fleet.urn);
    expect(rec.get('ops-web1-converge').parent).to.equal(rec.get('ops-web1').urn);
    expect(rec.names(COMMAND).filter((n) => n.startsWith('ops-db1-'))).to.deep.equal([
      'ops-db1-node',
      'ops-db1-install',
      'ops-db1-client',
      'ops-db1-converge',
    ]);
  });

  it("registers each agent with the server's URL and validator, after the server is up", async () => {
    const { rec } = await build();
    const client = rec.get('ops-web1-client');
    expect(JSON.parse(client.inputs.stdin as string)).to.deep.equal({
      validator_name: 'acme-validator',
      validator_key: FAKE_KEYS.validator,
    });
    expect(client.secretInputs).to.include('stdin');
    // The validator key comes from the server's keys step: the registration depends on it.
    expect(client.dependencies).to.include(rec.get('ops-server-keys').urn);
    const order = rec.resources.map((r) => r.name);
    expect(order.indexOf('ops-server-keys')).to.be.lessThan(order.indexOf('ops-web1-client'));
    expect(attributesOf(rec, 'ops-web1').chef).to.include({
      chef_server_url: 'http://push.internal:10003/organizations/acme',
      node_name: 'web1',
    });
  });

  it('gives every agent the shared whitelist, with per-host entries and removals over it', async () => {
    const { rec } = await build();
    expect(attributesOf(rec, 'ops-web1').whitelist).to.deep.equal({
      'chef-client': 'chef-client',
      uptime: 'uptime',
    });
    expect(attributesOf(rec, 'ops-db1').whitelist).to.deep.equal({
      'chef-client': 'chef-client',
      backup: '/usr/local/bin/backup',
    });
  });

  it('merges per-host attributes over the shared ones, and passes per-host agent arguments', async () => {
    const { rec } = await build({
      attributes: { logging_level: 'warn', environment_variables: { LANG: 'C' } },
    });
    expect(attributesOf(rec, 'ops-web1')).to.include({ logging_level: 'warn' });
    expect(attributesOf(rec, 'ops-db1')).to.include({ logging_level: 'debug' });
    expect(attributesOf(rec, 'ops-db1').environment_variables).to.deep.equal({
      LC_ALL: 'en_US.UTF-8',
      LANG: 'C',
    });
    expect(innerScript(rec.get('ops-db1-converge').inputs.create as string)).to.include(
      "--platform-family 'rhel'",
    );
    expect(innerScript(rec.get('ops-web1-converge').inputs.create as string)).to.include(
      "--platform-family 'debian'",
    );
  });

  it("gives the agents the server's root, init system and package source unless told otherwise", async () => {
    const { rec } = await build({
      server: {
        connection: conn('push.internal'),
        root: '/srv/pj',
        initSystem: 'none',
        packageSource: { version: '2.0.0' },
      },
    });
    expect(rec.names(COMMAND)).to.include('ops-web1-service');
    const install = innerScript(rec.get('ops-web1-install').inputs.create as string);
    expect(install).to.include("PREFIX='/srv/pj/opt/push-jobs-cookbook'");
    expect(install).to.include("'@push-jobs/cookbook@2.0.0'");
  });

  it('outputs the API URL, the admin key (secret) and the node names once converged', async () => {
    const { fleet } = await build();
    expect(await promiseOf(fleet.apiUrl)).to.equal('http://push.internal:10003');
    expect(await pulumi.isSecret(fleet.adminKey)).to.equal(true);
    expect(await promiseOf(fleet.adminKey)).to.equal(FAKE_KEYS.admin);
    expect(await promiseOf(fleet.nodeNames)).to.deep.equal(['web1', 'db1']);
    expect(Object.keys(fleet.agents)).to.deep.equal(['web1', 'db1']);
  });

  describe('argument checks at construction', () => {
    beforeEach(async () => {
      await new MockRecorder().install();
    });
    const attempt = (args: Partial<PushJobsFleetArgs>) => (): PushJobsFleet =>
      new PushJobsFleet('bad', { server: { connection: conn('p') }, hosts: [], ...args });
    const cases: [string, Partial<PushJobsFleetArgs>, RegExp][] = [
      ['hosts that is not a list', { hosts: {} as never }, /^PushJobsFleet 'bad': hosts must be a list/],
      [
        'a host without a node name',
        { hosts: [{ connection: conn('a') } as never] },
        /hosts\[0\].nodeName must be a non-empty string/,
      ],
      [
        'a node name listed twice',
        {
          hosts: [
            { nodeName: 'a', connection: conn('a') },
            { nodeName: 'a', connection: conn('b') },
          ],
        },
        /hosts\[1\].nodeName a is listed twice/,
      ],
      [
        'a shared whitelist that is not a map',
        { whitelist: ['uptime'] as never },
        /^PushJobsFleet 'bad': whitelist must be an object \(a map\), got an array$/,
      ],
      [
        'a host whitelist that is not a map',
        {
          whitelist: { a: 'a' },
          hosts: [{ nodeName: 'a', connection: conn('a'), whitelist: 'uptime' as never }],
        },
        /^PushJobsFleet 'bad': hosts\[0\].whitelist must be an object \(a map\), got "uptime"$/,
      ],
      [
        'a host whitelist entry the cookbook rejects',
        { hosts: [{ nodeName: 'a', connection: conn('a'), whitelist: { x: 42 as never } }] },
        /^PushJobsAgent 'bad-a': push_jobs.whitelist/,
      ],
      [
        'a host without a host name',
        { hosts: [{ nodeName: 'a', connection: { port: 22 } as never }] },
        /^PushJobsAgent 'bad-a': connection.host is missing/,
      ],
      [
        'a server with a bad port',
        { server: { connection: conn('p'), apiPort: 65536 } },
        /^PushJobsServer 'bad-server': apiPort must be an integer from 1 to 65535, got 65536$/,
      ],
      [
        'a missing server',
        { server: undefined as never },
        /^PushJobsFleet 'bad': server is missing: give server \(one server\) or cluster \(several\)$/,
      ],
      [
        'both a server and a cluster',
        {
          cluster: {
            storage: { postgresUrl: 'postgres://db/x' },
            loadBalancerUrl: 'http://lb',
            instances: [{ connection: conn('a') }],
          },
        },
        /^PushJobsFleet 'bad': give server or cluster, not both$/,
      ],
    ];
    for (const [what, args, message] of cases) {
      it(`rejects ${what}`, () => {
        expect(attempt(args)).to.throw(ArgumentError, message);
      });
    }
  });
});
