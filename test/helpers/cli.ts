// Runs the `push-jobs` CLI (the oclif plugin's standalone bin) as a child process against a
// server process, connection settings in PUSH_JOBS_* variables.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServerProcess } from './server-process.js';

export const CLI_BIN = fileURLToPath(new URL('../../plugins/cli/bin/run.js', import.meta.url));

/** What a CLI run printed and how it exited. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment that points the CLI at `server` as its admin. */
export function cliEnv(server: ServerProcess): NodeJS.ProcessEnv {
  // No FORCE_COLOR from a parent (lerna sets it): output is checked as plain text.
  const { FORCE_COLOR: _forced, ...env } = process.env;
  return {
    ...env,
    PUSH_JOBS_SERVER_URL: server.apiUrl,
    PUSH_JOBS_ORG: server.org,
    PUSH_JOBS_USER: server.adminName,
    PUSH_JOBS_KEY: server.adminKeyPath,
    // Not the ~/.push-jobs/config.json or ~/.chef of whoever runs this.
    HOME: '/nonexistent-home',
    NO_COLOR: '1',
  };
}

/** Runs `push-jobs ARGS...`; `inherit` shows its output live (the demo) instead of capturing it. */
export function runCli(
  server: ServerProcess,
  args: readonly string[],
  options: { inherit?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], {
      env: { ...cliEnv(server), ...options.env },
      stdio: options.inherit === true ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
