/**
 * Runs what the mocked `remote.Command` and `remote.CopyFile` resources received, for real, on
 * this machine, as the SSH provider would on a host: each command string through `/bin/sh -c`
 * with its stdin and environment, each copy as a file copy (into an existing directory, as
 * SFTP). Creates run as the resources register (so later steps see real outputs, such as the
 * keys), and `destroy()` runs the delete commands in reverse order, as `pulumi destroy` does.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Recorded } from './harness.js';

/** One command run. */
export interface RunResult {
  readonly name: string;
  readonly phase: 'create' | 'delete';
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** What an SSH session on this machine would have: a login's variables and the machine's trust and proxy settings. */
const SESSION_VARIABLES = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'TMPDIR',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];

/**
 * The environment of an SSH session: a login's basic variables and the machine's certificate
 * and proxy settings, not the test process's (which may carry npm settings of an enclosing
 * `npm test`).
 */
export function sessionEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of SESSION_VARIABLES) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Runs `command` with `/bin/sh -c`, in an SSH-like environment plus `env`. */
export function runShell(
  command: string,
  opts: { stdin?: string; env?: Record<string, string>; cwd: string },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: opts.cwd,
      env: { ...sessionEnvironment(), ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}

/** A local stand-in for the hosts. */
export class LocalHost {
  /** Every command run, in order. */
  readonly runs: RunResult[] = [];
  /** Resources created, in order (for destroy). */
  readonly created: Recorded[] = [];

  /** @param home the working directory of the commands (an SSH session starts in the home). */
  constructor(private readonly home: string) {}

  /** The mock state hook: runs a create, and fails the registration when it fails. */
  readonly hook = async (r: Recorded): Promise<Record<string, unknown>> => {
    if (r.type === 'command:remote:CopyFile') {
      const remotePath = r.inputs.remotePath as string;
      if (!existsSync(dirname(remotePath)))
        throw new Error(`${r.name}: no directory ${dirname(remotePath)} on the host`);
      copyFileSync(r.inputs.localPath as string, remotePath);
      this.created.push(r);
      return {};
    }
    if (r.type !== 'command:remote:Command') return {};
    const result = await this.run(r, 'create');
    this.created.push(r);
    if (result.code !== 0) {
      throw new Error(`${r.name} failed with status ${result.code}:\n${result.stderr}${result.stdout}`);
    }
    return { stdout: result.stdout, stderr: result.stderr };
  };

  private async run(r: Recorded, phase: 'create' | 'delete'): Promise<RunResult> {
    const started = Date.now();
    const command = r.inputs[phase] as string;
    const result = await runShell(command, {
      cwd: this.home,
      ...(typeof r.inputs.stdin === 'string' ? { stdin: r.inputs.stdin } : {}),
      ...(r.inputs.environment === undefined ? {} : { env: r.inputs.environment as Record<string, string> }),
    });
    const run = { name: r.name, phase, ...result, ms: Date.now() - started };
    this.runs.push(run);
    return run;
  }

  /** Runs every delete command, last created first; resolves to the failures. */
  async destroy(): Promise<RunResult[]> {
    const failures: RunResult[] = [];
    for (const r of [...this.created].reverse()) {
      if (r.type !== 'command:remote:Command' || typeof r.inputs.delete !== 'string') continue;
      const result = await this.run(r, 'delete');
      if (result.code !== 0) failures.push(result);
    }
    this.created.length = 0;
    return failures;
  }
}
