// The fleet simulator against a real server process, and the demo end to end.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { startFleet, type Fleet } from '../fleet/fleet.js';
import { ServerProcess } from '../helpers/server-process.js';
import { waitForAvailability, waitForJob } from '../helpers/wait.js';

const DEMO = fileURLToPath(new URL('../demo/demo.ts', import.meta.url));

describe('end to end: the fleet simulator', function () {
  this.timeout(120_000);
  let server: ServerProcess;
  let fleet: Fleet | undefined;

  before(async () => {
    server = await ServerProcess.start({ heartbeatIntervalMs: 500 });
  });

  after(async () => {
    await fleet?.stop();
    await server?.stop();
  });

  it('runs simulated agents in worker processes that the server sees and runs jobs on', async () => {
    const progress: number[] = [];
    fleet = await startFleet({
      orgUrl: server.orgUrl,
      nodes: 30,
      processes: 2,
      prefix: 'fleet',
      failureRate: 1,
      durationMs: 50,
      niceness: 5,
      registrar: {
        userId: server.validatorName,
        privateKeyPem: readFileSync(server.validatorKeyPath, 'utf8'),
      },
      onProgress: (n) => progress.push(n),
    });
    expect(fleet.started).to.equal(30);
    expect(fleet.pids).to.have.length(2);
    // Workers run at the niceness asked for (the bench gives the server the CPU first).
    expect(fleet.pids.map((pid) => getPriority(pid))).to.deep.equal([5, 5]);
    expect(progress.at(-1)).to.equal(30);
    const api = server.adminClient();
    try {
      await waitForAvailability(api, fleet.nodeNames, 'available', 60_000);
      const job = await waitForJob(
        api,
        (await api.startJob({ command: 'anything', nodes: fleet.nodeNames })).id,
      );
      expect(job.status).to.equal('complete');
      // failureRate 1: every simulated job fails, as the server records.
      expect(job.nodes).to.deep.equal({ failed: [...fleet.nodeNames].sort() });
      const stats = await fleet.stats();
      expect(stats).to.deep.include({ succeeded: 0, failed: 30, serverOnline: 30, sendErrors: 0 });
    } finally {
      api.close();
    }
  });
});

describe('end to end: simulated agents print lines (live output)', function () {
  this.timeout(120_000);
  let server: ServerProcess;
  const fleets: Fleet[] = [];

  before(async () => {
    server = await ServerProcess.start({ heartbeatIntervalMs: 500 });
  });

  after(async () => {
    for (const f of fleets.splice(0)) await f.stop();
    await server?.stop();
  });

  async function printingFleet(prefix: string, originalClient: boolean): Promise<Fleet> {
    const fleet = await startFleet({
      orgUrl: server.orgUrl,
      nodes: 3,
      processes: 1,
      prefix,
      durationMs: 1500,
      outputIntervalMs: 100,
      originalClient,
      registrar: {
        userId: server.validatorName,
        privateKeyPem: readFileSync(server.validatorKeyPath, 'utf8'),
      },
    });
    fleets.push(fleet);
    return fleet;
  }

  it('stream their lines through the agent while the job runs; the original-client mode sends them at the end only', async () => {
    const live = await printingFleet('live', false);
    const ruby = await printingFleet('ruby-style', true);
    const nodes = [...live.nodeNames, ...ruby.nodeNames];
    const api = server.adminClient();
    try {
      await waitForAvailability(api, nodes, 'available', 60_000);
      const job = await waitForJob(
        api,
        (await api.startJob({ command: 'anything', nodes, capture_output: true })).id,
      );
      expect(job.nodes).to.deep.equal({ succeeded: [...nodes].sort() });
      const [liveStats, rubyStats] = await Promise.all([live.stats(), ruby.stats()]);
      // Every node printed; only the live agents streamed chunks (through the agents' own path).
      expect(liveStats.outputLines).to.be.at.least(3);
      expect(liveStats.outputChunks).to.be.at.least(3);
      expect(rubyStats.outputLines).to.be.at.least(3);
      expect(rubyStats.outputChunks).to.equal(0);
      for (const node of nodes) {
        // Either way the server holds the whole output at the end.
        const { output } = await api.getJobOutput(job.id, node, 'stdout');
        expect(output).to.match(/^simulated line 0 at \d{13}\n/);
      }
    } finally {
      api.close();
    }
  });
});

describe('end to end: npm run demo', function () {
  this.timeout(180_000);

  it('runs the whole demo and exits 0, saying what it does', async () => {
    const { stdout } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import=tsx', DEMO],
        { env: { ...process.env, FORCE_COLOR: '0' }, maxBuffer: 10_000_000 },
        (err, out, errOut) =>
          err
            ? reject(new Error(`${err.message}\n${out}\n${errOut}`))
            : resolve({ stdout: out, stderr: errOut }),
      );
    });
    for (const line of [
      '==> Starting a push-jobs server (embedded SQLite database in a temp dir)',
      '==> Starting three agents as separate processes: web1, web2 and db1',
      '==> Which nodes are up?',
      '==> Running `uptime` on all three nodes, following the job live',
      '==> Aborting the slow job: the agents kill its processes',
      '==> Stopping the agents and the server, removing the temp files',
    ]) {
      expect(stdout).to.include(line);
    }
    expect(stdout).to.match(/succeeded \(3\): db1, web1, web2/);
    expect(stdout).to.match(/nacked \(1\):\s+db1/);
    expect(stdout).to.match(/aborted \(2\): web1, web2/);
    expect(stdout).to.match(/\(exit code 1\)/);
  });
});
