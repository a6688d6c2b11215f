import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { expect } from 'chai';
import { until } from '@push-jobs/testing';
import { CLI_ROOT, CliTestServer, cli, isolateEnv, restoreEnv } from '../../../helpers/harness.js';

interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `env` without FORCE_COLOR. */
function withoutForcedColor(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { FORCE_COLOR: _forced, ...rest } = env;
  return rest;
}

/**
 * Runs the standalone `push-jobs` bin (compiled lib/) as a child process, sends it SIGINT once
 * `ready(stdout so far)` holds (checked every 25 ms), and returns how it ended.
 */
async function runAndInterrupt(
  args: string[],
  env: Record<string, string>,
  ready: (stdout: string) => Promise<boolean>,
): Promise<ChildRun> {
  const child = spawn(process.execPath, [join(CLI_ROOT, 'bin', 'run.js'), ...args], {
    // No FORCE_COLOR from a parent (lerna sets it): the output is checked as plain text.
    env: { ...withoutForcedColor(process.env), ...env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
  try {
    await until(() => ready(stdout), 'the job to run');
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}; stdout: ${stdout}; stderr: ${stderr}`);
  }
  child.kill('SIGINT');
  const code = await exited;
  return { code, stdout, stderr };
}

describe('push jobs start: Ctrl-C while waiting (the real bin, as a child process)', function () {
  this.timeout(60_000);
  let h: CliTestServer;

  before(async () => {
    h = await CliTestServer.start();
    await h.startAgent('web1');
  });
  after(async () => {
    await h.close();
  });
  beforeEach(async () => {
    isolateEnv();
    await h.waitAvailable('web1');
  });
  afterEach(() => restoreEnv());

  const webRunning = async (id: string): Promise<boolean> => {
    const client = h.client();
    const job = await client.getJob(id);
    client.close();
    return (job.nodes.running ?? []).includes('web1');
  };
  const running = async (stdout: string): Promise<boolean> => {
    const id = /Job ID: ([0-9a-f]{32})/.exec(stdout)?.[1];
    return id !== undefined && stdout.includes('Running.') && webRunning(id);
  };

  it('--abort-on-interrupt aborts the job and exits 130', async () => {
    const env = { HOME: process.env.HOME!, ...h.env() };
    const out = await runAndInterrupt(
      ['push', 'jobs', 'start', 'sleep', 'web1', '--progress', 'plain', '--abort-on-interrupt'],
      env,
      running,
    );
    const id = /Job ID: ([0-9a-f]{32})/.exec(out.stdout)![1]!;
    expect(out.code).to.equal(130);
    expect(out.stdout).to.equal(`Started.  Job ID: ${id}\nVoting.\nRunning.\nAborted.\n`);
    expect(out.stderr).to.equal(`Error: interrupted; job ${id} aborted\n`);
    const job = await h.finalJob(id);
    expect(job.status).to.equal('aborted');
    expect(job.nodes).to.deep.equal({ aborted: ['web1'] });
  });

  it('without a terminal to ask on, leaves the job running and says how to follow it (exit 130)', async () => {
    const env = { HOME: process.env.HOME!, ...h.env() };
    const out = await runAndInterrupt(
      ['push', 'jobs', 'start', 'sleep', 'web1', '--progress', 'plain'],
      env,
      running,
    );
    const id = /Job ID: ([0-9a-f]{32})/.exec(out.stdout)![1]!;
    expect(out.code).to.equal(130);
    expect(out.stderr).to.equal(
      `Job ${id} was not aborted; follow it with: push-jobs push jobs watch ${id}\nError: interrupted; job ${id} continues\n`,
    );
    const client = h.client();
    expect((await client.getJob(id)).status).to.equal('running');
    await client.abortJob(id);
    client.close();
    await h.finalJob(id);
  });

  it('with --json, the interruption is the error envelope with the aborted job', async () => {
    const env = { HOME: process.env.HOME!, ...h.env() };
    let id = '';
    const out = await runAndInterrupt(
      ['push', 'jobs', 'start', 'sleep', 'web1', '--abort-on-interrupt', '--json'],
      env,
      // --json prints nothing while waiting: find the job through the API.
      async () => {
        if (id !== '') return webRunning(id);
        const client = h.client();
        const { jobs } = await client.listJobs({ status: 'running' });
        client.close();
        id = jobs[0]?.id ?? '';
        return false;
      },
    );
    expect(out.code).to.equal(130);
    const envelope = JSON.parse(out.stdout) as {
      ok: boolean;
      data: { id: string; status: string };
      error: unknown;
    };
    expect(envelope.ok).to.equal(false);
    expect(envelope.data.status).to.equal('aborted');
    expect(envelope.error).to.deep.equal({
      code: 'PJ_ERR_INTERRUPTED',
      message: `interrupted; job ${envelope.data.id} aborted`,
      exitCode: 130,
    });
  });
});

describe('push jobs start against a Push Jobs 1.0 server', function () {
  this.timeout(30_000);
  let server: Server;
  let url = '';
  const bodies: unknown[] = [];

  // The original 1.0 server: only command, nodes, quorum and run_timeout; anything else is
  // "invalid key supplied" (spec 1.5 step 2).
  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(text) as Record<string, unknown>;
        bodies.push(body);
        res.setHeader('content-type', 'application/json');
        if (Object.keys(body).some((k) => !['command', 'nodes', 'quorum', 'run_timeout'].includes(k))) {
          res.writeHead(400).end(JSON.stringify({ error: 'invalid key supplied' }));
          return;
        }
        res
          .writeHead(201)
          .end(
            JSON.stringify({ uri: `${url}/organizations/acme/pushy/jobs/0123456789abcdef0123456789abcdef` }),
          );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  beforeEach(() => {
    bodies.length = 0;
    const home = isolateEnv();
    const key = join(home, 'k.pem');
    writeFileSync(
      key,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }),
    );
    Object.assign(process.env, {
      PUSH_JOBS_SERVER_URL: `${url}/organizations/acme`,
      PUSH_JOBS_USER: 'alice',
      PUSH_JOBS_KEY: key,
    });
  });
  afterEach(() => restoreEnv());

  it('falls back to the 1.0 body after "invalid key supplied", as knife-push does', async () => {
    const run = await cli([
      'push',
      'jobs',
      'start',
      'chef-client',
      'a',
      'b',
      '-q',
      '1',
      '--timeout',
      '60',
      '-b',
    ]);
    expect(run.exitCode).to.equal(0);
    expect(run.stderr).to.equal('Warning: Falling back to Push Jobs v1 mode.\n');
    expect(run.stdout).to.equal('Started.  Job ID: 0123456789abcdef0123456789abcdef\n');
    expect(bodies).to.deep.equal([
      {
        command: 'chef-client',
        nodes: ['a', 'b'],
        quorum: 1,
        run_timeout: 60,
        capture_output: false,
        env: {},
      },
      { command: 'chef-client', nodes: ['a', 'b'], quorum: 1, run_timeout: 60 },
    ]);
  });

  const refused: [string, string[], string][] = [
    [
      '--with-env',
      ['--with-env', '{"A":"1"}'],
      "Sending Environment attributes isn't possible for Push Jobs 1.0",
    ],
    ['--in-dir', ['--in-dir', '/srv'], "Can't use a 2.0 feature (in_dir) with a 1.0 server"],
    ['--as-user', ['--as-user', 'deploy'], "Can't use a 2.0 feature (as_user) with a 1.0 server"],
  ];
  for (const [flag, args, message] of refused) {
    it(`refuses ${flag} against a 1.0 server (exit 2)`, async () => {
      const run = await cli(['push', 'jobs', 'start', 'chef-client', 'a', '-b', ...args]);
      expect(run.exitCode).to.equal(2);
      expect(run.stderr).to.equal(`Warning: Falling back to Push Jobs v1 mode.\nError: ${message}\n`);
      expect(bodies).to.have.length(1);
    });
  }
});
