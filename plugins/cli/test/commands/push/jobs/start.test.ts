import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Job } from '@push-jobs/protocol';
import { until } from '@push-jobs/testing';
import { CliTestServer, cli, cliJson, isolateEnv, restoreEnv } from '../../../helpers/harness.js';

const JOB_ID = /^Started\. {2}Job ID: ([0-9a-f]{32})$/m;

function jobId(stdout: string): string {
  const m = JOB_ID.exec(stdout);
  if (m === null) throw new Error(`no job id in: ${stdout}`);
  return m[1]!;
}

function pretty(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

describe('push jobs start', function () {
  this.timeout(60_000);
  let h: CliTestServer;

  before(async () => {
    h = await CliTestServer.start();
    await h.startAgent('web1');
    await h.startAgent('web2');
  });
  after(async () => {
    await h.close();
  });
  beforeEach(async () => {
    isolateEnv(h.env());
    await h.waitAvailable('web1', 'web2');
  });
  afterEach(() => restoreEnv());

  it('runs a job to completion: plain progress lines, the job, exit 0', async () => {
    const run = await cli(['push', 'jobs', 'start', 'echo', 'web1', 'web2', '--progress', 'plain']);
    expect(run.exitCode).to.equal(0);
    const id = jobId(run.stdout);
    const lines = run.stdout.split('\n');
    expect(lines.slice(0, 3)).to.deep.equal([`Started.  Job ID: ${id}`, 'Voting.', 'Running.']);
    // The two nodes finish in either order, then the job.
    expect(lines.slice(3, 5).sort()).to.deep.equal(['web1: succeeded', 'web2: succeeded']);
    expect(lines[5]).to.equal('Complete.');
    expect(run.stdout).to.include(`\nid:             ${id}\n`);
    expect(run.stdout).to.include('\nstatus:         complete\n');
    expect(run.stdout).to.include('\nquorum:         2 of 2 nodes\n');
    expect(run.stdout).to.include('\n  succeeded (2): web1, web2\n');
    expect(run.stderr).to.equal('');
    const job = run.result as Job;
    expect(job.status).to.equal('complete');
    expect(job.nodes).to.deep.equal({ succeeded: ['web1', 'web2'] });
  });

  it('--json prints nothing but the envelope with the final job', async () => {
    const { json, run } = await cliJson(['push', 'jobs', 'start', 'echo', 'web1']);
    expect(run.exitCode).to.equal(0);
    const data = (json as { data: Job }).data;
    const job = await h.finalJob(data.id);
    expect(run.stdout).to.equal(pretty({ ok: true, data: job }));
    expect(job).to.deep.include({
      command: 'echo',
      status: 'complete',
      quorum: 1,
      run_timeout: 3600,
      env: {},
    });
    expect(job.nodes).to.deep.equal({ succeeded: ['web1'] });
  });

  it('sends the knife-push request body: quorum from a percentage, timeout, env, dir, user, capture', async () => {
    const { json, run } = await cliJson([
      'push',
      'jobs',
      'start',
      'echo',
      'web1',
      'web2',
      '--nowait',
      '-q',
      '50%',
      '--timeout',
      '120',
      '--with-env',
      '{"RELEASE":"42"}',
      '--in-dir',
      '/tmp',
      '--as-user',
      'nobody-at-all',
      '--capture',
    ]);
    expect(run.exitCode).to.equal(0);
    const started = (json as { data: { id: string; uri: string } }).data;
    expect(run.stdout).to.equal(
      pretty({ ok: true, data: { id: started.id, uri: `${h.orgUrl}/pushy/jobs/${started.id}` } }),
    );
    const job = await h.finalJob(started.id);
    expect(job).to.deep.include({
      command: 'echo',
      quorum: 1,
      run_timeout: 120,
      env: { RELEASE: '42' },
      dir: '/tmp',
      user: 'nobody-at-all',
      capture_output: true,
    });
  });

  it('--nowait prints the job id and exits 0 at once', async () => {
    const run = await cli(['push', 'jobs', 'start', 'echo', 'web1', '-b']);
    expect(run.exitCode).to.equal(0);
    expect(run.stdout).to.equal(`Started.  Job ID: ${jobId(run.stdout)}\n`);
    expect(run.result).to.deep.equal({
      id: jobId(run.stdout),
      uri: `${h.orgUrl}/pushy/jobs/${jobId(run.stdout)}`,
    });
    await h.finalJob(jobId(run.stdout));
  });

  it('a failing command: exit 1, one error line naming the failed nodes', async () => {
    const run = await cli(['push', 'jobs', 'start', 'fail', 'web1', '--progress', 'plain']);
    expect(run.exitCode).to.equal(1);
    const id = jobId(run.stdout);
    expect(run.stdout).to.include('\nweb1: failed\nComplete.\n');
    expect(run.stderr).to.equal(`Error: job ${id} did not fully succeed (status complete; failed: web1)\n`);
  });

  it('a failing command with --json: the error envelope carries the job', async () => {
    const { json, run } = await cliJson(['push', 'jobs', 'start', 'fail', 'web1']);
    expect(run.exitCode).to.equal(1);
    const job = await h.finalJob((json as { data: Job }).data.id);
    expect(run.stdout).to.equal(
      pretty({
        ok: false,
        data: job,
        error: {
          code: 'PJ_ERR_JOB_FAILED',
          message: `job ${job.id} did not fully succeed (status complete; failed: web1)`,
          exitCode: 1,
        },
      }),
    );
    expect(run.stderr).to.equal('');
  });

  it('nacked and unavailable nodes still count as success (knife-push rule)', async () => {
    // web3 has no agent: unavailable; a quorum of 1 lets the job run on web1.
    const run = await cli([
      'push',
      'jobs',
      'start',
      'echo',
      'web1',
      'web3',
      '-q',
      '1',
      '--progress',
      'plain',
    ]);
    expect(run.stdout).to.include('web3: unavailable\n');
    expect(run.stdout).to.include('web1: succeeded\n');
    expect((run.result as Job).nodes).to.deep.equal({ succeeded: ['web1'], unavailable: ['web3'] });
    expect(run.exitCode).to.equal(0);
  });

  it('a command off the whitelist is nacked; with quorum 100% the job fails quorum (exit 1)', async () => {
    const run = await cli(['push', 'jobs', 'start', 'rm-rf', 'web1', '--progress', 'plain']);
    expect(run.exitCode).to.equal(1);
    expect(run.stdout).to.include('\nweb1: nacked\nQuorum_failed.\n');
    expect(run.stderr).to.match(/did not fully succeed \(status quorum_failed\)\n$/);
  });

  it('names the job a nacking node is busy with: on its progress line, else after the job', async () => {
    const client = h.client();
    // The server reports what nodes are doing (node_states `state`) and why a node nacked.
    expect((await client.listNodeStates()).some((n) => n.state !== undefined)).to.equal(true);
    try {
      const { id: other } = await client.startJob({ command: 'sleep', nodes: ['web1'] });
      await until(async () => (await client.getNodeState('web1')).state === 'running', 'web1 running');
      const busyLine = `web1 nacked: busy running job ${other}`;
      // Following the feed: the vote says why, on web1's progress line.
      const fed = await cli([
        'push',
        'jobs',
        'start',
        'echo',
        'web1',
        'web2',
        '-q',
        '1',
        '--progress',
        'plain',
      ]);
      expect(fed.exitCode).to.equal(0);
      expect(fed.stdout).to.include(`\nweb1: nacked (busy running job ${other})\n`);
      expect(fed.stdout).to.not.include(busyLine);
      // No progress lines: after the job.
      const quiet = await cli([
        'push',
        'jobs',
        'start',
        'echo',
        'web1',
        'web2',
        '-q',
        '1',
        '--progress',
        'none',
      ]);
      expect(quiet.stdout.endsWith(`\n  nacked (1):    web1\n${busyLine}\n`)).to.equal(true, quiet.stdout);
      // Polling sees no votes: one look at the node states after the job names the job.
      const polled = await cli([
        'push',
        'jobs',
        'start',
        'echo',
        'web1',
        'web2',
        '-q',
        '1',
        '--no-feed',
        '--poll-interval',
        '0.05',
        '--progress',
        'plain',
      ]);
      expect(polled.stdout).to.include('\nweb1: nacked\n');
      expect(polled.stdout.endsWith(`\n${busyLine}\n`)).to.equal(true, polled.stdout);
      // --json stays the job alone.
      const { json } = await cliJson(['push', 'jobs', 'start', 'echo', 'web1', 'web2', '-q', '1']);
      expect((json as { data: Job }).data.nodes).to.deep.equal({ succeeded: ['web2'], nacked: ['web1'] });
      await client.abortJob(other);
      await h.finalJob(other);
      await until(async () => (await client.getNodeState('web1')).state === 'idle', 'web1 idle again');
    } finally {
      client.close();
    }
  });

  it('polls instead of following the feed with --no-feed, with the same lines', async () => {
    const run = await cli([
      'push',
      'jobs',
      'start',
      'echo',
      'web1',
      '--no-feed',
      '--poll-interval',
      '0.05',
      '--progress',
      'plain',
    ]);
    expect(run.exitCode).to.equal(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).to.match(JOB_ID);
    expect(lines).to.include('web1: succeeded');
    expect(lines).to.include('Complete.');
  });

  it('shows live progress when asked (as on a terminal)', async () => {
    const run = await cli(['push', 'jobs', 'start', 'echo', 'web1', '--progress', 'live']);
    expect(run.exitCode).to.equal(0);
    // The capture strips the escape sequences (clear line); the carriage returns stay.
    expect(run.stdout).to.include('\r');
    expect(run.stdout).to.include('✔ web1 succeeded\n');
    expect(run.stdout).to.include('Complete.\n');
    expect(run.stdout).to.match(/ 1\/1 done /);
  });

  it('--progress none prints only the id and the job', async () => {
    const run = await cli(['push', 'jobs', 'start', 'echo', 'web1', '--progress', 'none']);
    expect(run.exitCode).to.equal(0);
    expect(run.stdout.split('\n')[1]).to.equal('');
    expect(run.stdout).to.not.include('Voting.');
  });

  it('sends a file with --file (raw: text), which the job reads', async () => {
    const path = join(h.dataDir, 'payload.txt');
    writeFileSync(path, 'file contents\n');
    const run = await cli([
      'push',
      'jobs',
      'start',
      'cat-file',
      'web1',
      '--file',
      path,
      '--capture',
      '--json',
    ]);
    expect(run.exitCode).to.equal(0);
    const job = (JSON.parse(run.stdout) as { data: Job }).data;
    expect(job.file_specified).to.equal(true);
    const client = h.client();
    expect((await client.getJob(job.id, { includeFile: true })).file).to.equal('raw:file contents\n');
    expect(await client.getJobOutput(job.id, 'web1', 'stdout')).to.deep.equal({
      output: 'file contents\n',
      truncated: false,
    });
    client.close();
  });

  it('passes --with-env to the command', async () => {
    const run = await cli([
      'push',
      'jobs',
      'start',
      'env',
      'web1',
      '--with-env',
      '{"RELEASE":"7"}',
      '--capture',
      '--json',
    ]);
    const job = (JSON.parse(run.stdout) as { data: Job }).data;
    const client = h.client();
    expect((await client.getJobOutput(job.id, 'web1', 'stdout')).output).to.equal('release=7\n');
    client.close();
  });

  it('runs on the nodes the server’s search finds, with the node arguments; the job records the search', async () => {
    await h.createNode('web1', { roles: ['web'] });
    await h.createNode('web2', { roles: ['web'] });
    await h.createNode('db1', { roles: ['db'] });
    await h.startAgent('db1');
    const run = await cli(['push', 'jobs', 'start', 'echo', 'db1', '-s', 'roles:web', '--progress', 'none']);
    expect(run.exitCode, run.stderr).to.equal(0);
    expect((run.result as Job).nodes).to.deep.equal({ succeeded: ['db1', 'web1', 'web2'] });
    expect((run.result as Job).search).to.equal('roles:web');
    expect(run.stderr).to.equal('');
  });

  describe('bad input (exit 2, one line, nothing started)', () => {
    const cases: [string, string[], string | RegExp][] = [
      [
        'a bad quorum',
        ['echo', 'web1', 'web2', '-q', 'most'],
        'invalid quorum "most" (expected a node count from 0 to 2, or a percentage from 0% to 100%)',
      ],
      [
        'a quorum above the node count',
        ['echo', 'web1', '-q', '3'],
        'invalid quorum "3" (expected a node count from 0 to 1, or a percentage from 0% to 100%)',
      ],
      [
        'bad JSON in --with-env',
        ['echo', 'web1', '--with-env', '{RELEASE: 1}'],
        /^invalid --with-env: not JSON \(.*position 1.*\); give a JSON object such as '\{"NAME":"value"\}'$/,
      ],
      [
        '--with-env values that are not strings',
        ['echo', 'web1', '--with-env', '{"A":1,"B":"x","C":true}'],
        "invalid --with-env: the value of 'A', 'C' is not a string; quote every value",
      ],
      [
        'a missing --file',
        ['echo', 'web1', '--file', '/nonexistent/payload'],
        '/nonexistent/payload not found; check --file',
      ],
      [
        'a negative --reconnect-timeout',
        ['echo', 'web1', '--reconnect-timeout', '-1'],
        'Parsing --reconnect-timeout Expected a number of seconds >= 0 but received: -1 See more help with --help',
      ],
      [
        'a --reconnect-timeout that is not a number',
        ['echo', 'web1', '--reconnect-timeout', 'soon'],
        'Parsing --reconnect-timeout Expected a number of seconds >= 0 but received: soon See more help with --help',
      ],
      [
        'a --poll-interval below its minimum',
        ['echo', 'web1', '--poll-interval', '0'],
        'Parsing --poll-interval Expected a number of seconds >= 0.01 but received: 0 See more help with --help',
      ],
      [
        'no nodes',
        ['echo'],
        'No nodes to run job on. Specify nodes as arguments or use -s to specify a search query.',
      ],
      [
        'a bad search query',
        ['echo', '-s', 'roles:(web'],
        // Resolved by the server: its 400 (or, from a server that cannot, the CLI's own search's).
        /^(the server rejected the request \(400\): .+|search failed: invalid search query: .*; check the query syntax \(field:value\))$/,
      ],
    ];
    for (const [what, args, message] of cases) {
      it(what, async () => {
        const client = h.client();
        const before = (await client.listJobs()).jobs.length;
        const run = await cli(['push', 'jobs', 'start', ...args]);
        expect(run.exitCode).to.equal(2);
        if (typeof message === 'string') expect(run.stderr).to.equal(`Error: ${message}\n`);
        else expect(run.stderr.replace(/^Error: /, '').replace(/\n$/, '')).to.match(message);
        expect(run.stderr.split('\n')).to.have.length(2);
        expect(run.stdout).to.equal('');
        expect((await client.listJobs()).jobs.length).to.equal(before);
        client.close();
      });
    }

    it('a bad PUSH_JOBS_RECONNECT_TIMEOUT is the same usage error', async () => {
      process.env.PUSH_JOBS_RECONNECT_TIMEOUT = '-5';
      const run = await cli(['push', 'jobs', 'start', 'echo', 'web1']);
      expect(run.exitCode).to.equal(2);
      expect(run.stderr).to.equal(
        'Error: Parsing --reconnect-timeout Expected a number of seconds >= 0 but received: -5 See more help with --help\n',
      );
      expect(run.stdout).to.equal('');
      const watch = await cli(['push', 'jobs', 'watch', 'x']);
      expect(watch.exitCode).to.equal(2);
      expect(watch.stderr).to.match(/^Error: Parsing --reconnect-timeout Expected a number of seconds >= 0/);
    });

    it('the same failure under --json is the error envelope', async () => {
      const { json, run } = await cliJson(['push', 'jobs', 'start', 'echo', 'web1', '-q', '150%']);
      expect(run.exitCode).to.equal(2);
      expect(json).to.deep.equal({
        ok: false,
        error: {
          code: 'PJ_ERR_INVALID_QUORUM',
          message:
            'invalid quorum "150%" (expected a node count from 0 to 1, or a percentage from 0% to 100%)',
          exitCode: 2,
        },
      });
    });

    it('a missing COMMAND is a usage error', async () => {
      const { json, run } = await cliJson(['push', 'jobs', 'start']);
      expect(run.exitCode).to.equal(2);
      expect(json).to.deep.equal({
        ok: false,
        error: {
          code: 'PJ_ERR_USAGE',
          message:
            'Missing 1 required arg: command Job name: a key of the nodes’ whitelist. See more help with --help',
          exitCode: 2,
        },
      });
    });
  });
});
