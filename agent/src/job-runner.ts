/**
 * The agent's job runner (client spec A.10 state machine, A.12 execution, A.13 abort, A.16 output
 * size, A.17 file cleanup), with the deliberate fixes of the design: abort kills the whole
 * process group, `lock` entries ack after taking the lock and release it when the job ends, and
 * output over the size limit is truncated and marked instead of dropped.
 *
 * @module
 */
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  timerDelayMs,
  type AgentJobState,
  type ClientOutputFields,
  type ClientResultFields,
  errorMessage,
} from '@push-jobs/protocol/lite';
import type { AllowList } from './allow-list.js';
import { buildJobEnvironment, JobEnvironmentError } from './job-env.js';
import { takeLock, type HeldLock } from './job-lock.js';
import { OutputStream } from './output-stream.js';
import type { RunningJobsFile } from './running-jobs.js';
import type { CommitOptions, JobRunnerPort, RunnerReply, RunnerResultFields } from './runner-types.js';

/** Log levels the runner uses. */
export type JobRunnerLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A local account, as {@link JobRunnerOptions.userLookup} returns it. */
export interface LocalUser {
  readonly uid: number;
  readonly gid: number;
}

/** Spawns a process; the signature of `child_process.spawn(command, args, options)`. */
export type SpawnFunction = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

/** Options of {@link JobRunner}. */
export interface JobRunnerOptions {
  /** The current allow-list; read at every commit and run, so a reloaded allow-list applies. */
  readonly allowList: () => AllowList;
  /** The node name (`CHEF_PUSH_NODE_NAME`). */
  readonly nodeName: string;
  /** Where transferred files are written (`file_dir`). */
  readonly fileDir: string;
  /** `max_body_size` in bytes: result messages (with the envelope) must fit in it. */
  readonly maxBodySize: number;
  /**
   * Bytes kept free for the envelope fields the connection adds (node, org, sequence,
   * timestamp, incarnation id, …) when sizing output. Default 1024.
   */
  readonly envelopeReserve?: number;
  /** `allowed_overwritable_env_vars` (A.12). */
  readonly allowedOverwritableEnvVars?: readonly string[] | null;
  /**
   * `allowed_unsafe_job_env_vars`: names a job's `env` may set although they are unsafe (see
   * `unsafeJobEnvReason`); a job setting any other unsafe name is refused at commit.
   */
  readonly allowedUnsafeEnvVars?: readonly string[];
  /** Sends a message (the connection adds the envelope). */
  readonly reply: (reply: RunnerReply) => void;
  /** How long abort waits after SIGTERM before SIGKILL, in ms. Default 5000. */
  readonly abortGraceMs?: number;
  /**
   * How long past the job's `run_timeout` (when the commit carried one) the runner itself stops
   * the process, in ms: the server normally aborts it at `run_timeout`. Default 5000.
   */
  readonly runTimeoutGraceMs?: number;
  /**
   * How long past the server's `voting_timeout` (or `run_wait_timeout`, which replaces it when
   * the commit carried one) a committed job waits for `run` before it is released, in ms.
   * Default 30000.
   */
  readonly commitGraceMs?: number;
  /** How long a committed job waits for `run` when the commit carried no `voting_timeout`, in ms. Default 600000. */
  readonly commitPatienceMs?: number;
  /**
   * The lock file for `lock: true` entries: the configured `lockfile`, else
   * `<file_cache_path>/chef-client-running.pid` (A.11). Without it, `lock: true` commits are nacked.
   */
  readonly defaultLockFile?: string;
  /**
   * The `flock` program that takes locks (see `takeLock`); default `flock` on the agent's own
   * `PATH`; `null`: none (lock entries are then refused).
   */
  readonly flock?: string | null;
  /** Where the job process groups the runner starts are recorded (see `RunningJobsFile`). */
  readonly runningJobs?: RunningJobsFile;
  /** Looks up a local account; default: parse `/etc/passwd`. */
  readonly userLookup?: (name: string) => LocalUser | undefined;
  /** Logger. */
  readonly log?: (level: JobRunnerLogLevel, message: string) => void;
  /** Process spawner (tests only). Default `child_process.spawn`. */
  readonly spawn?: SpawnFunction;
  /** The environment jobs inherit. Default `process.env`. */
  readonly baseEnv?: NodeJS.ProcessEnv;
}

