// takeLock: real flock(2) locks through util-linux flock, in a temp dir.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { takeLock, type HeldLock, type LockAttempt } from '../src/job-lock.js';

let tmp: string;
const held: HeldLock[] = [];

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'job-lock-'));
});
afterEach(() => {
  for (const lock of held.splice(0)) lock.release();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function heldLock(attempt: LockAttempt): HeldLock {
  if (!('held' in attempt)) throw new Error(`not held: ${JSON.stringify(attempt)}`);
  held.push(attempt.held);
  return attempt.held;
}

const lockedElsewhere = (file: string): boolean =>
  spawnSync('flock', ['--nonblock', '--conflict-exit-code', '75', file, 'true']).status === 75;

describe('takeLock', () => {
  it('takes a flock others see, refuses a second one while held, and lets go on release (idempotent)', () => {
    const file = path.join(tmp, 'chef-client-running.pid');
    const lock = heldLock(takeLock(file, { pid: 1234 }));
    expect(fs.readFileSync(file, 'utf8')).to.equal('1234\n');
    expect(lockedElsewhere(file)).to.equal(true);
    expect(takeLock(file)).to.deep.equal({
      busy: `lock ${file} is held by another process (pid 1234 per the file)`,
    });
    lock.release();
    lock.release();
    expect(lock.held).to.equal(false);
    expect(lockedElsewhere(file)).to.equal(false);
    heldLock(takeLock(file));
  });

  it('a FIFO planted at the path is an error at once, not a hang', () => {
    const file = path.join(tmp, 'fifo');
    execFileSync('mkfifo', [file]);
    expect(takeLock(file)).to.deep.equal({ error: `lock ${file} is not a regular file` });
  });

  it('never writes into a file that has another name (a planted hard link), nor through a symlink', () => {
    const victim = path.join(tmp, 'victim');
    fs.writeFileSync(victim, 'precious\n');
    const file = path.join(tmp, 'linked.lock');
    fs.linkSync(victim, file);
    heldLock(takeLock(file));
    expect(fs.readFileSync(victim, 'utf8')).to.equal('precious\n');
    const symlink = path.join(tmp, 'symlink.lock');
    fs.symlinkSync(victim, symlink);
    expect(takeLock(symlink))
      .to.have.property('error')
      .that.matches(/^cannot open lock .*ELOOP/u);
    expect(fs.readFileSync(victim, 'utf8')).to.equal('precious\n');
  });
});
