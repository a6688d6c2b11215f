import { expect } from 'chai';
import { runCommand } from '@oclif/test';
import type { Job, JobList, PushApiClient } from '@push-jobs/protocol';
import { until } from '@push-jobs/testing';
import { CLI_ROOT, CliTestServer, cli, cliJson, isolateEnv, restoreEnv } from '../../../helpers/harness.js';

function pretty(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

describe('push jobs list, status, output, abort, watch', function () {
  this.timeout(60_000);
  let h: CliTestServer;
  let client: PushApiClient;
  let okJob: Job; // echo on web1 and web2, captured
  let failJob: Job; // fail on web1, captured

  async function startJob(body: {
    command: string;
    nodes: string[];
    capture_output?: boolean;
  }): Promise<Job> {
    const { id } = await client.startJob(body);
    return h.finalJob(id);
  }

  before(async () => {
    h = await CliTestServer.start();
    client = h.client();
    await h.startAgent('web1');
    await h.startAgent('web2');
    isolateEnv(h.env());
    // No jobs yet.
    const empty = await cli(['push', 'jobs', 'list']);
    expect(empty.stdout).to.equal('No jobs.\n');
    restoreEnv();
    okJob = await startJob({ command: 'echo', nodes: ['web1', 'web2'], capture_output: true });
    failJob = await startJob({ command: 'fail', nodes: ['web1'], capture_output: true });
  });
  after(async () => {
    client.close();
    await h.close();
  });
  beforeEach(async () => {
    isolateEnv(h.env());
    await h.waitAvailable('web1', 'web2');
  });
  afterEach(() => restoreEnv());

  describe('list', () => {
    it('prints a table, newest first', async () => {
      const run = await cli(['push', 'jobs', 'list']);
      expect(run.exitCode).to.equal(0);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines[0]).to.match(/^ID {32}STATUS {4}CREATED {15}COMMAND$/);
      expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).to.deep.equal([failJob.id, okJob.id]);
      expect(lines[1]).to.match(
        new RegExp(`^${failJob.id}  complete  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ  fail$`),
      );
    });

    it('--json gives the jobs as the server lists them, newest first (exact)', async () => {
      const { jobs } = await client.listJobs();
      const { json, run } = await cliJson(['push', 'jobs', 'list']);
      expect(run.exitCode).to.equal(0);
      expect(run.stdout).to.equal(pretty({ ok: true, data: [...jobs].reverse() }));
      expect((json as { data: JobList }).data.map((j) => j.id)).to.deep.equal([failJob.id, okJob.id]);
    });

    it('--status filters; --limit keeps the newest and says how many there are', async () => {
      const none = await cli(['push', 'jobs', 'list', '--status', 'running']);
      expect(none.stdout).to.equal('No jobs with status running.\n');
      const limited = await cli(['push', 'jobs', 'list', '--limit', '1']);
      const lines = limited.stdout.trimEnd().split('\n');
      expect(lines).to.have.length(3);
      expect(lines[1]!.startsWith(failJob.id)).to.equal(true);
      expect(lines[2]).to.equal('(1 of 2 jobs; raise --limit to see more)');
      const bad = await cli(['push', 'jobs', 'list', '--status', 'weird']);
      expect(bad.exitCode).to.equal(2);
      expect(bad.stderr).to.match(
        /^Error: Expected --status=weird to be one of: new, voting, running, complete/,
      );
    });

    it('runs through @oclif/test runCommand too', async () => {
      const { stdout, error } = await runCommand(['push', 'jobs', 'list', '--status', 'complete'], {
        root: CLI_ROOT,
      });
      expect(error).to.equal(undefined);
      expect(stdout).to.include(okJob.id);
    });
  });

  describe('status', () => {
    it('prints the job fields and the nodes grouped by state', async () => {
      const run = await cli(['push', 'jobs', 'status', failJob.id]);
      expect(run.exitCode).to.equal(0);
      const [details, results] = run.stdout.split('\n\n');
      expect(`${details}\n`).to.equal(
        [
          `id:             ${failJob.id}`,
          'command:        fail',
          'status:         complete',
          'quorum:         1 of 1 node',
          'run_timeout:    3600 s',
          'capture_output: true',
          `created_at:     ${failJob.created_at}`,
          `updated_at:     ${failJob.updated_at}`,
          'nodes (1):',
          '  failed (1): web1',
          '',
        ].join('\n'),
      );
      // The node's result: exit 3 and its duration from a server that keeps them, else '-'.
      expect(results).to.match(/^NODE +STATUS +EXIT +DURATION\nweb1 +failed +(3 +\d+\.\d{3} s|- +-)\n$/);
    });

    it('--json is the job (exact)', async () => {
      const { run } = await cliJson(['push', 'jobs', 'status', okJob.id]);
      expect(run.stdout).to.equal(pretty({ ok: true, data: okJob }));
    });

    it('an unknown job id: exit 4, one line with a hint', async () => {
      const run = await cli(['push', 'jobs', 'status', 'deadbeef']);
      expect(run.exitCode).to.equal(4);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.equal(
        `Error: job 'deadbeef' does not exist in organization 'acme'; list jobs with "push-jobs push jobs list"\n`,
      );
      const { json } = await cliJson(['push', 'jobs', 'status', 'deadbeef']);
      expect(json).to.deep.equal({
        ok: false,
        error: {
          code: 'PJ_ERR_NOT_FOUND',
          message: `job 'deadbeef' does not exist in organization 'acme'; list jobs with "push-jobs push jobs list"`,
          exitCode: 4,
        },
      });
    });
  });

  describe('output', () => {
    it('prints a node’s stdout exactly as captured', async () => {
      const run = await cli(['push', 'jobs', 'output', okJob.id, 'web1']);
      expect(run.exitCode).to.equal(0);
      expect(run.stdout).to.equal('hello\n');
    });

    it('--channel stderr', async () => {
      const run = await cli(['push', 'jobs', 'output', failJob.id, 'web1', '--channel', 'stderr']);
      expect(run.stdout).to.equal('oops\n');
      const bad = await cli(['push', 'jobs', 'output', failJob.id, 'web1', '--channel', 'stdin']);
      expect(bad.exitCode).to.equal(2);
      expect(bad.stderr).to.match(/^Error: Expected --channel=stdin to be one of: stdout, stderr/);
    });

    it('--json (exact)', async () => {
      const { run } = await cliJson(['push', 'jobs', 'output', okJob.id, 'web2']);
      expect(run.stdout).to.equal(
        pretty({
          ok: true,
          data: { job: okJob.id, node: 'web2', channel: 'stdout', output: 'hello\n', truncated: false },
        }),
      );
    });

    it('--all-nodes prints every node’s lines with a prefix', async () => {
      const run = await cli(['push', 'jobs', 'output', okJob.id, '--all-nodes']);
      expect(run.exitCode).to.equal(0);
      expect(run.stdout).to.equal('web1: hello\nweb2: hello\n');
      const { run: jr } = await cliJson(['push', 'jobs', 'output', okJob.id, '--all-nodes']);
      expect(jr.stdout).to.equal(
        pretty({
          ok: true,
          data: {
            job: okJob.id,
            channel: 'stdout',
            outputs: [
              { node: 'web1', output: 'hello\n', truncated: false },
              { node: 'web2', output: 'hello\n', truncated: false },
            ],
            without_output: [],
          },
        }),
      );
    });

    it('no output for a node: exit 4 with what to do', async () => {
      const run = await cli(['push', 'jobs', 'output', okJob.id, 'web9']);
      expect(run.exitCode).to.equal(4);
      expect(run.stderr).to.equal(
        `Error: no output for node 'web9' in job '${okJob.id}'; output exists only for jobs started with --capture, once the node printed something (on an original server: once it finished)\n`,
      );
    });

    it('NODE and --all-nodes together, or neither: exit 2', async () => {
      const both = await cli(['push', 'jobs', 'output', okJob.id, 'web1', '--all-nodes']);
      expect(both.exitCode).to.equal(2);
      expect(both.stderr).to.equal('Error: give either NODE or --all-nodes, not both\n');
      const neither = await cli(['push', 'jobs', 'output', okJob.id]);
      expect(neither.exitCode).to.equal(2);
      expect(neither.stderr).to.equal('Error: give the NODE whose output to print, or --all-nodes\n');
    });
  });

  describe('abort', () => {
    it('aborts a running job; the agent stops the command', async () => {
      const { id } = await client.startJob({ command: 'sleep', nodes: ['web1'] });
      await until(
        async () => ((await client.getJob(id)).nodes.running ?? []).includes('web1'),
        'web1 running',
      );
      const { json, run } = await cliJson(['push', 'jobs', 'abort', id]);
      expect(run.exitCode).to.equal(0);
      const job = await h.finalJob(id);
      expect(job.status).to.equal('aborted');
      expect(job.nodes).to.deep.equal({ aborted: ['web1'] });
      expect((json as { data: Job }).data).to.deep.include({
        id,
        status: 'aborted',
        nodes: { aborted: ['web1'] },
      });
    });

    it('prints Aborted. and the job', async () => {
      const { id } = await client.startJob({ command: 'sleep', nodes: ['web2'] });
      await until(
        async () => ((await client.getJob(id)).nodes.running ?? []).includes('web2'),
        'web2 running',
      );
      const run = await cli(['push', 'jobs', 'abort', id]);
      expect(run.stdout.split('\n').slice(0, 4)).to.deep.equal([
        'Aborted.',
        `id:             ${id}`,
        'command:        sleep',
        'status:         aborted',
      ]);
      expect(run.stdout).to.include('\n  aborted (1): web2\n');
      await h.finalJob(id);
    });

    it('a finished job: exit 7', async () => {
      const run = await cli(['push', 'jobs', 'abort', okJob.id]);
      expect(run.exitCode).to.equal(7);
      expect(run.stderr).to.equal(
        `Error: job '${okJob.id}' already finished (complete); there is nothing to abort\n`,
      );
    });

    it('an unknown job: exit 4', async () => {
      const run = await cli(['push', 'jobs', 'abort', 'nope']);
      expect(run.exitCode).to.equal(4);
      expect(run.stderr).to.equal(
        `Error: job 'nope' does not exist in organization 'acme'; check the job ID\n`,
      );
    });

    it('a user who may only read: exit 5', async () => {
      isolateEnv(h.env('bob'));
      const { id } = await client.startJob({ command: 'sleep', nodes: ['web1'] });
      const run = await cli(['push', 'jobs', 'abort', id]);
      expect(run.exitCode).to.equal(5);
      expect(run.stderr).to.match(
        /^Error: permission denied as 'bob' \(403\): .*; ask an organization admin for access/,
      );
      await client.abortJob(id);
      await h.finalJob(id);
    });
  });

  describe('watch', () => {
    it('prints the events of a live job until it completes', async () => {
      const { id } = await client.startJob({ command: 'sleep', nodes: ['web1'] });
      await until(
        async () => ((await client.getJob(id)).nodes.running ?? []).includes('web1'),
        'web1 running',
      );
      const watching = cli(['push', 'jobs', 'watch', id]);
      await until(() => h.server.feeds.jobListenerCount('acme', id) > 0, 'the watcher to subscribe');
      await client.abortJob(id);
      const run = await watching;
      expect(run.exitCode).to.equal(0);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines.map((l) => l.split(/\s+/)[2])).to.deep.equal([
        'start',
        'quorum_vote',
        'quorum_succeeded',
        'run_start',
        'job_complete',
      ]);
      expect(lines[0]).to.match(
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}Z {2}start {12}command=sleep run_timeout=3600 quorum=1 node_count=1 user=alice capture=false$/,
      );
      expect(lines[1]).to.match(/ {2}quorum_vote {6}node=web1 status=success$/);
      expect(lines[4]).to.match(/ {2}job_complete {5}status=aborted$/);
      expect((run.result as { ended: string }).ended).to.equal('job_complete');
    });

    it('a job gone from memory gives one summary event', async () => {
      await until(() => !h.server.feeds.hasJob('acme', okJob.id), 'the job log to expire');
      const run = await cli(['push', 'jobs', 'watch', okJob.id]);
      expect(run.exitCode).to.equal(0);
      expect(run.stdout).to.match(/^\S+ \S+ {2}summary {10}id=[0-9a-f]{32} command=echo status=complete /);
      expect(run.stdout.trimEnd().split('\n')).to.have.length(1);
    });

    it('follows the organization feed; --count ends it; --json gives the events (exact)', async () => {
      const watching = cliJson(['push', 'jobs', 'watch', '--count', '2']);
      // The feed has no history: start the job once the watcher is subscribed.
      await until(() => h.server.feeds.orgListenerCount('acme') > 0, 'the watcher to subscribe');
      const { id } = await client.startJob({ command: 'echo', nodes: ['web2'] });
      const { json, run } = await watching;
      expect(run.exitCode).to.equal(0);
      const data = (
        json as {
          data: {
            job: null;
            ended: string;
            events: { event: string; id: string; data: Record<string, unknown> }[];
          };
        }
      ).data;
      expect(data.job).to.equal(null);
      expect(data.ended).to.equal('count');
      expect(data.events.map((e) => [e.event, e.data['job']])).to.deep.equal([
        ['start', id],
        ['job_complete', id],
      ]);
      expect(data.events[0]!.id).to.match(/^org-\d+$/);
      expect(run.stdout).to.equal(pretty(json));
      await h.finalJob(id);
    });

    it('an unknown job: exit 4', async () => {
      const run = await cli(['push', 'jobs', 'watch', 'nope']);
      expect(run.exitCode).to.equal(4);
      expect(run.stderr).to.equal(
        `Error: job 'nope' does not exist in organization 'acme'; check the job ID\n`,
      );
    });
  });
});
