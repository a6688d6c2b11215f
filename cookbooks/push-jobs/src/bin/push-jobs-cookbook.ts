/**
 * The `push-jobs-cookbook` executable: `push-jobs-cookbook apply [options]`.
 *
 * @module
 */
import { runCli } from '../cli/run.js';

/** Runs the executable with `process.argv` and sets the exit code. */
export async function main(): Promise<void> {
  process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
}
