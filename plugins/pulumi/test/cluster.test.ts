import { execFileSync } from 'node:child_process';
import * as pulumi from '@pulumi/pulumi';
import { expect } from 'chai';
import {
  CLUSTER_HEALTH_CHECK_PATH,
  PushJobsAgent,
  PushJobsCluster,
  PushJobsFleet,
  type PushJobsClusterArgs,
} from '../src/index.js';
import { FAKE_KEYS, innerScript, MockRecorder, plainInputStrings, promiseOf } from './harness.js';

const SSH_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nSSHKEY\n-----END OPENSSH PRIVATE KEY-----\n';
const DB_URL = 'postgres://push:s3cret@db.internal:5432/push';
const COMMAND = 'command:remote:Command';
const conn = (host: string): { host: string; user: string; privateKey: string } => ({
  host,
  user: 'ubuntu',
  privateKey: SSH_KEY,
});

async function build(
  args: Partial<PushJobsClusterArgs> = {},
  name = 'push',
): Promise<{ cluster: PushJobsCluster; rec: MockRecorder }> {
  const rec = new MockRecorder();
  await rec.install();
  const cluster = new PushJobsCluster(name, {
    storage: { postgresUrl: DB_URL },
    loadBalancerUrl: 'https://push.example.com',
    org: 'acme',
    instances: [
      { connection: conn('10.0.0.11') },
      { connection: conn('10.0.0.12') },
      { connection: conn('10.0.0.13') },
    ],
    ...args,
  });
  await promiseOf(pulumi.all([cluster.chefServerUrl, cluster.adminKey, cluster.loadBalancerRequirements]));
  return { cluster, rec };
}

/** The server config file an instance's config step writes. */
function configOf(rec: MockRecorder, instance: string): Record<string, unknown> {
  const doc = JSON.parse(rec.get(`${instance}-config`).inputs.stdin as string) as {
    files: { content: string }[];
  };
  return JSON.parse(doc.files[0]!.content) as Record<string, unknown>;
}

function script(rec: MockRecorder, step: string, field: 'create' | 'delete' = 'create'): string {
  return innerScript(rec.get(step).inputs[field] as string);
}

/** The attributes document an agent's converge step writes. */
function attributesOf(rec: MockRecorder, agent: string): { chef: Record<string, unknown> } {
  const match = /<<'PUSH_JOBS_EOF'\n([\s\S]*?)\nPUSH_JOBS_EOF/.exec(script(rec, `${agent}-converge`));
  return (JSON.parse(match![1]!) as { push_jobs: { chef: Record<string, unknown> } }).push_jobs;
}

