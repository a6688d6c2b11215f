/**
 * Where `push-jobs-cookbook` writes, and how it reports a failure: one line on stderr (a usage
 * error adds a hint to `--help`), the error document on stdout with `--json`, and the exit code
 * of the protocol package's exit-code table under {@link COOKBOOK_EXIT_POLICY}.
 *
 * @module
 */
import { Errors } from '@oclif/core';
import { errorLine, exitCodeFor, EXIT_CODES, UsageError } from '@push-jobs/protocol';
import { CookbookError } from '../errors.js';

/** The program name, as users type it. */
export const PROGRAM = 'push-jobs-cookbook';

/** Where the command writes. */
export interface CliIo {
  /** Standard output. */
  stdout: { write(text: string): unknown };
  /** Standard error. */
  stderr: { write(text: string): unknown };
}

/** The process's own streams. */
export const PROCESS_IO: CliIo = { stdout: process.stdout, stderr: process.stderr };

/** The exit codes `push-jobs-cookbook` promises: 0 converged, 2 usage error, 1 any other failure. */
export const COOKBOOK_EXIT_POLICY = { distinct: [EXIT_CODES.USAGE] } as const;

/** A usage error from a message, or from one of oclif's parse errors (worded as before). */
export function toUsageError(err: unknown): unknown {
  if (typeof err === 'string') return new UsageError(err);
  if (!(err instanceof Errors.CLIError)) return err;
  const text = err.message.replace(/\nSee more help with --help$/, '');
  const fields = err as { flags?: unknown; args?: unknown };
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
  if (text.startsWith('Nonexistent flag')) {
    return new UsageError(`Unknown option '${list(fields.flags)[0] ?? ''}'`, { cause: err });
  }
  if (text.startsWith('Unexpected argument')) {
    return new UsageError(
      `unknown command 'apply ${list(fields.args).join(' ')}' (use: ${PROGRAM} apply [options])`,
      { cause: err },
    );
  }
  const needsValue = /^Flag (--\S+) expects a value$/.exec(text);
  if (needsValue !== null) return new UsageError(`option ${needsValue[1]} needs a value`, { cause: err });
  return new UsageError(text.replace(/\s*\n\s*/g, ' '), { cause: err });
}

/** Prints a failure; resolves to its exit code. */
export function reportFailure(err: unknown, io: CliIo, json: boolean): number {
  if (err instanceof UsageError) {
    io.stderr.write(`${PROGRAM}: ${errorLine(err)}\n`);
    io.stderr.write(`Run ${PROGRAM} --help for usage.\n`);
    return exitCodeFor(err, COOKBOOK_EXIT_POLICY);
  }
  const message = errorLine(err);
  const report = err instanceof CookbookError ? err.report : undefined;
  io.stderr.write(`${PROGRAM}: ERROR: ${message}\n`);
  if (json) {
    const code = (err as { code?: unknown } | null)?.code;
    io.stdout.write(
      `${JSON.stringify({ error: { message, code: typeof code === 'string' ? code : undefined }, report }, null, 2)}\n`,
    );
  }
  return exitCodeFor(err, COOKBOOK_EXIT_POLICY);
}
