/**
 * Locks of `lock` allow-list entries (client spec A.11): real `flock(2)` locks, so they interlock
 * with chef-client (which flocks its `chef-client-running.pid`) and with anything else that
 * flocks the same file, whoever holds them.
 *
 * Node has no `flock`, so the agent opens the lock file and lets util-linux's `flock` program lock
 * that open file (`flock --nonblock 3`, with the agent's descriptor as the child's fd 3): a flock
 * belongs to the open file, not to the process that asked, so the lock stays held by the agent's
 * descriptor after the helper exits, and by every process that inherits it. The job runner hands
 * it to the job's process group leader (see `userCommand`), so the lock lives exactly as long as
 * the agent holds it or the job's leader runs: a job left running by an agent that was killed
 * still holds its lock, and a restarted agent cannot start a second copy beside it.
 *
 * The file is never removed (as chef-client leaves its own): removing a file someone else holds
 * or waits on would let a third party lock a new file of the same name.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage } from '@push-jobs/protocol/lite';

/** The exit code `flock` is told to use when the lock is held elsewhere. */
export const FLOCK_CONFLICT_EXIT_CODE = 75;

/** How long the `flock` helper may take (it never waits for the lock), ms. */
const FLOCK_HELPER_TIMEOUT_MS = 10_000;

/**
 * The first executable file `name` in the absolute directories of `searchPath` (the agent's own
 * `PATH`, never a job's), or `undefined`.
 */
export function findProgram(
  name: string,
  searchPath: string | undefined = process.env['PATH'],
): string | undefined {
  for (const dir of (searchPath ?? '').split(':')) {
    if (!path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    try {
      if (!fs.statSync(candidate).isFile()) continue;
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** A lock the agent holds (see {@link takeLock}). */
export class HeldLock {
  private open = true;

  constructor(
    /** The lock file. */
    readonly path: string,
    /** The agent's descriptor of the locked file (read-only). */
    readonly fd: number,
  ) {}

  /** Whether {@link release} has not been called yet. */
  get held(): boolean {
    return this.open;
  }

  /**
   * Closes the agent's descriptor. The lock is free once no process holds the file open any
   * more (the job's leader may still hold it until it exits). Idempotent.
   */
  release(): void {
    if (!this.open) return;
    this.open = false;
    try {
      fs.closeSync(this.fd);
    } catch {
      // Already closed.
    }
  }
}

/** What {@link takeLock} got: the lock, or why not (busy elsewhere, or an error). */
export type LockAttempt = { held: HeldLock } | { busy: string } | { error: string };

/** Options of {@link takeLock}. */
export interface TakeLockOptions {
  /** The `flock` program; default: `flock` on the agent's `PATH`. `null`: there is none. */
  readonly flock?: string | null;
  /** Written into the lock file once it is held (as chef-client writes its pid). Default our pid. */
  readonly pid?: number;
}

/** The pid a lock file holds, when it holds one. */
function pidIn(lockFile: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(lockFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes `pid` into the lock file, but only into the very file that is locked, when it is ours
 * and has no other name: a lock file in a directory others can write must not become a way to
 * truncate some other file (a hard link planted at its path). The pid is for people; the lock
 * is what counts, so any failure is ignored.
 */
function writePid(lockFile: string, locked: fs.Stats, pid: number): void {
  try {
    const { O_WRONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
    const out = fs.openSync(lockFile, O_WRONLY | O_NOFOLLOW | O_NONBLOCK);
    try {
      const stat = fs.fstatSync(out);
      const uid = process.getuid?.();
      if (
        stat.isFile() &&
        stat.dev === locked.dev &&
        stat.ino === locked.ino &&
        stat.nlink === 1 &&
        (uid === undefined || stat.uid === uid)
      ) {
        fs.ftruncateSync(out);
        fs.writeSync(out, `${pid}\n`);
      }
    } finally {
      fs.closeSync(out);
    }
  } catch {
    // Not writable, replaced meanwhile, ...: the lock still holds.
  }
}

/**
 * Takes an exclusive `flock` on `lockFile` without waiting: creates the file if needed (mode
 * 0644, never through a symlink), locks it, and writes `pid` into it. A lock held by any other
 * open file (another agent, chef-client, a job left running) is `busy`. No `flock` program is an
 * `error`, never a run without the lock. Synchronous: the helper only tries the lock and exits.
 */
export function takeLock(lockFile: string, options: TakeLockOptions = {}): LockAttempt {
  const flock = options.flock === undefined ? findProgram('flock') : options.flock;
  if (flock === null || flock === undefined) {
    return {
      error: `cannot take lock ${lockFile}: the flock program (util-linux) is not on the agent's PATH`,
    };
  }
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted at the path must not hang the agent in open(2).
    const { O_RDONLY, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
    fd = fs.openSync(lockFile, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o644);
  } catch (err) {
    return { error: `cannot open lock ${lockFile}: ${errorMessage(err)}` };
  }
  const fail = (attempt: LockAttempt): LockAttempt => {
    fs.closeSync(fd);
    return attempt;
  };
  let locked: fs.Stats;
  try {
    locked = fs.fstatSync(fd);
    if (!locked.isFile()) return fail({ error: `lock ${lockFile} is not a regular file` });
  } catch (err) {
    return fail({ error: `cannot open lock ${lockFile}: ${errorMessage(err)}` });
  }
  const result = spawnSync(
    flock,
    ['--exclusive', '--nonblock', '--conflict-exit-code', String(FLOCK_CONFLICT_EXIT_CODE), '3'],
    { stdio: ['ignore', 'ignore', 'pipe', fd], timeout: FLOCK_HELPER_TIMEOUT_MS, env: { LC_ALL: 'C' } },
  );
  if (result.error !== undefined) {
    return fail({ error: `cannot take lock ${lockFile}: running ${flock} failed: ${result.error.message}` });
  }
  if (result.status === FLOCK_CONFLICT_EXIT_CODE) {
    const holder = pidIn(lockFile);
    return fail({
      busy: `lock ${lockFile} is held by another process${holder === undefined ? '' : ` (pid ${holder} per the file)`}`,
    });
  }
  if (result.status !== 0) {
    const why = result.stderr.toString('utf8').trim() || `exit ${result.status ?? result.signal ?? '?'}`;
    return fail({ error: `cannot take lock ${lockFile}: ${flock}: ${why}` });
  }
  writePid(lockFile, locked, options.pid ?? process.pid);
  return { held: new HeldLock(lockFile, fd) };
}
