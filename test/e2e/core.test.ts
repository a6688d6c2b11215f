// One real server process and three real agent processes (self-registered with the validator
// key): jobs through the REST API, end to end.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { PushApiClient } from '@push-jobs/protocol';
import { isAlive, sleep, until } from '@push-jobs/testing';
import { AgentProcess } from '../helpers/agent-process.js';
import { ServerProcess } from '../helpers/server-process.js';
import { waitForAvailability, waitForJob } from '../helpers/wait.js';

const NODES = ['alpha', 'beta', 'gamma'];

describe('end to end: server and agent processes', function () {
  this.timeout(120_000);
  let server: ServerProcess;
  let api: PushApiClient;
  const agents = new Map<string, AgentProcess>();
  let scratch: string;

  function whitelist(): Record<string, unknown> {
    return {
      hello: 'echo hello from $CHEF_PUSH_NODE_NAME',
      fail: 'echo failing >&2; exit 3',
      slow: `sh -c 'echo $$ > ${scratch}/$CHEF_PUSH_NODE_NAME-$CHEF_PUSH_JOB_ID.pid; sleep 60'`,
      big: "head -c 200000 /dev/zero | tr '\\0' x",
      file: 'cat "$CHEF_PUSH_JOB_FILE"',
      greet: 'echo "$GREETING"',
      pwd: 'pwd',
      whoami: 'id -un',
    };
  }

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'pj-e2e-'));
    server = await ServerProcess.start({ heartbeatIntervalMs: 200 });
    api = server.adminClient();
    for (const node of NODES)
      agents.set(node, await AgentProcess.start(server, { node, whitelist: whitelist() }));
    await waitForAvailability(api, NODES, 'available', 30_000);
  });

  after(async () => {
    api?.close();
    await Promise.all([...agents.values()].map((a) => a.remove()));
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('agents registered themselves: clients and nodes exist on the server', async () => {
    const clients = (await api.request('GET', 'clients')) as Record<string, string>;
    const nodes = (await api.request('GET', 'nodes')) as Record<string, string>;
    for (const n of NODES) {
      expect(clients).to.have.property(n);
      expect(nodes).to.have.property(n);
    }
  });

  it('runs a job on every node to complete and captures each output', async () => {
    const { id } = await api.startJob({ command: 'hello', nodes: NODES, capture_output: true });
    const job = await waitForJob(api, id);
    expect(job.status).to.equal('complete');
    expect(job.nodes).to.deep.equal({ succeeded: NODES });
    for (const n of NODES) {
      expect((await api.getJobOutput(id, n, 'stdout')).output).to.equal(`hello from ${n}\n`);
    }
  });

  it('reports failed nodes of a failing command, with stderr', async () => {
    const { id } = await api.startJob({ command: 'fail', nodes: ['alpha'], capture_output: true });
    const job = await waitForJob(api, id);
    expect(job.status).to.equal('complete');
    expect(job.nodes).to.deep.equal({ failed: ['alpha'] });
    expect((await api.getJobOutput(id, 'alpha', 'stderr')).output).to.equal('failing\n');
  });

  it('quorum by count: met with an unknown node unavailable, failed when it needs that node', async () => {
    const nodes = [...NODES, 'ghost'];
    const met = await waitForJob(api, (await api.startJob({ command: 'hello', nodes, quorum: 3 })).id);
    expect(met.status).to.equal('complete');
    expect(met.nodes).to.deep.equal({ succeeded: NODES, unavailable: ['ghost'] });
    const failed = await waitForJob(api, (await api.startJob({ command: 'hello', nodes, quorum: 4 })).id);
    expect(failed.status).to.equal('quorum_failed');
    // The early quorum failure sent the nodes that had not voted `abort` (rehab): they are
    // available again only once they answered it, which the next test needs.
    await waitForAvailability(api, NODES, 'available', 30_000);
  });

  it('a command that is not allow-listed is nacked and never executed', async () => {
    const marker = join(scratch, 'must-not-exist');
    const { id } = await api.startJob({ command: `touch ${marker}`, nodes: NODES, quorum: 1 });
    const job = await waitForJob(api, id);
    expect(job.status).to.equal('quorum_failed');
    expect(job.nodes).to.deep.equal({ nacked: NODES });
    await sleep(300);
    expect(existsSync(marker)).to.equal(false);
  });

  function pidsOf(id: string): number[] {
    return readdirSync(scratch)
      .filter((f) => f.endsWith(`-${id}.pid`))
      .map((f) => Number(readFileSync(join(scratch, f), 'utf8').trim()));
  }

  it('a run timeout ends the job timed_out and really kills the processes', async () => {
    const { id } = await api.startJob({ command: 'slow', nodes: ['alpha', 'beta'], run_timeout: 2 });
    await until(() => pidsOf(id).length === 2, 'both slow processes started');
    const pids = pidsOf(id);
    expect(pids.every(isAlive)).to.equal(true);
    const job = await waitForJob(api, id);
    expect(job.status).to.equal('timed_out');
    await until(() => !pids.some(isAlive), 'the processes killed', 15_000);
  });

  it('an abort through the API ends the job aborted and kills the processes', async () => {
    const { id } = await api.startJob({ command: 'slow', nodes: NODES });
    await until(() => pidsOf(id).length === 3, 'the slow processes started');
    const pids = pidsOf(id);
    await api.abortJob(id);
    const job = await waitForJob(api, id);
    expect(job.status).to.equal('aborted');
    expect(job.nodes).to.deep.equal({ aborted: NODES });
    await until(() => !pids.some(isAlive), 'the processes killed', 15_000);
  });

  it('output over the limit of the final message is kept whole by the live stream (under its 1 MiB cap)', async () => {
    const { id } = await api.startJob({ command: 'big', nodes: ['gamma'], capture_output: true });
    const job = await waitForJob(api, id);
    expect(job.status).to.equal('complete');
    const out = await api.getJobOutput(id, 'gamma', 'stdout');
    // The final message was cut at the agent's limit; the streamed output is complete and longer.
    expect(out.truncated).to.equal(false);
    expect(out.output).to.equal('x'.repeat(200_000));
  });

  it('transfers a file to the job (CHEF_PUSH_JOB_FILE)', async () => {
    const content = 'line one\nline two\n';
    const { id } = await api.startJob({
      command: 'file',
      nodes: ['beta'],
      capture_output: true,
      file: `base64:${Buffer.from(content).toString('base64')}`,
    });
    expect((await waitForJob(api, id)).status).to.equal('complete');
    expect((await api.getJobOutput(id, 'beta', 'stdout')).output).to.equal(content);
  });

  it('passes env and dir to the job, and runs it as another user', async function () {
    const env = await waitForJob(
      api,
      (
        await api.startJob({
          command: 'greet',
          nodes: ['alpha'],
          capture_output: true,
          env: { GREETING: 'hi there' },
        })
      ).id,
    );
    expect(env.status).to.equal('complete');
    const pwd = await waitForJob(
      api,
      (await api.startJob({ command: 'pwd', nodes: ['alpha'], capture_output: true, dir: scratch })).id,
    );
    expect(pwd.status).to.equal('complete');
    const [greetJob, pwdJob] = [env, pwd];
    expect((await api.getJobOutput(greetJob.id, 'alpha', 'stdout')).output).to.equal('hi there\n');
    expect((await api.getJobOutput(pwdJob.id, 'alpha', 'stdout')).output).to.equal(`${scratch}\n`);
    if (process.getuid?.() !== 0) {
      // Switching users needs root; CI runs as root, where this part runs.
      return;
    }
    const who = await waitForJob(
      api,
      (await api.startJob({ command: 'whoami', nodes: ['alpha'], capture_output: true, user: 'nobody' })).id,
    );
    expect(who.status).to.equal('complete');
    expect((await api.getJobOutput(who.id, 'alpha', 'stdout')).output).to.equal('nobody\n');
  });

  it('streams a job’s events in order on its SSE feed', async () => {
    const { id } = await api.startJob({ command: 'hello', nodes: NODES });
    await waitForJob(api, id);
    const feed = await api.jobEvents(id);
    const names: string[] = [];
    for await (const event of feed) {
      names.push(event.event);
      if (event.event === 'job_complete') break;
    }
    feed.close();
    expect(names[0]).to.equal('start');
    expect(names.at(-1)).to.equal('job_complete');
    const votes = names.filter((n) => n === 'quorum_vote').length;
    const runs = names.filter((n) => n === 'run_complete').length;
    expect(votes).to.equal(3);
    expect(runs).to.equal(3);
    expect(names.indexOf('quorum_succeeded')).to.be.greaterThan(names.lastIndexOf('quorum_vote'));
    expect(names.indexOf('run_complete')).to.be.greaterThan(names.indexOf('quorum_succeeded'));
  });

  it('a stopped agent becomes unavailable, and available again when restarted', async () => {
    const gamma = agents.get('gamma')!;
    expect(await gamma.stop()).to.equal(0);
    await waitForAvailability(api, ['gamma'], 'unavailable');
    agents.set('gamma', await gamma.restart());
    await waitForAvailability(api, ['gamma'], 'available');
    const job = await waitForJob(api, (await api.startJob({ command: 'hello', nodes: ['gamma'] })).id);
    expect(job.nodes).to.deep.equal({ succeeded: ['gamma'] });
  });
});
