/**
 * Jobs must not outlive their agent unnoticed. Node cannot ask the kernel to signal a child when
 * its parent dies (no `prctl`), and a parent-death signal would only reach a job's leader, not
 * its whole process group. So the agent writes down each job process group it starts, with the
 * leader's start time and the machine's boot id, in a small file in its cache directory; the
 * entry goes when the group has ended or been stopped. An agent that is killed (`kill -9`, a
 * crash, the OOM killer) leaves its entries behind, and the next agent, before it connects, stops
 * every recorded group whose leader is still the very process it started (same pid, same start
 * time, same boot): SIGTERM to the group, SIGKILL after a grace period, each logged as a warning.
 *
 * Recorded groups are only ever signalled when the leader matches, so a pid the kernel has
 * reused since is never touched. A file the agent does not own, or that others may write, is
 * ignored with a warning: it could name any process group.
 *
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage } from '@push-jobs/protocol/lite';

/** One job process group, as recorded. */
export interface RunningJobEntry {
  readonly jobId: string;
  readonly command: string;
  /** The process group id: the leader's pid. */
  readonly pgid: number;
  /** The leader's start time, in clock ticks since boot (`/proc/PID/stat` field 22). */
  readonly startTime: string;
}

/** The file's content. */
interface RunningJobsDocument {
  readonly bootId: string;
  /** The agent that wrote it, so a second agent never stops the jobs of a live one. */
  readonly agent: { readonly pid: number; readonly startTime: string };
  readonly jobs: readonly RunningJobEntry[];
}

/** Where log lines go. */
export type RunningJobsLog = (level: 'info' | 'warn' | 'error', message: string) => void;

/** A process's group and start time from `/proc/PID/stat`, when it exists (a zombie too). */
export function processIdentity(
  pid: number,
): { pgrp: number; startTime: string; zombie: boolean } | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
  // stime cutime cstime priority nice num_threads itrealvalue starttime ..."; comm may hold
  // spaces and parentheses, so count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pgrp = Number(fields[2]);
  const startTime = fields[19];
  if (!Number.isInteger(pgrp) || startTime === undefined || !/^[0-9]+$/u.test(startTime)) return undefined;
  return { pgrp, startTime, zombie: fields[0] === 'Z' || fields[0] === 'X' };
}

/** This boot's id (empty where the kernel does not say). */
export function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** The name of the file for a node in a directory (`file_cache_path`). */
export function runningJobsFileName(dir: string, nodeName: string): string {
  return path.join(dir, `push-jobs-running-${nodeName.replace(/[^A-Za-z0-9_.:-]/gu, '_')}.json`);
}

/** The agent's record of the job process groups it started; see the module documentation. */
export class RunningJobsFile {
  private readonly jobs = new Map<number, RunningJobEntry>();
  private readonly me: { pid: number; startTime: string };
  private readonly boot = bootId();
  private warned = false;

  constructor(
    /** The file. */
    readonly file: string,
    private readonly log: RunningJobsLog = () => undefined,
  ) {
    this.me = { pid: process.pid, startTime: processIdentity(process.pid)?.startTime ?? '' };
  }

  /** Records the group led by `pid` (call right after spawning it). */
  add(jobId: string, command: string, pid: number): void {
    const identity = processIdentity(pid);
    if (identity === undefined) return; // Already gone and reaped: nothing to record.
    this.jobs.set(pid, { jobId, command, pgid: pid, startTime: identity.startTime });
    this.write();
  }

  /** Forgets the group `pgid` (it ended, or was stopped). */
  remove(pgid: number | undefined): void {
    if (pgid === undefined || !this.jobs.delete(pgid)) return;
    this.write();
  }

