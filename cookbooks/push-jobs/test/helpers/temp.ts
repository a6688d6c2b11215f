// Temporary directories for tests, and reading a converged tree back.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/** A new empty directory under the OS temp dir. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `pj-cookbook-${prefix}-`));
}

/** Removes a directory tree (missing is fine). */
export function removeDir(dir: string | undefined): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}

/** Every regular file under `root` (relative path → content), skipping `skip` subtrees. */
export function readTree(
  root: string,
  skip: readonly string[] = ['opt/push-jobs/node_modules'],
): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const rel = relative(root, path);
      if (skip.includes(rel)) continue;
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else if (st.isFile()) out[rel] = readFileSync(path, 'utf8');
    }
  };
  walk(root);
  return out;
}

/** Permission bits of a path, as an octal string (`'644'`). */
export function modeOf(path: string): string {
  return (statSync(path).mode & 0o7777).toString(8);
}

/** Polls `check` until it is true; fails with `what` after `timeoutMs` (a guard, not an assertion). */
export async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
