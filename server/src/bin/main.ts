/**
 * `push-jobs-server`: dispatches to one module per command. Run through the launcher
 * `bin/push-jobs-server.js`, or directly with `node --import=tsx src/bin/main.ts`.
 *
 * Exit status: 0 success, 1 operational error (bad configuration, conflict, not found, I/O),
 * 2 usage error. Errors print as one `error: ...` line; `--debug` adds the stack trace.
 *
 * @module
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { errorMessage, exitCodeFor, PROGRAM, UsageError } from './context.js';

interface Command {
  summary: string;
  run(args: readonly string[]): Promise<number>;
}

// Command modules load on demand, so `--help` or an admin verb does not load the HTTP app.
const COMMANDS: Record<string, Command> = {
  start: {
    summary: 'run the server',
    run: async (args) => (await import('./start.js')).runStart(args),
  },
  init: {
    summary: 'create the data dir, database, first org, admin user and validator',
    run: async (args) => (await import('./init.js')).runInit(args),
  },
  org: {
    summary: 'create, list and delete organizations',
    run: async (args) => (await import('./org.js')).runOrg(args),
  },
  user: {
    summary: 'create, list and delete users',
    run: async (args) => (await import('./user.js')).runUser(args),
  },
  client: {
    summary: 'create, list and delete API clients of an org',
    run: async (args) => (await import('./client.js')).runClient(args),
  },
  group: {
    summary: "add, remove, show and list an org's groups",
    run: async (args) => (await import('./group.js')).runGroup(args),
  },
};

/** The top-level help. */
export const MAIN_HELP = `Usage: ${PROGRAM} <command> [options]

Chef Push Jobs server.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`)
  .join('\n')}

Options:
  -h, --help     show this help (or '${PROGRAM} <command> --help')
  --version      print the version
  --debug        print stack traces with errors

Examples:
  ${PROGRAM} init --data-dir /var/lib/push-jobs --org acme
  ${PROGRAM} start --data-dir /var/lib/push-jobs --api-port 10003`;

/** This package's version, from its package.json. */
export function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  const version = (JSON.parse(text) as { version?: unknown }).version;
  return typeof version === 'string' ? version : 'unknown';
}

/**
 * Runs the command line `argv` (without node and the script); resolves to the exit status.
 * Errors are printed, not thrown.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const args = argv.filter((a) => a !== '--debug');
  const [name, ...rest] = args;
  try {
    if (name === undefined) throw new UsageError('missing command');
    if (name === '--help' || name === '-h' || name === 'help') {
      if (name === 'help' && rest[0] !== undefined) return await dispatch(rest[0], ['--help']);
      process.stdout.write(`${MAIN_HELP}\n`);
      return 0;
    }
    if (name === '--version' || name === '-V' || name === 'version') {
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    return await dispatch(name, rest);
  } catch (err) {
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    if (err instanceof UsageError) {
      const command = err.command === '' ? '' : ` ${err.command}`;
      process.stderr.write(`Run '${PROGRAM}${command} --help' for usage.\n`);
    }
    if (debug && err instanceof Error && err.stack !== undefined) process.stderr.write(`${err.stack}\n`);
    return exitCodeFor(err);
  }
}

async function dispatch(name: string, args: readonly string[]): Promise<number> {
  const command = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    throw new UsageError(
      name.startsWith('-') ? `unknown option ${name}` : `unknown command ${JSON.stringify(name)}`,
    );
  }
  return command.run(args);
}

/** Runs `main` on `process.argv` and exits with its status. */
export async function runCli(): Promise<never> {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) void runCli();
