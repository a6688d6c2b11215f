import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { freePorts, localhostCertificate } from '@push-jobs/testing';
import { CliTestServer, cli, cliJson, isolateEnv, restoreEnv } from './helpers/harness.js';

function pretty(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

describe('errors: one line, a documented exit code, no stack unless --debug', function () {
  this.timeout(60_000);
  let h: CliTestServer;

  before(async () => {
    h = await CliTestServer.start();
  });
  after(async () => {
    await h.close();
  });
  afterEach(() => restoreEnv());

  it('server unreachable: exit 6', async () => {
    const [port] = await freePorts(1);
    isolateEnv({ ...h.env(), PUSH_JOBS_SERVER_URL: `http://127.0.0.1:${port}/organizations/acme` });
    const run = await cli(['push', 'jobs', 'list']);
    expect(run.exitCode).to.equal(6);
    expect(run.stdout).to.equal('');
    expect(run.stderr).to.equal(
      `Error: cannot reach http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}; check --server-url and that the push jobs server is running\n`,
    );
    const { json } = await cliJson(['push', 'jobs', 'list']);
    expect(json).to.deep.equal({
      ok: false,
      error: {
        code: 'PJ_ERR_UNREACHABLE',
        message: `cannot reach http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}; check --server-url and that the push jobs server is running`,
        exitCode: 6,
      },
    });
  });

  it('no answer within --request-timeout: exit 6', async () => {
    const silent: Server = createServer(() => {
      // never answers
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/organizations/acme`;
    isolateEnv({ ...h.env(), PUSH_JOBS_SERVER_URL: url });
    const run = await cli(['push', 'jobs', 'list', '--request-timeout', '0.2']);
    silent.closeAllConnections();
    await new Promise<void>((r) => silent.close(() => r()));
    expect(run.exitCode).to.equal(6);
    expect(run.stderr).to.equal(
      `Error: GET ${url}/pushy/jobs: no answer within 200 ms; check that the server is healthy, or raise --request-timeout\n`,
    );
  });

  it('a key the server does not know for the user (401): exit 5', async () => {
    isolateEnv({ ...h.env(), PUSH_JOBS_KEY: h.bobKey });
    const run = await cli(['push', 'jobs', 'list']);
    expect(run.exitCode).to.equal(5);
    expect(run.stderr).to.equal(
      "Error: authentication as 'alice' failed (401): Invalid signature for user or client 'alice'; check --user and --key (the key must be that user's or client's private key) and the clock\n",
    );
  });

  it('an unknown user (401): exit 5, with --json', async () => {
    isolateEnv({ ...h.env(), PUSH_JOBS_USER: 'mallory' });
    const { json, run } = await cliJson(['push', 'node', 'status']);
    expect(run.exitCode).to.equal(5);
    expect((json as { error: { code: string; exitCode: number } }).error).to.deep.include({
      code: 'PJ_ERR_AUTHENTICATION',
      exitCode: 5,
    });
  });

  it('a member who may not start jobs (403): exit 5', async () => {
    isolateEnv(h.env('bob'));
    const run = await cli(['push', 'jobs', 'start', 'echo', 'web1']);
    expect(run.exitCode).to.equal(5);
    expect(run.stderr).to.match(
      /^Error: permission denied as 'bob' \(403\): .+; ask an organization admin for access \(groups pushy_job_readers\/pushy_job_writers or admins\)\n$/,
    );
  });

  it('an unreadable key: exit 3 (human and --json)', async () => {
    isolateEnv({ ...h.env(), PUSH_JOBS_KEY: join(h.dataDir, 'missing.pem') });
    const run = await cli(['push', 'jobs', 'list']);
    expect(run.exitCode).to.equal(3);
    const message = `cannot read the client key ${join(h.dataDir, 'missing.pem')} (no such file); pass --key (or PUSH_JOBS_KEY) with the path to your private key`;
    expect(run.stderr).to.equal(`Error: ${message}\n`);
    const { run: jr } = await cliJson(['push', 'jobs', 'list']);
    expect(jr.stdout).to.equal(pretty({ ok: false, error: { code: 'PJ_ERR_KEY', message, exitCode: 3 } }));
  });

  it('no settings at all: exit 3 naming every way to give the server', async () => {
    isolateEnv();
    const run = await cli(['push', 'jobs', 'list']);
    expect(run.exitCode).to.equal(3);
    expect(run.stderr).to.equal(
      'Error: no push jobs server configured; pass --server-url (or set PUSH_JOBS_SERVER_URL, server_url in ~/.push-jobs/config.json, or chef_server_url in ~/.chef/credentials or knife.rb)\n',
    );
  });

  it('settings from ~/.chef/credentials work (a knife user switching)', async () => {
    const home = isolateEnv();
    mkdirSync(join(home, '.chef'));
    writeFileSync(join(home, '.chef', 'alice.pem'), readFileSync(h.aliceKey));
    writeFileSync(
      join(home, '.chef', 'credentials'),
      `[default]\nclient_name = "alice"\nclient_key = "alice.pem"\nchef_server_url = "${h.orgUrl}"\n`,
    );
    const run = await cli(['push', 'jobs', 'list']);
    expect(run.exitCode).to.equal(0);
    expect(run.stdout).to.equal('No jobs.\n');
  });

  it('flags beat PUSH_JOBS_* variables, which beat the config file and ~/.chef/credentials', async () => {
    const home = isolateEnv({ ...h.env(), PUSH_JOBS_USER: 'mallory' });
    mkdirSync(join(home, '.push-jobs'));
    writeFileSync(
      join(home, '.push-jobs', 'config.json'),
      JSON.stringify({ server_url: 'http://127.0.0.1:9/organizations/acme', user: 'carol', key: h.bobKey }),
    );
    mkdirSync(join(home, '.chef'));
    writeFileSync(
      join(home, '.chef', 'credentials'),
      `[default]\nclient_name = "dave"\nclient_key = "${h.bobKey}"\nchef_server_url = "http://127.0.0.1:9/organizations/other"\n`,
    );
    // The server URL and key come from the environment, the user from the flag.
    const flag = await cli(['push', 'jobs', 'list', '--user', 'alice', '--debug']);
    expect(flag.exitCode).to.equal(0);
    expect(flag.stderr).to.include(`debug: ${h.orgUrl} as alice (key ${h.aliceKey}, signing 1.3)\n`);
    // Without the flag, the environment's user wins over the config file's and the profile's.
    const env = await cli(['push', 'jobs', 'list']);
    expect(env.exitCode).to.equal(5);
    expect(env.stderr).to.match(/^Error: authentication as 'mallory' failed \(401\)/);
  });

  it('an unknown flag: exit 2', async () => {
    isolateEnv(h.env());
    const run = await cli(['push', 'jobs', 'list', '--bogus']);
    expect(run.exitCode).to.equal(2);
    expect(run.stderr).to.equal('Error: Nonexistent flag: --bogus See more help with --help\n');
  });

  it('--debug shows where settings came from, and the stack of an error', async () => {
    isolateEnv({ ...h.env(), PUSH_JOBS_KEY: h.bobKey });
    const quiet = await cli(['push', 'jobs', 'list']);
    expect(quiet.stderr).to.not.match(/\n\s+at /);
    const run = await cli(['push', 'jobs', 'list', '--debug']);
    expect(run.exitCode).to.equal(5);
    expect(run.stderr).to.include(`debug: ${h.orgUrl} as alice (key ${h.bobKey}, signing 1.3)\n`);
    expect(run.stderr).to.include('debug: user from flags and PUSH_JOBS_* environment variables\n');
    expect(run.stderr).to.include("Error: authentication as 'alice' failed (401)");
    expect(run.stderr).to.match(/ApiUnauthorizedError: GET .*\/pushy\/jobs failed with 401/);
    expect(run.stderr).to.match(/\n\s+at /);
    expect(run.stderr).to.not.include('PRIVATE KEY');
  });

  it('signs with another protocol version when asked', async () => {
    isolateEnv({ ...h.env(), PUSH_JOBS_SIGN_VERSION: '1.0' });
    const run = await cli(['push', 'jobs', 'list', '--debug']);
    expect(run.exitCode).to.equal(0);
    expect(run.stderr).to.include(', signing 1.0)');
  });
});

describe('TLS: a custom CA, or no verification for labs', function () {
  this.timeout(60_000);
  let dir: string;
  let h: CliTestServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pj-cli-tls-'));
    const tls = localhostCertificate(dir);
    h = await CliTestServer.start({
      https: { cert: tls.cert, key: tls.key },
    });
  });
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => isolateEnv(h.env()));
  afterEach(() => restoreEnv());

  it('an untrusted certificate: exit 6 with what to do', async () => {
    expect(h.orgUrl.startsWith('https://')).to.equal(true);
    const run = await cli(['push', 'jobs', 'list']);
    expect(run.exitCode).to.equal(6);
    expect(run.stderr).to.match(
      /^Error: TLS connection to https:\/\/127\.0\.0\.1:\d+ failed: self[- ]signed certificate.*; pass --ca-file with the server's CA certificate \(or --insecure in a lab\)\n$/,
    );
    const { json } = await cliJson(['push', 'jobs', 'list']);
    expect((json as { error: { code: string } }).error.code).to.equal('PJ_ERR_TLS');
  });

  it('--ca-file trusts the server', async () => {
    const run = await cli(['push', 'jobs', 'list', '--ca-file', join(dir, 'cert.pem')]);
    expect(run.exitCode).to.equal(0);
    expect(run.stdout).to.equal('No jobs.\n');
  });

  it('--insecure (or PUSH_JOBS_INSECURE=1) skips verification', async () => {
    expect((await cli(['push', 'jobs', 'list', '--insecure'])).exitCode).to.equal(0);
    process.env.PUSH_JOBS_INSECURE = '1';
    expect((await cli(['push', 'jobs', 'list'])).exitCode).to.equal(0);
    expect((await cli(['push', 'jobs', 'list', '--no-insecure'])).exitCode).to.equal(6);
  });
});
