// A stand-in for `npm install` (as a CommandRunner) that lays down what npm would: each
// dependency's package.json under node_modules and the agent's bin link. And tiny package
// tarballs made with tar.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandResult, CommandRunner } from '../../src/index.js';
import { readTarballPackage } from '../../src/converge/tarball.js';

export interface FakeNpmCall {
  command: string;
  args: readonly string[];
  cwd: string | undefined;
}

/** Makes `DIR/NAME-VERSION.tgz` holding `package/package.json`. */
export function makeTarball(
  dir: string,
  name: string,
  version: string,
  extra: Record<string, unknown> = {},
): string {
  const work = join(dir, `work-${name.replace(/[@/]/g, '_')}-${version}`);
  mkdirSync(join(work, 'package'), { recursive: true });
  writeFileSync(join(work, 'package', 'package.json'), JSON.stringify({ name, version, ...extra }));
  const out = join(dir, `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`);
  execFileSync('tar', ['-czf', out, '-C', work, 'package']);
  return out;
}

/**
 * A CommandRunner that records every call and fakes `npm install`: `registry` maps package names
 * to the version "published" (a missing name answers E404).
 */
export function fakeNpm(
  calls: FakeNpmCall[],
  registry: Record<string, string> = { '@push-jobs/agent': '1.2.3' },
): CommandRunner {
  return async (command, args, options = {}): Promise<CommandResult> => {
    calls.push({ command, args: [...args], cwd: options.cwd });
    if (command !== 'npm' || args[0] !== 'install' || options.cwd === undefined) {
      return { code: 1, stdout: '', stderr: `unexpected command ${command}` };
    }
    const manifest = JSON.parse(readFileSync(join(options.cwd, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const [name, spec] of Object.entries(manifest.dependencies)) {
      let version: string;
      if (spec.startsWith('file:')) {
        version = (await readTarballPackage(spec.slice('file:'.length))).version;
      } else {
        const published = registry[name];
        if (published === undefined) {
          return {
            code: 1,
            stdout: '',
            stderr: `npm error code E404\nnpm error 404 Not Found - GET https://registry.npmjs.org/${name}`,
          };
        }
        if (spec !== 'latest' && spec !== published) {
          return {
            code: 1,
            stdout: '',
            stderr: `npm error code ETARGET\nnpm error notarget No matching version found for ${name}@${spec}.`,
          };
        }
        version = published;
      }
      const dir = join(options.cwd, 'node_modules', name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version }));
      if (name === '@push-jobs/agent') {
        mkdirSync(join(options.cwd, 'node_modules/.bin'), { recursive: true });
        writeFileSync(
          join(options.cwd, 'node_modules/.bin/push-jobs-client'),
          '#!/bin/sh\necho fake agent\n',
        );
        chmodSync(join(options.cwd, 'node_modules/.bin/push-jobs-client'), 0o755);
      }
    }
    return { code: 0, stdout: 'added 2 packages', stderr: '' };
  };
}
