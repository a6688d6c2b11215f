// `npm pack` of the agent and protocol workspaces (built lib/ required: `npx tsc -b` at the
// repository root), for installs from local tarballs.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { npmEnvironment } from '../../src/converge/npm-package.js';
import { removeDir, tempDir } from './temp.js';

/** The directory of an installed workspace package (through its main entry). */
function packageDir(name: string): string {
  return dirname(dirname(createRequire(import.meta.url).resolve(name)));
}

/** Packs `@push-jobs/agent` and `@push-jobs/protocol` into a new temp dir; returns it and the tarballs. */
export function packAgentTarballs(): { dir: string; tarballs: string[] } {
  const dir = tempDir('packs');
  try {
    for (const name of ['@push-jobs/agent', '@push-jobs/protocol']) {
      execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], {
        cwd: packageDir(name),
        env: npmEnvironment(),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    }
  } catch (err) {
    removeDir(dir);
    throw err;
  }
  const tarballs = readdirSync(dir)
    .filter((f) => f.endsWith('.tgz'))
    .sort()
    .map((f) => join(dir, f));
  if (tarballs.length !== 2) throw new Error(`expected two tarballs in ${dir}, found ${tarballs.join(', ')}`);
  return { dir, tarballs };
}
