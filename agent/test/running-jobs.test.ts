// RunningJobsFile and stopOrphanedJobs: real process groups, a temp dir.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { processGroupAlive } from '../src/job-runner.js';
import {
  processIdentity,
  RunningJobsFile,
  runningJobsFileName,
  stopOrphanedJobs,
} from '../src/running-jobs.js';

const JOB = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

let tmp: string;
const groups: number[] = [];

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'running-jobs-'));
});
afterEach(() => {
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A process group like a job's: a shell leading a child, in its own session. */
function startGroup(script = 'sleep 30 & wait'): number {
  const child = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  groups.push(child.pid!);
  return child.pid!;
}

function collect(): { lines: string[]; log: (level: string, message: string) => void } {
  const lines: string[] = [];
  return { lines, log: (level, message) => lines.push(`${level}: ${message}`) };
}

describe('running jobs file', () => {
  it('records a group while it runs and forgets it (removing an empty file)', () => {
    const file = runningJobsFileName(tmp, 'node1');
    expect(file).to.equal(path.join(tmp, 'push-jobs-running-node1.json'));
    const record = new RunningJobsFile(file);
    const pgid = startGroup();
    record.add(JOB, 'sleep', pgid);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { jobs: { pgid: number; startTime: string }[] };
    expect(doc.jobs).to.deep.equal([
      { jobId: JOB, command: 'sleep', pgid, startTime: processIdentity(pgid)?.startTime },
    ]);
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    record.remove(pgid);
    expect(fs.existsSync(file)).to.equal(false);
  });

  it('the next agent stops a recorded group whose leader still matches (TERM, then KILL), and removes the file', async () => {
    const file = runningJobsFileName(tmp, 'node1');
    const stubborn = startGroup("trap '' TERM; sleep 30 & wait; sleep 30");
    const polite = startGroup();
    const record = new RunningJobsFile(file);
    record.add(JOB, 'stubborn', stubborn);
    record.add('b'.repeat(32), 'polite', polite);
    const { lines, log } = collect();
    const stopped = await stopOrphanedJobs(file, { log, groupAlive: processGroupAlive, graceMs: 300 });
    expect(stopped).to.deep.equal([JOB, 'b'.repeat(32)]);
    expect(processGroupAlive(stubborn)).to.equal(false);
    expect(processGroupAlive(polite)).to.equal(false);
    expect(lines).to.include(`warn: Job ${JOB}: process group ${stubborn} ignored SIGTERM, sending SIGKILL`);
    expect(lines.filter((l) => l.startsWith('warn: Stopped job'))).to.have.length(2);
    expect(fs.existsSync(file)).to.equal(false);
  });

  it('never signals a group whose leader is not the recorded process (pid reused, or gone)', async () => {
    const file = runningJobsFileName(tmp, 'node1');
    const pgid = startGroup();
    const record = new RunningJobsFile(file);
    record.add(JOB, 'sleep', pgid);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { jobs: { startTime: string }[] };
    doc.jobs[0]!.startTime = '1'; // another process that got the same pid
    fs.writeFileSync(file, JSON.stringify(doc), { mode: 0o600 });
    const { lines, log } = collect();
    expect(await stopOrphanedJobs(file, { log, groupAlive: processGroupAlive, graceMs: 300 })).to.deep.equal(
      [],
    );
    expect(processGroupAlive(pgid)).to.equal(true);
    expect(lines).to.deep.equal([`info: Job ${JOB} of a previous agent is no longer running`]);
  });

  it('ignores a file that others may write, or that names a live agent', async () => {
    const file = runningJobsFileName(tmp, 'node1');
    const pgid = startGroup();
    new RunningJobsFile(file).add(JOB, 'sleep', pgid);
    fs.chmodSync(file, 0o666);
    const { lines, log } = collect();
    expect(await stopOrphanedJobs(file, { log, groupAlive: processGroupAlive, graceMs: 300 })).to.deep.equal(
      [],
    );
    expect(lines).to.deep.equal([`error: Ignoring the running-jobs file ${file}: others may write it`]);
    expect(processGroupAlive(pgid)).to.equal(true);

    // Written by another agent that still runs (here: our parent process).
    fs.chmodSync(file, 0o600);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { agent: { pid: number; startTime: string } };
    doc.agent = { pid: process.ppid, startTime: processIdentity(process.ppid)!.startTime };
    fs.writeFileSync(file, JSON.stringify(doc), { mode: 0o600 });
    expect(await stopOrphanedJobs(file, { log, groupAlive: processGroupAlive, graceMs: 300 })).to.deep.equal(
      [],
    );
    expect(processGroupAlive(pgid)).to.equal(true);
  });
});
