import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { expect } from 'chai';
import { ArgumentError, PushJobsServer, type PushJobsServerArgs } from '../src/index.js';
import { commandConnection, connectionHost } from '../src/connection.js';
import { checkPort, validatedInput } from '../src/validate.js';
import { MockRecorder, promiseOf } from './harness.js';

const who = { component: 'PushJobsServer', name: 'late' };

const connection = { host: 'push.example.com' };

function attempt(args: Partial<PushJobsServerArgs> | undefined): () => PushJobsServer {
  return () => new PushJobsServer('bad', args === undefined ? (undefined as never) : { connection, ...args });
}

describe('PushJobsServer argument checks at construction', () => {
  beforeEach(async () => {
    await new MockRecorder().install();
  });

  const cases: [string, Partial<PushJobsServerArgs> | undefined, RegExp][] = [
    ['missing args', undefined, /^PushJobsServer 'bad': args are missing$/],
    ['missing connection', { connection: undefined }, /PushJobsServer 'bad': connection is missing/],
    [
      'missing host',
      { connection: { port: 22 } as never },
      /PushJobsServer 'bad': connection.host is missing/,
    ],
    ['empty host', { connection: { host: '' } }, /connection.host is missing/],
    [
      'SSH port out of range',
      { connection: { host: 'h', port: 70000 } },
      /connection.port must be an integer from 1 to 65535, got 70000/,
    ],
    [
      'SSH port as text',
      { connection: { host: 'h', port: '22' as never } },
      /connection.port must be an integer from 1 to 65535, got "22"/,
    ],
    ['API port 0', { apiPort: 0 }, /apiPort must be an integer from 1 to 65535, got 0/],
    ['fractional port', { commandPort: 10002.5 }, /commandPort must be an integer/],
    [
      'two services on one port',
      { apiPort: 10000 },
      /apiPort and heartbeatPort are both 10000; give each its own port/,
    ],
    ['heartbeat interval 0', { heartbeatInterval: 0 }, /heartbeatInterval must be a positive integer, got 0/],
    ['org with a slash', { org: 'a/b' }, /org must be a non-empty name without spaces or '\/'/],
    ['empty admin', { adminName: '' }, /adminName must be a non-empty name/],
    ['bad log level', { logLevel: 'loud' as never }, /logLevel must be one of fatal, error/],
    [
      'both storages',
      { storage: { sqlitePath: 'a', postgresUrl: 'postgres://x' } as never },
      /exactly one of sqlitePath and postgresUrl/,
    ],
    [
      'a PostgreSQL URL as sqlitePath',
      { storage: { sqlitePath: 'postgres://db/x' } },
      /give it as storage.postgresUrl/,
    ],
    [
      'not a PostgreSQL URL',
      { storage: { postgresUrl: 'mysql://db' } },
      /storage.postgresUrl must be a postgres:\/\//,
    ],
    [
      'TLS without key',
      { tls: { certificate: '-----BEGIN CERTIFICATE-----' } as never },
      /tls needs both certificate and privateKey/,
    ],
    ['TLS not PEM', { tls: { certificate: 'x', privateKey: 'y' } }, /tls.certificate must be PEM text/],
    ['relative root', { root: 'tmp/x' }, /root must be an absolute path on the host/],
    [
      'unknown init system',
      { initSystem: 'upstart' as never },
      /initSystem must be one of systemd, none, got "upstart"/,
    ],
    ['old Node.js', { nodeMajor: 18 }, /nodeMajor must be 20 or later, got 18/],
    [
      'bad version',
      { packageSource: { version: 'not a version' } },
      /packageSource.version must be an npm version/,
    ],
    [
      'bad registry',
      { packageSource: { registry: 'ftp://x' } },
      /packageSource.registry must be an http\(s\) URL/,
    ],
    ['no tarballs', { packageSource: { tarballs: [] } }, /packageSource.tarballs must be a non-empty list/],
    [
      'missing tarball',
      { packageSource: { tarballs: ['/nonexistent/push-jobs-server-0.1.0.tgz'] } },
      /packageSource.tarballs\[0\] cannot be read .*; run npm pack first/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(`rejects ${what}`, () => {
      expect(attempt(args)).to.throw(ArgumentError, message);
    });
  }

  it('rejects tarballs without the server package, naming the file it wants', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pj-pulumi-'));
    try {
      writeFileSync(join(dir, 'push-jobs-protocol-0.1.0.tgz'), 'x');
      expect(attempt({ packageSource: { tarballs: [join(dir, 'push-jobs-protocol-0.1.0.tgz')] } })).to.throw(
        /packageSource.tarballs has no push-jobs-server-<version>.tgz; add the npm pack tarball of @push-jobs\/server/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks an argument given as an output when it resolves: the output fails with the message', async () => {
    const port = validatedInput(pulumi.output(99999), (v) => checkPort(who, 'apiPort', v));
    const error = await promiseOf(pulumi.output(port)).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).to.be.instanceOf(ArgumentError);
    expect((error as Error).message).to.equal(
      "PushJobsServer 'late': apiPort must be an integer from 1 to 65535, got 99999",
    );
  });

  it('checks a connection given as an output when it resolves', async () => {
    const resolved = commandConnection(who, pulumi.output({ host: 'h', port: -1 }));
    const error = await promiseOf(resolved).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((error as Error).message).to.equal(
      "PushJobsServer 'late': connection.port must be an integer from 1 to 65535, got -1",
    );
  });

  it('makes a connection with a private key secret, and its host not', async () => {
    const resolved = commandConnection(who, { host: 'h', privateKey: pulumi.output('KEY') });
    expect(await pulumi.isSecret(resolved)).to.equal(true);
    expect(await promiseOf(resolved)).to.deep.equal({ host: 'h', port: 22, user: 'root', privateKey: 'KEY' });
    expect(await pulumi.isSecret(connectionHost(resolved))).to.equal(false);
  });
});
