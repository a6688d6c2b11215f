/**
 * The `push-jobs-client` executable (client spec A.18): starts the daemon, then traps TERM, INT
 * and QUIT (graceful shutdown, exit 0), HUP (reload the allow-list) and USR1 (reconfigure), and
 * exits with the daemon's exit code. `PUSH_JOBS_CLIENT_CONFIG_POLL_MS` sets how often the config file
 * is checked for changes (default 500; 0 disables the watch, leaving SIGHUP).
 *
 * @module
 */
import { errorMessage, exitCodeFor } from '@push-jobs/protocol/lite';
import { AGENT_EXIT_POLICY, startDaemon } from '../daemon.js';

function pollInterval(): { watchIntervalMs?: number } {
  const raw = process.env['PUSH_JOBS_CLIENT_CONFIG_POLL_MS'];
  if (raw === undefined || !/^\d+$/u.test(raw)) return {};
  return { watchIntervalMs: Number(raw) };
}

/** Runs the executable with `process.argv`; sets `process.exitCode` and exits when done. */
export async function main(): Promise<void> {
  let code: number;
  try {
    const handle = await startDaemon({
      argv: process.argv.slice(2),
      env: process.env,
      stdout: process.stdout,
      stderr: process.stderr,
      ...pollInterval(),
    });
    const stop = (signal: NodeJS.Signals): void => {
      process.stdout.write(`received ${signal.replace(/^SIG/u, '')}, shutting down\n`);
      void handle.shutdown();
    };
    const signals: [NodeJS.Signals, () => void][] = [
      ['SIGTERM', () => stop('SIGTERM')],
      ['SIGINT', () => stop('SIGINT')],
      ['SIGHUP', () => void handle.reload()],
    ];
    if (process.platform !== 'win32') {
      signals.push(['SIGQUIT', () => stop('SIGQUIT')]);
      signals.push([
        'SIGUSR1',
        () => {
          process.stdout.write('received USR1, reconfiguring\n');
          void handle.reconfigure();
        },
      ]);
    }
    for (const [signal, handler] of signals) process.on(signal, handler);
    code = await handle.done;
    for (const [signal, handler] of signals) process.off(signal, handler);
  } catch (err) {
    process.stderr.write(`push-jobs-client: ${errorMessage(err)}\n`);
    code = exitCodeFor(err, AGENT_EXIT_POLICY);
  }
  process.exit(code);
}