/** Default `file_dir_expiry` (A.17): one day. */
export const FILE_DIR_EXPIRY_MS = 86_400_000;
/** Prefix of transferred files in `file_dir` (A.12). */
export const JOB_FILE_PREFIX = 'pushy_file';

/** How long to wait for the output pipes to close after the job's shell exited. */
const PIPE_DRAIN_MS = 2000;
/** How long to wait for a process group to vanish after SIGKILL. */
const KILL_WAIT_MS = 2000;
const POLL_MS = 50;

/** Default {@link JobRunnerOptions.runTimeoutGraceMs}. */
export const RUN_TIMEOUT_GRACE_MS = 5000;
/** Default {@link JobRunnerOptions.commitGraceMs}. */
export const COMMIT_GRACE_MS = 30_000;
/** Default {@link JobRunnerOptions.commitPatienceMs}. */
export const COMMIT_PATIENCE_MS = 600_000;

interface Committed {
  readonly jobId: string;
  readonly command: string;
  readonly commandLine: string;
  readonly options: CommitOptions;
  readonly user: LocalUser | undefined;
  /** The lock of a `lock` entry, held from the commit until the job (its process group) ends. */
  readonly lock: HeldLock | undefined;
}

interface Running {
  readonly job: Committed;
  readonly child: ChildProcess;
  readonly pgid: number | undefined;
  readonly stdout: OutputBuffer;
  readonly stderr: OutputBuffer;
  /** Live output, when the commit allowed it and the job captures output. */
  readonly stream: OutputStream | undefined;
  /** When the process was started (ISO 8601, UTC, with milliseconds). */
  readonly startedAt: string;
  /** Set when the runner stopped it (an abort, or its own run timeout): its end is not reported. */
  stoppedBy?: 'abort' | 'run_timeout';
  /** Resolves when the process has exited (and, after a kill, its group is gone). */
  readonly done: Promise<void>;
  /** The runner's own run-timeout timer (see {@link JobRunnerOptions.runTimeoutGraceMs}). */
  timer?: NodeJS.Timeout;
}

/** Keeps at most `limit` bytes of a stream and notes whether more came. */
class OutputBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    const room = this.limit - this.size;
    if (room <= 0) {
      if (chunk.length > 0) this.truncated = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept.length < chunk.length) this.truncated = true;
    this.chunks.push(kept);
    this.size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Parses `/etc/passwd` for `name`. */
