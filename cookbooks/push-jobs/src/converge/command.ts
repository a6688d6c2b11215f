/**
 * Running external commands (npm, systemctl, service, sv) through one injectable function, so
 * tests can see what would run without running it.
 *
 * @module
 */
import { spawn } from 'node:child_process';

/** The outcome of a command. */
export interface CommandResult {
  /** Exit code; 127 when the command was not found, 128+N when killed by signal N. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error (or the spawn error message). */
  stderr: string;
}

/** Options of a {@link CommandRunner} call. */
export interface CommandOptions {
  /** Working directory. */
  cwd?: string;
  /** Environment; default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** Runs a command and resolves with its result; never rejects for a non-zero exit. */
export type CommandRunner = (
  command: string,
  args: readonly string[],
  options?: CommandOptions,
) => Promise<CommandResult>;

/** The default {@link CommandRunner}: `child_process.spawn`, no shell, output collected. */
export const execCommand: CommandRunner = (command, args, options = {}) =>
  new Promise((resolve) => {
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => {
      resolve({ code: err.code === 'ENOENT' ? 127 : 1, stdout, stderr: `${stderr}${err.message}` });
    });
    child.on('close', (code, signal) => {
      resolve({ code: code ?? (signal === null ? 1 : 128 + signalNumber(signal)), stdout, stderr });
    });
  });

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return numbers[signal] ?? 0;
}

/** `cmd arg arg` for messages. */
export function formatCommand(command: string, args: readonly string[]): string {
  return [command, ...args].map((a) => (/^[\w@%+=:,./-]+$/u.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** The last `n` non-empty lines of some output, joined with ` | `, for one-line errors. */
export function lastLines(text: string, n = 3): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-n)
    .join(' | ');
}
