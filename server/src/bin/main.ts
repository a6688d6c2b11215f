/**
 * `push-jobs-server`: the oclif commands of `commands/` (one per file), run by this dispatcher.
 * Run through the launcher `bin/push-jobs-server.js`.
 *
 * Exit status: 0 success, 2 usage error, 1 any other failure (bad configuration, conflict, not
 * found, I/O): the protocol package's exit-code table under {@link SERVER_EXIT_POLICY}. Errors
 * print as one `error: ...` line (a usage error adds a hint to `--help`); `--debug` adds the
 * stack trace.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';
import { errorLine, exitCodeFor, UsageError } from '@push-jobs/protocol/internal';
import { suggestName } from '../config/load.js';
import { PROGRAM, SERVER_EXIT_POLICY } from './context.js';
import { ServerHelp } from './help.js';

/** The package directory (its package.json holds the oclif configuration). */
const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const HELP_FLAGS = ['--help', '-h'];

/** Whether `args` asks for help (`--help` or `-h` before any `--`). */
function wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (HELP_FLAGS.includes(arg)) return true;
  }
  return false;
}

/** The command id of `words` and the arguments after it. @throws UsageError for none or an unknown one. */
function resolveCommand(config: Config, words: readonly string[]): { id: string; args: string[] } {
  const [first, second, ...rest] = words;
  if (first === undefined) throw new UsageError('missing command');
  if (first.startsWith('-')) throw new UsageError(`unknown option ${first}`);
  if (config.findCommand(first) !== undefined) return { id: first, args: words.slice(1) };
  if (config.findTopic(first) === undefined) throw new UsageError(`unknown command ${JSON.stringify(first)}`);
  const verbs = config.commandIDs
    .filter((id) => id.startsWith(`${first}:`))
    .map((id) => id.slice(first.length + 1));
  if (second === undefined)
    throw new UsageError(`missing command: ${first} ${verbs.join('|')}`, { command: first });
  if (!verbs.includes(second)) {
    const suggestion = suggestName(second, verbs);
    const hint = suggestion === undefined ? '' : ` (did you mean "${first} ${suggestion}"?)`;
    throw new UsageError(`unknown command "${first} ${second}"${hint}`, { command: first });
  }
  return { id: `${first}:${second}`, args: rest };
}

async function showHelp(config: Config, subject: readonly string[]): Promise<void> {
  await new ServerHelp(config).showHelp([...subject]);
}

async function dispatch(argv: readonly string[]): Promise<number> {
  const config = await Config.load({ root: PACKAGE_ROOT });
  const [first, ...rest] = argv;
  if (first !== undefined && HELP_FLAGS.includes(first)) {
    await showHelp(config, []);
    return 0;
  }
  if (first === 'help') {
    if (rest.length > 0)
      resolveCommand(
        config,
        rest.filter((a) => !a.startsWith('-')),
      );
    await showHelp(config, rest);
    return 0;
  }
  if (first === '--version' || first === '-V' || first === 'version') {
    process.stdout.write(`${config.version}\n`);
    return 0;
  }
  if (
    first !== undefined &&
    config.findTopic(first) !== undefined &&
    (rest[0] === 'help' || wantsHelp(rest.slice(0, 1)))
  ) {
    await showHelp(config, [first]);
    return 0;
  }
  const { id, args } = resolveCommand(config, argv);
  if (wantsHelp(args)) {
    await showHelp(config, id.split(':'));
    return 0;
  }
  await config.runCommand(id, args);
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

/** Prints a failure as `push-jobs-server` always has; resolves to its exit code. */
function report(err: unknown, debug: boolean): number {
  process.stderr.write(`error: ${errorLine(err)}\n`);
  if (err instanceof UsageError) {
    const command = err.command === '' ? '' : ` ${err.command}`;
    process.stderr.write(`Run '${PROGRAM}${command} --help' for usage.\n`);
  }
  if (debug && err instanceof Error && err.stack !== undefined) process.stderr.write(`${err.stack}\n`);
  return exitCodeFor(err, SERVER_EXIT_POLICY);
}

/**
 * Runs the command line `argv` (without node and the script); resolves to the exit status.
 * Errors are printed, not thrown. `--debug` may stand anywhere.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    return await dispatch(argv.filter((a) => a !== '--debug'));
  } catch (err) {
    return report(err, debug);
  }
}

/** Runs `main` on `process.argv` and exits with its status. */
export async function runCli(): Promise<never> {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}
