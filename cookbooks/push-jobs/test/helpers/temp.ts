// Temporary directories for tests, and reading a converged tree back.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tempDir as sharedTempDir } from '@push-jobs/testing';

export { removeDir } from '@push-jobs/testing';

/** A new empty directory under the OS temp dir, named `pj-cookbook-<prefix>-…`. */
export function tempDir(prefix: string): string {
  return sharedTempDir(`pj-cookbook-${prefix}-`);
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