export function lookupUserInPasswd(name: string, passwdFile = '/etc/passwd'): LocalUser | undefined {
  let content: string;
  try {
    content = fs.readFileSync(passwdFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of content.split('\n')) {
    const fields = line.split(':');
    if (fields[0] !== name || fields.length < 4) continue;
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
  }
  return undefined;
}

/** util-linux `setpriv`, which sets a user's supplementary groups before it runs the job. */
export const SETPRIV = '/usr/bin/setpriv';

/**
 * The shell that holds a job's lock: it keeps the lock file open on fd 3 while it runs the
 * command line in a child shell with fd 3 closed, and exits with that child's status. So the lock
 * lasts exactly as long as the job's leader, and daemons the job starts never inherit it.
 */
export const LOCK_HOLDER_SCRIPT = '/bin/sh -c "$1" "$0" 3<&-; exit $?';

/** The arguments of `/bin/sh` for a command line (behind {@link LOCK_HOLDER_SCRIPT} when locked). */
function shellArgs(commandLine: string, holdsLock: boolean): string[] {
  return holdsLock ? ['-c', LOCK_HOLDER_SCRIPT, '/bin/sh', commandLine] : ['-c', commandLine];
}

/**
 * How to start `/bin/sh -c LINE` as `user`. As root with `setpriv` present, through
 * `setpriv --reuid --regid --init-groups` (it execs the shell: same pid, same process group), so
 * the job also gets the user's supplementary groups (A.10); Node's own `uid`/`gid` options drop
 * every supplementary group. Otherwise (`setpriv` null) with Node's `uid`/`gid`. With
 * `holdsLock`, the shell is the {@link LOCK_HOLDER_SCRIPT} (the lock file is then its fd 3).
 */
export function userCommand(
  commandLine: string,
  user: LocalUser | undefined,
  setpriv: string | null = process.getuid?.() === 0 && fs.existsSync(SETPRIV) ? SETPRIV : null,
  holdsLock = false,
): [string, string[], { uid?: number; gid?: number }] {
  const args = shellArgs(commandLine, holdsLock);
  if (user === undefined) return ['/bin/sh', args, {}];
  if (setpriv === null) return ['/bin/sh', args, { uid: user.uid, gid: user.gid }];
  return [
    setpriv,
    ['--reuid', String(user.uid), '--regid', String(user.gid), '--init-groups', '--', '/bin/sh', ...args],
    {},
  ];
}

/** The unique transferred-file name of A.12: `pushy_file<YYYYMMDD>-<pid>-<random base36>`. */
export function jobFileName(now = new Date()): string {
  const ymd = `${now.getFullYear()}${String(now.getMonth() + 1).padStart(2, '0')}${String(now.getDate()).padStart(2, '0')}`;
  const rand = randomBytes(8).readBigUInt64BE().toString(36);
  return `${JOB_FILE_PREFIX}${ymd}-${process.pid}-${rand}`;
}

/** Decodes a commit's `file` (`raw:…` or `base64:…`); `undefined` for any other prefix. */
export function decodeJobFile(file: string): Buffer | undefined {
  if (file.startsWith('raw:')) return Buffer.from(file.slice(4), 'utf8');
  if (file.startsWith('base64:')) return Buffer.from(file.slice(7), 'base64');
  return undefined;
}

/**
 * Writes a transferred file (A.12) in private mode: created exclusively with mode 0600, owned by
 * the job's user when the job runs as another user (so it, and only it, can read the file). A
 * failed write leaves no partial file behind.
 */
export function writeJobFile(fileName: string, data: Buffer, user?: LocalUser): void {
  const fd = fs.openSync(fileName, 'wx', 0o600);
  try {
    for (let offset = 0; offset < data.length;) offset += fs.writeSync(fd, data, offset);
    fs.fchmodSync(fd, 0o600); // whatever the umask
    if (user !== undefined && process.getuid?.() === 0) fs.fchownSync(fd, user.uid, user.gid);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(fileName, { force: true });
    throw err;
  }
  fs.closeSync(fd);
}

/**
 * A.17: deletes every `<fileDir>/pushy_file*` whose mtime is more than `maxAgeMs` ago. Returns
 * the deleted paths. A missing directory is not an error.
 */
export async function cleanFileDir(
  fileDir: string,
  maxAgeMs: number = FILE_DIR_EXPIRY_MS,
  now: number = Date.now(),
): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(fileDir);
  } catch {
    return [];
  }
  const deleted: string[] = [];
  for (const name of names) {
    if (!name.startsWith(JOB_FILE_PREFIX)) continue;
    const file = path.join(fileDir, name);
    try {
      const stat = await fs.promises.lstat(file);
      if (!stat.isFile() || now - stat.mtimeMs <= maxAgeMs) continue;
      await fs.promises.unlink(file);
      deleted.push(file);
    } catch {
      // Gone meanwhile, or not ours to delete: skip.
    }
  }
  return deleted;
}

function jsonBytes(value: string): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** The longest prefix of `text` whose JSON encoding takes at most `budget` bytes. */
function fitJson(text: string, budget: number): string {
  if (jsonBytes(text) <= budget) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (jsonBytes(text.slice(0, mid)) <= budget) lo = mid;
    else hi = mid - 1;
  }
  // Never split a surrogate pair.
  const last = text.charCodeAt(lo - 1);
  if (lo > 0 && last >= 0xd800 && last <= 0xdbff) lo--;
  return text.slice(0, lo);
}

/**
 * Sizes captured output so the message `{ type, job_id, ...fields, ...result }` plus
 * `envelopeReserve` fits in `maxBodySize`: each stream is cut (never dropped) and marked `*_truncated` when cut
 * here or when more than the capture limit arrived. The budget is shared fairly: a stream
 * smaller than half the room leaves the rest to the other one.
 */
