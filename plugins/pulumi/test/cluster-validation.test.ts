import * as pulumi from '@pulumi/pulumi';
import { expect } from 'chai';
import {
  ArgumentError,
  PushJobsCluster,
  PushJobsServer,
  type PushJobsClusterArgs,
  type PushJobsServerArgs,
} from '../src/index.js';
import { MockRecorder, promiseOf } from './harness.js';

const DB = { postgresUrl: 'postgres://push@db.internal/push' };
const base: PushJobsClusterArgs = {
  storage: DB,
  loadBalancerUrl: 'https://push.example.com',
  instances: [{ connection: { host: 'a.internal' } }, { connection: { host: 'b.internal' } }],
};

function attempt(args: Partial<PushJobsClusterArgs> | undefined, name = 'bad'): () => PushJobsCluster {
  return () => new PushJobsCluster(name, args === undefined ? (undefined as never) : { ...base, ...args });
}

/** The error an output fails with, or undefined when it resolves. */
async function failureOf(output: pulumi.Output<unknown>): Promise<Error | undefined> {
  return promiseOf(output).then(
    () => undefined,
    (err: unknown) => err as Error,
  );
}

describe('PushJobsCluster argument checks', () => {
  beforeEach(async () => {
    await new MockRecorder().install();
  });

  const sameHost = { host: '10.0.0.5', user: 'root' };
  const cases: [string, Partial<PushJobsClusterArgs> | undefined, RegExp][] = [
    ['missing args', undefined, /^PushJobsCluster 'bad': args are missing$/],
    [
      'SQLite storage',
      { storage: { sqlitePath: 'push-jobs.sqlite' } },
      /^PushJobsCluster 'bad': storage.sqlitePath cannot be shared: cluster mode needs one PostgreSQL database_url for every instance; give storage: \{ postgresUrl \}$/,
    ],
    [
      'no storage (the default is SQLite)',
      { storage: undefined as never },
      /storage is missing: cluster mode needs one PostgreSQL database_url/,
    ],
    [
      'a PostgreSQL URL that is not one',
      { storage: { postgresUrl: 'mysql://db/x' } },
      /^PushJobsServer 'bad-1': storage.postgresUrl must be a postgres:\/\//,
    ],
    [
      'no instances',
      { instances: [] },
      /instances must be a non-empty list of \{ connection, instanceName\? \}/,
    ],
    ['instances that is not a list', { instances: {} as never }, /instances must be a non-empty list/],
    [
      'an instance without a connection',
      { instances: [{} as never] },
      /instances\[0\].connection is missing: give the SSH connection of its host/,
    ],
    [
      'a bad instance name',
      { instances: [{ connection: { host: 'a' }, instanceName: 'has space' }] },
      /instances\[0\].instanceName must be 1 to 64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit \(instance_name\), got "has space"/,
    ],
    [
      'an instance name over 64 characters',
      { instances: [{ connection: { host: 'a' }, instanceName: 'x'.repeat(65) }] },
      /instances\[0\].instanceName must be 1 to 64/,
    ],
    [
      'two instances with one name',
      {
        instances: [
          { connection: { host: 'a' }, instanceName: 'one' },
          { connection: { host: 'b' }, instanceName: 'one' },
        ],
      },
      /instances\[0\] and instances\[1\] are both named one: each instance_name must be unique/,
    ],
    [
      'an instance name that makes the resource names of another',
      { instances: [{ connection: { host: 'a' } }, { connection: { host: 'b' }, instanceName: '1' }] },
      /instances\[0\] and instances\[1\] would both make the resources bad-1: give instances\[0\] an instanceName of its own/,
    ],
    [
      'storage that is neither',
      { storage: {} as never },
      /storage must be \{ postgresUrl \}: cluster mode needs/,
    ],
    [
      'a missing load balancer URL',
      { loadBalancerUrl: undefined as never },
      /loadBalancerUrl is missing: give the load balancer's http\(s\):\/\/host\[:port\]/,
    ],
    [
      'a load balancer URL with a path',
      { loadBalancerUrl: 'https://push.example.com/organizations/acme' },
      /loadBalancerUrl must be the load balancer's http\(s\):\/\/host\[:port\], without a path, got "https:\/\/push.example.com\/organizations\/acme"/,
    ],
    [
      'a load balancer URL that is not http',
      { loadBalancerUrl: 'tcp://lb:10003' },
      /loadBalancerUrl must be/,
    ],
    ['a load balancer URL that is no URL', { loadBalancerUrl: 'lb.internal' }, /loadBalancerUrl must be/],
    [
      'a lease under 3 seconds',
      { leaseSeconds: 2 },
      /^PushJobsCluster 'bad': leaseSeconds must be an integer of 3 or more \(cluster_lease_seconds\), got 2$/,
    ],
    ['a fractional lease', { leaseSeconds: 4.5 }, /leaseSeconds must be an integer of 3 or more/],
    [
      'two instances on one host under one root',
      { instances: [{ connection: sameHost }, { connection: sameHost, apiPort: 11003 }] },
      /instances\[0\] and instances\[1\] are both on 10.0.0.5 under root \/: give each its own root \(every server path is under it\) and its own ports/,
    ],
    [
      'two instances on one host on the same ports',
      {
        instances: [
          { connection: sameHost, root: '/srv/a' },
          { connection: sameHost, root: '/srv/b' },
        ],
      },
      /instances\[0\].apiPort and instances\[1\].apiPort are both 10003, both on 10.0.0.5: instances on one host need their own ports/,
    ],
    [
      'two instances on one host where one port of each meets',
      {
        instances: [
          { connection: sameHost, root: '/srv/a' },
          { connection: sameHost, root: '/srv/b', apiPort: 11003, heartbeatPort: 10002, commandPort: 11002 },
        ],
      },
      /instances\[0\].commandPort and instances\[1\].heartbeatPort are both 10002/,
    ],
    [
      'two instances advertising one address on the same ports',
      {
        instances: [
          { connection: { host: 'a' }, publicAddress: 'push.internal' },
          { connection: { host: 'b' }, publicAddress: 'push.internal' },
        ],
      },
      /instances\[0\].apiPort and instances\[1\].apiPort are both 10003, both at push.internal/,
    ],
    [
      "an instance advertising the load balancer's host",
      { instances: [{ connection: { host: 'a' }, publicAddress: 'PUSH.example.com' }] },
      /instances\[0\] advertises PUSH.example.com, the load balancer's host, as its server_name: nodes reach each instance's heartbeat and command ports directly, not through the load balancer; give instances\[0\].publicAddress/,
    ],
    [
      'TLS on some instances only',
      {
        instances: [
          {
            connection: { host: 'a' },
            tls: { certificate: '-----BEGIN CERTIFICATE-----', privateKey: '-----BEGIN PRIVATE KEY-----' },
          },
          { connection: { host: 'b' } },
        ],
      },
      /instances\[1\] has no tls while others have: give every instance tls or none/,
    ],
    [
      'an instance with a bad port (checked by its server)',
      { instances: [{ connection: { host: 'a' }, apiPort: 0 }] },
      /^PushJobsServer 'bad-1': apiPort must be an integer from 1 to 65535, got 0$/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(`rejects ${what}`, () => {
      expect(attempt(args)).to.throw(ArgumentError, message);
    });
  }

  it('rejects a cluster name that makes no instance_name, asking for instanceName', () => {
    expect(attempt({}, 'my cluster')).to.throw(
      ArgumentError,
      /the default instanceName of instances\[0\] \(my cluster-1\) must be 1 to 64 letters/,
    );
  });

  it('accepts the same ports on different hosts, and several on one host with their own roots and ports', () => {
    expect(attempt({})).not.to.throw();
    expect(
      attempt({
        instances: [
          { connection: sameHost, root: '/srv/a' },
          { connection: sameHost, root: '/srv/b', apiPort: 11003, heartbeatPort: 11000, commandPort: 11002 },
        ],
      }),
    ).not.to.throw();
  });

  it('checks values given as outputs when they resolve: a clash fails the outputs', async () => {
    const cluster = new PushJobsCluster('late', {
      ...base,
      instances: [
        { connection: pulumi.output({ host: 'h', user: 'root' }), root: '/srv/a' },
        { connection: { host: pulumi.output('h'), user: 'root' }, root: '/srv/b' },
      ],
    });
    const error = await failureOf(cluster.apiBackends);
    expect(error).to.be.instanceOf(ArgumentError);
    expect(error!.message).to.equal(
      "PushJobsCluster 'late': instances[0].apiPort and instances[1].apiPort are both 10003, both on h: instances on one host need their own ports",
    );
  });

  it('checks a load balancer URL given as an output when it resolves', async () => {
    const cluster = new PushJobsCluster('late', { ...base, loadBalancerUrl: pulumi.output('https://lb/x') });
    const error = await failureOf(cluster.loadBalancerUrl);
    expect(error?.message).to.match(/^PushJobsCluster 'late': loadBalancerUrl must be/);
    const advertised = new PushJobsCluster('late2', {
      ...base,
      loadBalancerUrl: pulumi.output('http://a.internal:8080'),
    });
    expect((await failureOf(advertised.chefServerUrl))?.message).to.match(
      /instances\[0\] advertises a.internal, the load balancer's host/,
    );
  });
});

describe('PushJobsServer cluster options', () => {
  beforeEach(async () => {
    await new MockRecorder().install();
  });
  const connection = { host: 'push.example.com' };
  const server =
    (args: Partial<PushJobsServerArgs>): (() => PushJobsServer) =>
    () =>
      new PushJobsServer('bad', { connection, storage: DB, cluster: {}, ...args });

  const cases: [string, Partial<PushJobsServerArgs>, RegExp][] = [
    [
      'cluster mode on the default SQLite',
      { storage: undefined },
      /^PushJobsServer 'bad': cluster needs storage.postgresUrl: the instances of a cluster share one PostgreSQL database \(database_url postgres:\/\/...\); the server refuses cluster mode on SQLite \(storage.sqlitePath, the default\)$/,
    ],
    [
      'cluster mode on a SQLite file',
      { storage: { sqlitePath: '/srv/push.sqlite' } },
      /cluster needs storage.postgresUrl: .*on SQLite \(storage.sqlitePath\)$/,
    ],
    [
      'cluster that is not an object',
      { cluster: 'yes' as never },
      /cluster must be \{ instanceName\?, leaseSeconds\?, initializedBy\? \}/,
    ],
    [
      'a bad instance name',
      { cluster: { instanceName: '-x' } },
      /cluster.instanceName must be 1 to 64 letters, digits/,
    ],
    [
      'a short lease',
      { cluster: { leaseSeconds: 1 } },
      /cluster.leaseSeconds must be an integer of 3 or more/,
    ],
    [
      'an initializer that is not a server',
      { cluster: { initializedBy: {} as never } },
      /cluster.initializedBy must be a PushJobsServer/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(`rejects ${what}`, () => {
      expect(server(args)).to.throw(ArgumentError, message);
    });
  }

  it('rejects an org, admin or validator of its own on an instance that joins', () => {
    const first = new PushJobsServer('first', { connection, storage: DB, cluster: {} });
    for (const arg of ['org', 'adminName', 'validatorName'] as const) {
      expect(server({ [arg]: 'x', cluster: { initializedBy: first } })).to.throw(
        ArgumentError,
        new RegExp(`^PushJobsServer 'bad': ${arg} comes from cluster.initializedBy`),
      );
    }
  });

  it('leaves the cluster settings out of a single server', async () => {
    const rec = new MockRecorder();
    await rec.install();
    const single = new PushJobsServer('one', { connection, storage: DB });
    await promiseOf(single.apiUrl);
    const doc = JSON.parse(rec.get('one-config').inputs.stdin as string) as { files: { content: string }[] };
    const config = JSON.parse(doc.files[0]!.content) as Record<string, unknown>;
    expect(config).not.to.have.any.keys('cluster', 'instance_name', 'cluster_lease_seconds');
    expect(single.instanceName).to.equal(undefined);
  });

  it("writes instance_name null (the server's default) when none is given", async () => {
    const rec = new MockRecorder();
    await rec.install();
    const one = new PushJobsServer('one', { connection, storage: DB, cluster: {} });
    expect(await promiseOf(one.instanceName!)).to.equal(null);
    const doc = JSON.parse(rec.get('one-config').inputs.stdin as string) as { files: { content: string }[] };
    expect(JSON.parse(doc.files[0]!.content)).to.deep.include({
      cluster: true,
      instance_name: null,
      cluster_lease_seconds: 15,
    });
  });
});
