/**
 * `push-jobs-cookbook`: runs the oclif commands of `commands/` (today `apply`), with help, usage
 * errors and exit codes as every push-jobs binary has them.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import { Config, Help } from '@oclif/core';
import { UsageError } from '@push-jobs/protocol';
import Apply from './commands/apply.js';
import { type CliIo, PROGRAM, reportFailure } from './io.js';

export type { CliIo } from './io.js';

/** The package directory (its package.json holds the oclif configuration). */
const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** oclif's help, written to the given output. */
class CookbookHelp extends Help {
  constructor(
    config: Config,
    private readonly out: CliIo['stdout'],
  ) {
    super(config);
  }

  protected override log(...args: string[]): void {
    this.out.write(`${args.join(' ')}\n`);
  }
}

function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/**
 * Runs `push-jobs-cookbook` with `argv` (without node and script paths) and returns the exit
 * code: 0 converged, 1 failed (bad attributes, a resource failed), 2 usage error.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const config = await Config.load({ root: PACKAGE_ROOT });
  if (wantsHelp(argv)) {
    // `apply` is the one command: its help is the binary's.
    await new CookbookHelp(config, io.stdout).showHelp(['apply']);
    return 0;
  }
  const [command, ...rest] = argv;
  const use = `(use: ${PROGRAM} apply [options])`;
  if (command === undefined || command.startsWith('-')) {
    return reportFailure(new UsageError(`missing command ${use}`), io, false);
  }
  if (command !== 'apply') {
    return reportFailure(new UsageError(`unknown command '${command}' ${use}`), io, false);
  }
  return new Apply(rest, config).execute(io);
}