export function fitOutput(
  type: 'succeeded' | 'failed',
  jobId: string,
  stdout: { text: string; truncated: boolean },
  stderr: { text: string; truncated: boolean },
  maxBodySize: number,
  envelopeReserve: number,
  result: ClientResultFields = {},
): ClientOutputFields {
  const skeleton = {
    type,
    job_id: jobId,
    stdout: '',
    stderr: '',
    stdout_truncated: true,
    stderr_truncated: true,
    ...result,
  };
  const fixed = Buffer.byteLength(JSON.stringify(skeleton), 'utf8') - 4; // minus the two `""`
  const room = Math.max(0, maxBodySize - envelopeReserve - fixed);
  const outBytes = jsonBytes(stdout.text);
  const errBytes = jsonBytes(stderr.text);
  let outBudget: number;
  let errBudget: number;
  if (outBytes + errBytes <= room) {
    outBudget = outBytes;
    errBudget = errBytes;
  } else {
    const half = Math.floor(room / 2);
    if (outBytes <= half) {
      outBudget = outBytes;
      errBudget = room - outBytes;
    } else if (errBytes <= half) {
      errBudget = errBytes;
      outBudget = room - errBytes;
    } else {
      outBudget = half;
      errBudget = room - half;
    }
  }
  const out = fitJson(stdout.text, Math.max(2, outBudget));
  const err = fitJson(stderr.text, Math.max(2, errBudget));
  const fields: ClientOutputFields = { stdout: out, stderr: err };
  if (stdout.truncated || out.length < stdout.text.length) fields.stdout_truncated = true;
  if (stderr.truncated || err.length < stderr.text.length) fields.stderr_truncated = true;
  return fields;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a process group still has a member that is not a zombie. Zombies count as gone: they
 * cannot run, and in containers whose init does not reap orphans they would stay forever. Uses
 * `/proc` where there is one, else `kill(-pgid, 0)`.
 */
export function processGroupAlive(pgid: number): boolean {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return isAlive(-pgid);
  }
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs allow-listed commands for the agent (implements {@link JobRunnerPort}).
 *
 * States (A.10): `idle` → `committed` (after `ack_commit`) → `running` (after `ack_run`) →
 * `idle` (after `succeeded`/`failed`, or `abort`). Checks at commit: not busy, allow-listed,
 * valid `env`, `user` exists (and, when the agent is not root, is the agent's own user), `dir`
 * is a directory, `file` starts with `raw:`/`base64:`, and for `lock` entries the lock could be
 * taken. Any failure answers `nack_commit`; nothing runs.
 *
 * The command line runs as `/bin/sh -c <line>` in its own process group, with the environment
 * of {@link buildJobEnvironment}, stdin closed, and stdout/stderr kept up to `maxBodySize`
 * bytes each. {@link JobRunner.abort} and {@link JobRunner.stop} kill the whole group (SIGTERM,
 * SIGKILL after `abortGraceMs`).
 *
 * Locks (`lock` entries): a real `flock` on the lock file (see `takeLock`), taken before the
 * `ack_commit`; a lock held by any other process (chef-client, another agent, a job a killed
 * agent left running) means "already running" (nack), and so does a missing `flock` program
 * (never a run without the lock). The job's leader holds the lock with the runner
 * ({@link LOCK_HOLDER_SCRIPT}); the runner lets go when the job ends or, after an abort, when
 * its process group is gone. The file itself stays (as chef-client's does).
 *
 * With {@link JobRunnerOptions.runningJobs}, every process group started is recorded until it
 * is gone, so that the next agent can stop what a killed one left running.
 *
 * Live output: for a job that captures output and whose commit carried `output_stream_max_bytes`,
 * what the command prints is also sent while it runs, as `output` replies (see
 * {@link OutputStream}); what is left is flushed before the final `succeeded`/`failed` (or
 * `aborted`), which carries the whole output as before.
 */
export class JobRunner implements JobRunnerPort {
  private readonly opts: JobRunnerOptions;
  private readonly spawnFn: SpawnFunction;
  private readonly graceMs: number;
  private readonly reserve: number;
  private current:
    | { state: 'idle' }
    | { state: 'committed'; job: Committed; timer: NodeJS.Timeout }
    | { state: 'running'; run: Running } = {
    state: 'idle',
  };
  private readonly dying = new Set<Promise<void>>();

  constructor(options: JobRunnerOptions) {
    this.opts = options;
    this.spawnFn = options.spawn ?? ((cmd, args, o) => nodeSpawn(cmd, [...args], o));
    this.graceMs = options.abortGraceMs ?? 5000;
    this.reserve = options.envelopeReserve ?? 1024;
  }

  /** The state and job id heartbeats report. */
  state(): { state: AgentJobState; jobId: string | null } {
    const c = this.current;
    if (c.state === 'idle') return { state: 'idle', jobId: null };
    if (c.state === 'committed') return { state: 'committed', jobId: c.job.jobId };
    return { state: 'running', jobId: c.run.job.jobId };
  }

  /** Handles a `commit` (see the class description for the checks). */
  commit(jobId: string, command: string, options: CommitOptions): void {
    const nack = (message: string): void => {
      this.log('error', `Job ${jobId}: ${message}`);
      this.opts.reply({ type: 'nack_commit', jobId });
    };
    const now = this.state();
    if (now.jobId === jobId) {
      // The same commit again (the server re-sends it after a reconnect): answered as before
      // while committed, ignored while running (the job is under way).
      this.log('debug', `Received commit ${jobId} again while ${now.state}`);
      if (now.state === 'committed') this.opts.reply({ type: 'ack_commit', jobId });
      return;
    }
    if (now.state !== 'idle') {
      this.log('warn', `Received commit ${jobId} but current state is ${now.state} ${now.jobId ?? ''}`);
      this.opts.reply({ type: 'nack_commit', jobId });
      return;
    }
    const match = this.opts.allowList().match(command);
    this.log('info', `Job ${jobId}: whitelist '${command}' to '${match?.commandLine ?? ''}'`);
    if (match === undefined) return nack(`'${command}' is not in the whitelist!`);
    try {
      buildJobEnvironment({
        base: {},
        jobEnv: options.env,
        jobId,
        allowedOverwritable: this.opts.allowedOverwritableEnvVars,
        allowedUnsafe: this.opts.allowedUnsafeEnvVars,
      });
    } catch (err) {
      if (err instanceof JobEnvironmentError) return nack(err.message);
      throw err;
    }
    let user: LocalUser | undefined;
    if (options.user !== undefined) {
      user = (this.opts.userLookup ?? lookupUserInPasswd)(options.user);
      if (user === undefined) return nack(`user '${options.user}' does not exist`);
      const myUid = process.getuid?.();
      if (myUid !== undefined && myUid !== 0 && myUid !== user.uid) {
        return nack(`cannot run as user '${options.user}': the agent is not running as root`);
      }
    }
    if (options.dir !== undefined) {
      let isDir = false;
      try {
        isDir = fs.statSync(options.dir).isDirectory();
      } catch {
        isDir = false;
      }
      if (!isDir) return nack(`dir '${options.dir}' does not exist or is not a directory`);
    }
    if (options.file !== undefined && decodeJobFile(options.file) === undefined) {
      return nack(`file must start with 'raw:' or 'base64:'`);
    }
    let lock: HeldLock | undefined;
    if (match.lock !== false) {
      const lockFile = match.lock === true ? this.opts.defaultLockFile : match.lock;
      if (lockFile === undefined) return nack(`'${command}' needs a lock but no lock file is configured`);
      const attempt = takeLock(lockFile, this.opts.flock === undefined ? {} : { flock: this.opts.flock });
      if ('busy' in attempt) return nack(`'${match.commandLine}' is already running: ${attempt.busy}`);
      if ('error' in attempt) return nack(attempt.error);
      lock = attempt.held;
    }
    const job: Committed = { jobId, command, commandLine: match.commandLine, options, user, lock };
    // A rollout's node may wait for its turn far longer than the vote takes: the server then says
    // how long (run_wait_timeout), and that bound replaces the voting timeout.
    const serverWaitS = options.runWaitTimeout ?? options.votingTimeout;
    const waitMs =
      serverWaitS !== undefined
        ? serverWaitS * 1000 + (this.opts.commitGraceMs ?? COMMIT_GRACE_MS)
        : (this.opts.commitPatienceMs ?? COMMIT_PATIENCE_MS);
    const timer = setTimeout(
      () => this.releaseIf(job, `no run within ${Math.round(waitMs / 1000)} s of the commit`),
      timerDelayMs(waitMs),
    );
    timer.unref();
    this.current = { state: 'committed', job, timer };
    this.opts.reply({ type: 'ack_commit', jobId });
  }

  /** See {@link JobRunnerPort.releaseCommitted}. */
  releaseCommitted(reason: string): boolean {
    const c = this.current;
    return c.state === 'committed' && this.releaseIf(c.job, reason);
  }

  private releaseIf(job: Committed, reason: string): boolean {
    const c = this.current;
    if (c.state !== 'committed' || c.job !== job) return false;
    clearTimeout(c.timer);
    this.log('warn', `Releasing job ${job.jobId} (committed, not running): ${reason}`);
    this.current = { state: 'idle' };
    job.lock?.release();
    this.opts.reply({ type: 'aborted', jobId: job.jobId });
    return true;
  }

  /** Handles a `run`: `ack_run` and start the committed job, or `nack_run`. */
  run(jobId: string): void {
    const c = this.current;
    if (c.state === 'running' && c.run.job.jobId === jobId) {
      // The same run again (the server re-sends it after a reconnect): already under way.
      this.log('debug', `Received run ${jobId} again while running it`);
      return;
    }
    if (c.state !== 'committed' || c.job.jobId !== jobId) {
      this.log('warn', `Received run ${jobId} but current state is ${c.state} ${this.state().jobId ?? ''}`);
      this.opts.reply({ type: 'nack_run', jobId });
      return;
    }
    // A.12: the command line is looked up again at run time, so an allow-list reloaded since the
    // commit applies: an entry removed meanwhile is refused, a changed one runs its new line.
    clearTimeout(c.timer);
    const match = this.opts.allowList().match(c.job.command);
    if (match === undefined) {
      this.log(
        'error',
        `Job ${jobId}: '${c.job.command}' left the whitelist after the commit; not running it`,
      );
      this.current = { state: 'idle' };
      c.job.lock?.release();
      this.opts.reply({ type: 'nack_run', jobId });
      return;
    }
    this.opts.reply({ type: 'ack_run', jobId });
    this.start({ ...c.job, commandLine: match.commandLine });
  }

  /**
   * Handles an `abort`: kill whatever runs (whole group), release the lock, go idle, `aborted`.
   * An abort naming another job than the one held (or naming one while idle) stops nothing: it
   * is answered `aborted` with no job id.
   */
  abort(abortJobId?: string): void {
    const c = this.current;
    const held = this.state().jobId;
    if (abortJobId !== undefined && abortJobId !== held) {
      this.log(
        'debug',
        `Ignoring abort of job ${abortJobId}: ${held === null ? 'idle' : `holding job ${held} (${c.state})`}`,
      );
      this.opts.reply({ type: 'aborted', jobId: null });
      return;
    }
    this.log('info', abortJobId === undefined ? 'Received abort' : `Received abort of job ${abortJobId}`);
    this.current = { state: 'idle' };
    let jobId: string | null = null;
    if (c.state === 'committed') {
      clearTimeout(c.timer);
      jobId = c.job.jobId;
      c.job.lock?.release();
    } else if (c.state === 'running') {
      jobId = c.run.job.jobId;
      // What it printed until now still goes out, before `aborted`; nothing after.
      c.run.stream?.end();
      this.killRun(c.run);
    }
    this.opts.reply({ type: 'aborted', jobId });
  }

  /** Agent shutdown: kills any running group (no message) and waits until it is gone. */
  async stop(): Promise<void> {
    const c = this.current;
    this.current = { state: 'idle' };
    if (c.state === 'committed') {
      clearTimeout(c.timer);
      c.job.lock?.release();
    }
    if (c.state === 'running') {
      c.run.stream?.close();
      this.killRun(c.run);
    }
    await Promise.all([...this.dying]);
  }

  /** A.17 for this runner's `fileDir`; see {@link cleanFileDir}. */
  cleanFileDir(maxAgeMs: number = FILE_DIR_EXPIRY_MS): Promise<string[]> {
    return cleanFileDir(this.opts.fileDir, maxAgeMs);
  }

  private log(level: JobRunnerLogLevel, message: string): void {
    this.opts.log?.(level, message);
  }

  private fail(job: Committed, message: string): void {
    this.log('error', `Job ${job.jobId}: ${message}`);
    job.lock?.release();
    this.current = { state: 'idle' };
    // The command never started: no exit status, no signal, no times.
    const result: ClientResultFields = { exit_status: null, signal: null };
    const fields: RunnerResultFields =
      job.options.capture === true ? { stdout: '', stderr: message, ...result } : result;
    this.opts.reply({ type: 'failed', jobId: job.jobId, fields });
  }

  private start(job: Committed): void {
    let fileName: string | undefined;
    if (job.options.file !== undefined) {
      try {
        fs.mkdirSync(this.opts.fileDir, { recursive: true });
        fileName = path.join(this.opts.fileDir, jobFileName());
        writeJobFile(fileName, decodeJobFile(job.options.file) ?? Buffer.alloc(0), job.user);
      } catch (err) {
        return this.fail(job, `cannot write job file: ${errorMessage(err)}`);
      }
    }
    let env: Record<string, string>;
    let child: ChildProcess;
    try {
      env = buildJobEnvironment({
        base: this.opts.baseEnv ?? process.env,
        jobEnv: job.options.env,
        jobId: job.jobId,
        fileName,
        allowedOverwritable: this.opts.allowedOverwritableEnvVars,
        allowedUnsafe: this.opts.allowedUnsafeEnvVars,
        nodeName: this.opts.nodeName,
      });
      const lock = job.lock?.held === true ? job.lock : undefined;
      const [command, args, identity] = userCommand(job.commandLine, job.user, undefined, lock !== undefined);
      child = this.spawnFn(command, args, {
        detached: true,
        cwd: job.options.dir,
        env,
        // A locked job's leader gets the locked file as fd 3 (LOCK_HOLDER_SCRIPT).
        stdio: lock === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', lock.fd],
        ...identity,
      });
    } catch (err) {
      return this.fail(job, `cannot start '${job.commandLine}': ${errorMessage(err)}`);
    }
    this.log('info', `Job ${job.jobId}: running '${job.commandLine}' (pid ${child.pid ?? '?'})`);
    if (child.pid !== undefined) this.opts.runningJobs?.add(job.jobId, job.commandLine, child.pid);
    const stdout = new OutputBuffer(this.opts.maxBodySize);
    const stderr = new OutputBuffer(this.opts.maxBodySize);
    const stream = this.outputStream(job);
    const startedAt = new Date().toISOString();
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      stream?.write('stdout', chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      stream?.write('stderr', chunk);
    });

    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const run: Running = { job, child, pgid: child.pid, stdout, stderr, stream, startedAt, done };
    this.current = { state: 'running', run };

    if (job.options.runTimeout !== undefined) {
      const limitMs = job.options.runTimeout * 1000 + (this.opts.runTimeoutGraceMs ?? RUN_TIMEOUT_GRACE_MS);
      run.timer = setTimeout(() => this.runTimedOut(run), timerDelayMs(limitMs));
      run.timer.unref();
    }

    let finished = false;
    const finish = (code: number | null, signal: string | null, error?: Error): void => {
      if (finished) return;
      finished = true;
      clearTimeout(run.timer);
      child.stdout?.destroy();
      child.stderr?.destroy();
      // Its leader is gone; a group the runner is stopping stays recorded until it is gone too.
      if (run.stoppedBy === undefined) this.opts.runningJobs?.remove(run.pgid);
      resolveDone();
      this.completed(run, code, signal, error);
    };
    child.on('error', (err) => finish(null, null, err));
    child.on('exit', (code, signal) => {
      const timer = setTimeout(() => finish(code, signal), PIPE_DRAIN_MS);
      timer.unref();
      child.on('close', () => {
        clearTimeout(timer);
        finish(code, signal);
      });
    });
  }

  /**
   * The live output of `job`: only when it captures output and its commit carried
   * `output_stream_max_bytes` (a server that takes `output` messages). Chunks are sized so that
   * each message, with its envelope, fits `max_body_size`.
   */
  private outputStream(job: Committed): OutputStream | undefined {
    const maxBytes = job.options.outputStreamMaxBytes;
    if (job.options.capture !== true || maxBytes === undefined) return undefined;
    const jobId = job.jobId;
    return new OutputStream({
      maxBytes,
      maxJsonBytes: this.opts.maxBodySize - this.reserve,
      send: (fields) => this.opts.reply({ type: 'output', jobId, fields }),
    });
  }

  private completed(run: Running, code: number | null, signal: string | null, error?: Error): void {
    const { job } = run;
    const c = this.current;
    if (run.stoppedBy !== undefined || c.state !== 'running' || c.run !== run) {
      this.log('info', `Job ${job.jobId} ended after ${run.stoppedBy ?? 'abort'}`);
      return;
    }
    if (error !== undefined) this.log('error', `Job ${job.jobId}: ${error.message}`);
    this.log('info', `Job ${job.jobId} completed with exit code ${code ?? signal ?? 'unknown'}`);
    job.lock?.release();
    this.current = { state: 'idle' };
    const type = code === 0 ? 'succeeded' : 'failed';
    // A spawn error ('error' before any exit): the command never started, so no times.
    this.reportResult(
      run,
      type,
      error === undefined ? '' : `${error.message}\n`,
      { exit_status: signal === null ? code : null, signal },
      error === undefined,
    );
  }

  /**
   * Sends `succeeded`/`failed` for `run`, with its captured output when the job asked for it
   * (`stderrNote` appended to stderr), sized to fit `max_body_size`, then how it ended: `exit`
   * (exit status, or the signal) and, when the command did start, its start time and now as its
   * end time.
   */
  private reportResult(
    run: Running,
    type: 'succeeded' | 'failed',
    stderrNote: string,
    exit: { exit_status: number | null; signal: string | null },
    started = true,
  ): void {
    const { job } = run;
    const result: ClientResultFields = { exit_status: exit.exit_status, signal: exit.signal };
    if (started) {
      result.started_at = run.startedAt;
      result.ended_at = new Date().toISOString();
    }
    // What is left of the live output goes first: the job's output arrives before its end.
    run.stream?.end();
    let output: ClientOutputFields = {};
    if (job.options.capture === true) {
      output = fitOutput(
        type,
        job.jobId,
        { text: run.stdout.text(), truncated: run.stdout.truncated },
        { text: `${run.stderr.text()}${stderrNote}`, truncated: run.stderr.truncated },
        this.opts.maxBodySize,
        this.reserve,
        result,
      );
      if (output.stdout_truncated === true || output.stderr_truncated === true) {
        this.log('warn', `Job ${job.jobId}: output truncated to fit max_body_size ${this.opts.maxBodySize}`);
      }
    }
    // The output first, then how the command ended (the protocol's field order).
    this.opts.reply({ type, jobId: job.jobId, fields: { ...output, ...result } });
  }

  /**
   * The job outlived its `run_timeout` (plus grace) and no server stopped it (the server that
   * started it is gone, or lost it): the runner stops it itself and reports it `failed`.
   */
  private runTimedOut(run: Running): void {
    const c = this.current;
    if (c.state !== 'running' || c.run !== run) return;
    const { job } = run;
    const note = `run_timeout of ${job.options.runTimeout ?? '?'} s passed; the agent stopped the job`;
    this.log('warn', `Job ${job.jobId}: ${note}`);
    this.current = { state: 'idle' };
    this.killRun(run, 'run_timeout');
    // Reported as the agent ends it: by SIGTERM (SIGKILL after the grace period if need be).
    this.reportResult(run, 'failed', `${note}\n`, { exit_status: null, signal: 'SIGTERM' });
  }

  /** SIGTERM the group, SIGKILL after the grace period; release the lock once it is gone. */
  private killRun(run: Running, by: 'abort' | 'run_timeout' = 'abort'): void {
    clearTimeout(run.timer);
    run.stoppedBy = by;
    const pgid = run.pgid;
    const signalGroup = (signal: NodeJS.Signals): void => {
      if (pgid === undefined) return;
      try {
        process.kill(-pgid, signal);
      } catch {
        // Group already gone.
      }
    };
    const groupAlive = (): boolean => pgid !== undefined && processGroupAlive(pgid);
    const kill = async (): Promise<void> => {
      signalGroup('SIGTERM');
      const deadline = Date.now() + this.graceMs;
      while (groupAlive() && Date.now() < deadline) await sleep(POLL_MS);
      if (groupAlive()) {
        this.log(
          'warn',
          `Job ${run.job.jobId}: process group ${pgid ?? '?'} ignored SIGTERM, sending SIGKILL`,
        );
        signalGroup('SIGKILL');
        const killDeadline = Date.now() + KILL_WAIT_MS;
        while (groupAlive() && Date.now() < killDeadline) await sleep(POLL_MS);
      }
      run.job.lock?.release();
      if (!groupAlive()) this.opts.runningJobs?.remove(pgid);
    };
    const p = kill().finally(() => this.dying.delete(p));
    this.dying.add(p);
  }
}