describe('PushJobsCluster resources', () => {
  it('creates one server per instance, named <cluster>-<n> and parented to the cluster', async () => {
    const { cluster, rec } = await build();
    const component = rec.get('push');
    expect(component.type).to.equal('push-jobs:index:Cluster');
    for (const n of ['push-1', 'push-2', 'push-3']) {
      expect(rec.get(n).type).to.equal('push-jobs:index:Server');
      expect(rec.get(n).parent).to.equal(component.urn);
    }
    expect(cluster.instances).to.have.length(3);
    // Only the first ran init and reads the admin and validator keys back.
    expect(rec.names(COMMAND).filter((n) => n.endsWith('-keys'))).to.deep.equal(['push-1-keys']);
    expect(rec.names(COMMAND).filter((n) => n.startsWith('push-2-'))).to.deep.equal([
      'push-2-node',
      'push-2-install',
      'push-2-config',
      'push-2-init',
      'push-2-service',
      'push-2-public-key',
    ]);
    expect(await promiseOf(cluster.instanceNames)).to.deep.equal(['push-1', 'push-2', 'push-3']);
  });

  it('writes cluster: true, its own instance_name and server_name, the lease and the shared database', async () => {
    const { rec } = await build({ leaseSeconds: 30 });
    for (const [n, host] of [
      ['push-1', '10.0.0.11'],
      ['push-2', '10.0.0.12'],
      ['push-3', '10.0.0.13'],
    ] as const) {
      expect(configOf(rec, n)).to.deep.include({
        server_name: host,
        api_port: 10003,
        server_heartbeat_port: 10000,
        command_port: 10002,
        database_url: DB_URL,
        cluster: true,
        instance_name: n,
        cluster_lease_seconds: 30,
      });
      expect(rec.get(`${n}-config`).secretInputs, n).to.include('stdin');
    }
    expect(plainInputStrings(rec).join('\n')).not.to.include('s3cret');
    expect(plainInputStrings(rec).join('\n')).not.to.include('SSHKEY');
  });

  it('initializes the database once: the others start after the first is up and leave the org on delete', async () => {
    const { rec } = await build();
    expect(script(rec, 'push-1-init')).to.include(' init --config "$CONFIG_FILE" --org "$ORG"');
    expect(script(rec, 'push-1-init', 'delete')).to.include('org delete "$ORG"');
    for (const n of ['push-2', 'push-3']) {
      const create = script(rec, `${n}-init`);
      expect(create).not.to.include(' init --config');
      expect(create).to.include('org list --config "$CONFIG_FILE"');
      expect(create).to.include("INITIALIZED_BY='push-1'");
      expect(script(rec, `${n}-init`, 'delete')).not.to.include('org delete');
      expect(script(rec, `${n}-init`, 'delete')).to.include('rm -rf "$DATA_DIR"');
      expect(rec.get(`${n}-init`).dependencies).to.deep.equal([
        rec.get(`${n}-config`).urn,
        rec.get('push-1-service').urn,
      ]);
    }
    // Installs do not wait for the first instance.
    expect(rec.get('push-2-install').dependencies).to.deep.equal([rec.get('push-2-node').urn]);
  });

  it('outputs what the load balancer must do: backends, health check, protocol, ZeroMQ addresses', async () => {
    const { cluster } = await build();
    expect(await promiseOf(cluster.apiBackends)).to.deep.equal([
      '10.0.0.11:10003',
      '10.0.0.12:10003',
      '10.0.0.13:10003',
    ]);
    expect(await promiseOf(cluster.healthCheckPath)).to.equal(CLUSTER_HEALTH_CHECK_PATH);
    expect(CLUSTER_HEALTH_CHECK_PATH).to.equal('/pushy/_status');
    expect(await promiseOf(cluster.backendProtocol)).to.equal('http');
    expect(await promiseOf(cluster.heartbeatAddresses)).to.deep.equal([
      'tcp://10.0.0.11:10000',
      'tcp://10.0.0.12:10000',
      'tcp://10.0.0.13:10000',
    ]);
    expect(await promiseOf(cluster.commandAddresses)).to.deep.equal([
      'tcp://10.0.0.11:10002',
      'tcp://10.0.0.12:10002',
      'tcp://10.0.0.13:10002',
    ]);
    expect(await promiseOf(cluster.loadBalancerUrl)).to.equal('https://push.example.com');
    expect(await promiseOf(cluster.chefServerUrl)).to.equal('https://push.example.com/organizations/acme');
    const text = await promiseOf(cluster.loadBalancerRequirements);
    expect(text).to.equal(
      [
        "push-jobs cluster 'push': 3 instances sharing one PostgreSQL database, behind https://push.example.com",
        '',
        'The load balancer at https://push.example.com must:',
        '- forward (TCP, or HTTP) to the REST API port of every instance; these backends speak http:',
        '    push-1  10.0.0.11:10003',
        '    push-2  10.0.0.12:10003',
        '    push-3  10.0.0.13:10003',
        '- need no session stickiness: any instance answers any API request',
        '- as an HTTP proxy, pass the method, path, headers and body unchanged (requests are signed over them) and let responses stream (the job feeds are server-sent events)',
        '- health-check each backend with GET /pushy/_status (http); healthy when it answers 200 (a JSON body), out of rotation otherwise',
        '- serve agents, knife and the push CLI: their server URL is https://push.example.com/organizations/acme',
        '',
        'Not through the load balancer: each node connects straight to the instance whose config it',
        "fetched (the config document advertises that instance's server_name and ports), so every",
        'node must reach every instance directly at:',
        '    push-1  heartbeat tcp://10.0.0.11:10000, command tcp://10.0.0.11:10002',
        '    push-2  heartbeat tcp://10.0.0.12:10000, command tcp://10.0.0.12:10002',
        '    push-3  heartbeat tcp://10.0.0.13:10000, command tcp://10.0.0.13:10002',
        '',
      ].join('\n'),
    );
    for (const o of [
      cluster.apiBackends,
      cluster.chefServerUrl,
      cluster.loadBalancerRequirements,
    ] as pulumi.Output<unknown>[]) {
      expect(await pulumi.isSecret(o)).to.equal(false);
    }
  });

  it('takes the org, admin and validator (keys secret) from the first instance', async () => {
    const { cluster } = await build();
    expect(await promiseOf(cluster.org)).to.equal('acme');
    expect(await promiseOf(cluster.adminName)).to.equal('admin');
    expect(await promiseOf(cluster.validatorName)).to.equal('acme-validator');
    expect(await pulumi.isSecret(cluster.adminKey)).to.equal(true);
    expect(await pulumi.isSecret(cluster.validatorKey)).to.equal(true);
    expect(await promiseOf(cluster.adminKey)).to.equal(FAKE_KEYS.admin);
    expect(await promiseOf(cluster.validatorKey)).to.equal(FAKE_KEYS.validator);
    // Every instance answers for the same org and validator.
    for (const s of cluster.instances) {
      expect(await promiseOf(s.org)).to.equal('acme');
      expect(await promiseOf(s.validatorKey)).to.equal(FAKE_KEYS.validator);
      expect(await pulumi.isSecret(s.adminKey)).to.equal(true);
    }
  });

  it('runs instances on one host with their own roots and ports, and names them as given', async () => {
    const local = { host: '127.0.0.1', user: 'root' };
    const { cluster, rec } = await build({
      initSystem: 'none',
      loadBalancerUrl: 'http://lb.internal:8080/',
      instances: [
        { instanceName: 'east', connection: local, root: '/srv/a' },
        {
          instanceName: 'west',
          connection: local,
          root: '/srv/b',
          apiPort: 11003,
          heartbeatPort: 11000,
          commandPort: 11002,
        },
      ],
    });
    expect(rec.get('push-east').type).to.equal('push-jobs:index:Server');
    expect(rec.get('push-west').type).to.equal('push-jobs:index:Server');
    expect(configOf(rec, 'push-west')).to.deep.include({ instance_name: 'west', api_port: 11003 });
    expect(configOf(rec, 'push-east').data_dir).to.equal('/srv/a/var/lib/push-jobs');
    expect(configOf(rec, 'push-west').data_dir).to.equal('/srv/b/var/lib/push-jobs');
    expect(await promiseOf(cluster.apiBackends)).to.deep.equal(['127.0.0.1:10003', '127.0.0.1:11003']);
    expect(await promiseOf(cluster.loadBalancerUrl)).to.equal('http://lb.internal:8080');
  });

  it('lets an instance override a shared argument (log level, public address)', async () => {
    const { cluster, rec } = await build({
      logLevel: 'warn',
      instances: [
        { connection: conn('10.0.0.11') },
        { connection: conn('10.0.0.12'), logLevel: 'debug', publicAddress: 'push-b.internal' },
      ],
    });
    expect(configOf(rec, 'push-1').log_level).to.equal('warn');
    expect(configOf(rec, 'push-2')).to.deep.include({ log_level: 'debug', server_name: 'push-b.internal' });
    expect(await promiseOf(cluster.apiBackends)).to.deep.equal(['10.0.0.11:10003', 'push-b.internal:10003']);
  });

  it('with TLS: https backends, health-checked over https', async () => {
    const tls = {
      certificate: '-----BEGIN CERTIFICATE-----\nC\n',
      privateKey: '-----BEGIN PRIVATE KEY-----\nK\n',
    };
    const { cluster } = await build({ tls });
    expect(await promiseOf(cluster.backendProtocol)).to.equal('https');
    expect(await promiseOf(cluster.loadBalancerRequirements)).to.include(
      'GET /pushy/_status (https); healthy when it answers 200',
    );
  });

  it('gives the backends before the load balancer URL is known (a load balancer built from them)', async () => {
    const rec = new MockRecorder();
    await rec.install();
    let giveUrl: (url: string) => void = () => undefined;
    const lbUrl = new Promise<string>((resolve) => (giveUrl = resolve));
    const cluster = new PushJobsCluster('push', {
      storage: { postgresUrl: DB_URL },
      loadBalancerUrl: lbUrl,
      instances: [{ connection: conn('10.0.0.11') }, { connection: conn('10.0.0.12') }],
    });
    // What a load balancer resource would do: take the backends, then give its URL.
    const backends = await promiseOf(cluster.apiBackends);
    expect(backends).to.deep.equal(['10.0.0.11:10003', '10.0.0.12:10003']);
    giveUrl(`http://lb-for-${backends.length}.internal`);
    expect(await promiseOf(cluster.chefServerUrl)).to.equal('http://lb-for-2.internal/organizations/push');
  });

  it('re-runs only the config and service steps of every instance when the lease changes', async () => {
    const first = (await build({ leaseSeconds: 15 })).rec;
    const second = (await build({ leaseSeconds: 20 })).rec;
    const changed = first.resources
      .filter((r) => JSON.stringify(r.inputs) !== JSON.stringify(second.get(r.name).inputs))
      .map((r) => r.name)
      .sort();
    expect(changed).to.deep.equal([
      'push-1-config',
      'push-1-service',
      'push-2-config',
      'push-2-service',
      'push-3-config',
      'push-3-service',
    ]);
  });

  it('renders scripts that bash parses', async () => {
    const { rec } = await build({
      initSystem: 'none',
      root: '/tmp/x y',
      instances: [{ connection: conn('a') }, { connection: conn('b') }],
    });
    for (const r of rec.resources.filter((x) => x.type === COMMAND)) {
      for (const field of ['create', 'delete']) {
        const command = r.inputs[field];
        if (typeof command !== 'string') continue;
        execFileSync('/bin/sh', ['-c', command.replace(/^(sudo -n )?\/bin\/bash -c /, '/bin/bash -n -c ')]);
      }
    }
  });
});