  private write(): void {
    try {
      if (this.jobs.size === 0) {
        fs.rmSync(this.file, { force: true });
        return;
      }
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o755 });
      const doc: RunningJobsDocument = { bootId: this.boot, agent: this.me, jobs: [...this.jobs.values()] };
      const tmp = `${this.file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, `${JSON.stringify(doc)}\n`, { mode: 0o600 });
      fs.renameSync(tmp, this.file);
      this.warned = false;
    } catch (err) {
      if (this.warned) return;
      this.warned = true;
      this.log(
        'warn',
        `Cannot record running jobs in ${this.file}: ${errorMessage(err)}; ` +
          'a job left running by a crashed agent would not be stopped by the next one',
      );
    }
  }
}

function isEntry(value: unknown): value is RunningJobEntry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e['jobId'] === 'string' &&
    typeof e['command'] === 'string' &&
    typeof e['pgid'] === 'number' &&
    Number.isInteger(e['pgid']) &&
    e['pgid'] > 1 &&
    typeof e['startTime'] === 'string'
  );
}

/** Reads a file this agent may trust (its own, regular, writable by nobody else), or explains why not. */
function readTrusted(file: string): { doc: RunningJobsDocument } | { problem: string } | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return undefined; // No file: nothing was left running.
  }
  const uid = process.getuid?.();
  if (!stat.isFile()) return { problem: 'it is not a regular file' };
  if (uid !== undefined && stat.uid !== uid) return { problem: `it is owned by uid ${stat.uid}, not ${uid}` };
  if ((stat.mode & 0o022) !== 0) return { problem: 'others may write it' };
  try {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as RunningJobsDocument;
    if (typeof doc.bootId !== 'string' || !Array.isArray(doc.jobs)) return { problem: 'it is malformed' };
    return { doc };
  } catch (err) {
    return { problem: `it cannot be read: ${errorMessage(err)}` };
  }
}

/** Whether a process group still has a member that is not a zombie. */
export type GroupAlive = (pgid: number) => boolean;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * At agent start: stops every job process group a previous agent recorded in `file` and left
 * running (see the module documentation), then removes the file. Returns the job ids stopped.
 */
export async function stopOrphanedJobs(
  file: string,
  options: { log: RunningJobsLog; groupAlive: GroupAlive; graceMs: number; killWaitMs?: number },
): Promise<string[]> {
  const { log, groupAlive, graceMs } = options;
  const read = readTrusted(file);
  if (read === undefined) return [];
  if ('problem' in read) {
    log('error', `Ignoring the running-jobs file ${file}: ${read.problem}`);
    return [];
  }
  const { doc } = read;
  const previous = doc.agent;
  if (
    typeof previous === 'object' &&
    previous !== null &&
    previous.pid !== process.pid &&
    processIdentity(previous.pid)?.startTime === previous.startTime &&
    processIdentity(previous.pid)?.zombie === false
  ) {
    log(
      'warn',
      `The running-jobs file ${file} belongs to agent pid ${previous.pid}, which still runs: leaving its jobs alone`,
    );
    return [];
  }
  const stopped: string[] = [];
  if (doc.bootId === bootId()) {
    for (const entry of doc.jobs.filter(isEntry)) {
      const leader = processIdentity(entry.pgid);
      if (leader === undefined || leader.pgrp !== entry.pgid || leader.startTime !== entry.startTime) {
        log('info', `Job ${entry.jobId} of a previous agent is no longer running`);
        continue;
      }
      log(
        'warn',
        `Stopping job ${entry.jobId} ('${entry.command}') left running by a previous agent: ` +
          `sending SIGTERM to process group ${entry.pgid}`,
      );
      const signal = (sig: NodeJS.Signals): void => {
        try {
          process.kill(-entry.pgid, sig);
        } catch {
          // Gone.
        }
      };
      signal('SIGTERM');
      let deadline = Date.now() + graceMs;
      while (groupAlive(entry.pgid) && Date.now() < deadline) await sleep(50);
      if (groupAlive(entry.pgid)) {
        log('warn', `Job ${entry.jobId}: process group ${entry.pgid} ignored SIGTERM, sending SIGKILL`);
        signal('SIGKILL');
        deadline = Date.now() + (options.killWaitMs ?? 2000);
        while (groupAlive(entry.pgid) && Date.now() < deadline) await sleep(50);
      }
      if (groupAlive(entry.pgid))
        log('error', `Job ${entry.jobId}: process group ${entry.pgid} is still there`);
      else
        log(
          'warn',
          `Stopped job ${entry.jobId} left running by a previous agent (process group ${entry.pgid})`,
        );
      stopped.push(entry.jobId);
    }
  }
  try {
    fs.rmSync(file, { force: true });
  } catch (err) {
    log('error', `Cannot remove the running-jobs file ${file}: ${errorMessage(err)}`);
  }
  return stopped;
}