describe('agents of a cluster', () => {
  it('use the load balancer as their server and register with the validator of the first instance', async () => {
    const { cluster, rec } = await build();
    const agent = new PushJobsAgent('web1', {
      connection: conn('web1.internal'),
      nodeName: 'web1',
      server: cluster,
    });
    await promiseOf(agent.nodeName);
    expect(attributesOf(rec, 'web1').chef).to.include({
      chef_server_url: 'https://push.example.com/organizations/acme',
    });
    const client = rec.get('web1-client');
    expect(JSON.parse(client.inputs.stdin as string)).to.deep.equal({
      validator_name: 'acme-validator',
      validator_key: FAKE_KEYS.validator,
    });
    expect(client.dependencies).to.include(rec.get('push-1-keys').urn);
    // The URL is the load balancer's once every instance is up.
    for (const n of ['push-1-service', 'push-2-service', 'push-3-service'])
      expect(client.dependencies, n).to.include(rec.get(n).urn);
  });

  it('a fleet with a cluster: <fleet>-cluster, agents through the load balancer', async () => {
    const rec = new MockRecorder();
    await rec.install();
    const fleet = new PushJobsFleet('ops', {
      cluster: {
        storage: { postgresUrl: DB_URL },
        loadBalancerUrl: 'http://push-lb.internal:10003',
        org: 'ops',
        root: '/srv/pj',
        instances: [{ connection: conn('10.0.0.11') }, { connection: conn('10.0.0.12') }],
      },
      whitelist: { uptime: 'uptime' },
      hosts: [{ nodeName: 'web1', connection: conn('web1.internal') }],
    });
    await promiseOf(pulumi.all([fleet.nodeNames, fleet.adminKey]));
    expect(rec.get('ops-cluster').type).to.equal('push-jobs:index:Cluster');
    expect(rec.get('ops-cluster').parent).to.equal(rec.get('ops').urn);
    expect(rec.get('ops-cluster-1').parent).to.equal(rec.get('ops-cluster').urn);
    expect(fleet.cluster).to.not.equal(undefined);
    expect(fleet.server).to.equal(fleet.cluster!.instances[0]);
    expect(await promiseOf(fleet.apiUrl)).to.equal('http://push-lb.internal:10003');
    expect(await promiseOf(fleet.chefServerUrl)).to.equal('http://push-lb.internal:10003/organizations/ops');
    expect(await promiseOf(fleet.adminKey)).to.equal(FAKE_KEYS.admin);
    expect(attributesOf(rec, 'ops-web1').chef).to.include({
      chef_server_url: 'http://push-lb.internal:10003/organizations/ops',
    });
    // The agents get the cluster's shared root unless told otherwise.
    expect(script(rec, 'ops-web1-install')).to.include("PREFIX='/srv/pj/opt/push-jobs-cookbook'");
  });
});
