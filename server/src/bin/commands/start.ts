/**
 * `push-jobs-server start`: compiles the configuration, opens the store (running migrations),
 * builds the HTTP app and listens, until SIGTERM or SIGINT.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { ERROR_CODES, errorMessage, PushJobsError } from '@push-jobs/protocol/internal';
import type { PushServer } from '../../push-server.js';
import { redactDatabaseUrl, resolveDatabaseUrl } from '../../config/load.js';
import type { ServerConfig } from '../../config/types.js';
import { ServerCommand } from '../base-command.js';
import { CONFIG_ENV, loadConfig, openConfiguredStore, PROGRAM } from '../context.js';
import { configFlag, settingFlags } from '../flags.js';

/** Milliseconds a graceful shutdown may take before the process exits with status 1. */
export const SHUTDOWN_TIMEOUT_MS = 10_000;

async function readTls(config: ServerConfig): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (config.tls_cert === null || config.tls_key === null) return undefined;
  const read = async (path: string, setting: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new PushJobsError(ERROR_CODES.CONFIG, `cannot read ${setting} ${path}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  };
  return { cert: await read(config.tls_cert, 'tls_cert'), key: await read(config.tls_key, 'tls_key') };
}

function formatAddress(address: AddressInfo | string | null, scheme: string): string {
  if (address === null) return 'unknown address';
  if (typeof address === 'string') return address;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

/** `start`: see the module notes. */
export default class Start extends ServerCommand<typeof Start> {
  static override summary = 'Run the server.';
  static override description = `Opens the database (applying migrations), then serves the REST API on api_host:api_port (HTTPS when tls_cert and tls_key are set). Prints the address it listens on; stops gracefully on SIGTERM or SIGINT (exit 0; 1 when the shutdown fails or takes longer than ${SHUTDOWN_TIMEOUT_MS / 1000} s).

Every setting is also a flag, kebab- or snake-case (--api-port 10003, --api_port 10003), and a PUSH_JOBS_<SETTING> environment variable (the config file also comes from $${CONFIG_ENV}). Order: defaults < config file < environment < flags.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --config /etc/push-jobs/server.json',
    '<%= config.bin %> <%= command.id %> --data-dir /var/lib/push-jobs --api-port 10003 --log-level warn',
  ];
  static override flags = { ...configFlag, ...settingFlags() };

  async run(): Promise<void> {
    const code = await runStart(this.flags, this.words);
    if (code !== 0) process.exitCode = code;
  }
}

/** Runs the server with the parsed flags; resolves to the exit status once it has stopped. */
async function runStart(values: Readonly<Record<string, unknown>>, command: string): Promise<number> {
  const config = loadConfig(values, command);
  const https = await readTls(config);
  const store = await openConfiguredStore(config, { create: true });
  // Loaded here, so the admin verbs and --help do not load the HTTP app and the broker.
  const { startPushServer } = await import('../../push-server.js');
  let server: PushServer | undefined;
  try {
    server = await startPushServer({
      config,
      store,
      logger: true,
      ...(https === undefined ? {} : { https }),
    });
    await server.app.listen({ host: config.api_host, port: config.api_port });
  } catch (err) {
    await server?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw new PushJobsError(ERROR_CODES.CONFIG, `cannot start: ${errorMessage(err)}`, { cause: err });
  }
  const running = server;
  const where = formatAddress(running.app.server.address(), https === undefined ? 'http' : 'https');
  process.stdout.write(
    `${PROGRAM} listening on ${where} (database: ${store.kind} ${redactDatabaseUrl(resolveDatabaseUrl(config))}; ` +
      `commands on ${running.endpoints.command}, heartbeats on ${running.endpoints.heartbeat})\n`,
  );

  // A parent that went away (its end of our stdout or stderr pipe closed) must not turn the
  // next log line into an unhandled EPIPE that kills the server mid-job.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`${PROGRAM}: ${signal} again, exiting now\n`);
        resolveExit(1);
        return;
      }
      stopping = true;
      const drainMs = config.cluster ? config.cluster_drain_seconds * 1000 : 0;
      process.stdout.write(
        config.cluster
          ? `${PROGRAM}: ${signal} received, draining (no new jobs; waiting up to ${config.cluster_drain_seconds} s for this instance's jobs)\n`
          : `${PROGRAM}: ${signal} received, shutting down\n`,
      );
      const timer = setTimeout(() => {
        process.stderr.write(
          `${PROGRAM}: shutdown took longer than ${drainMs + SHUTDOWN_TIMEOUT_MS} ms, exiting\n`,
        );
        resolveExit(1);
      }, drainMs + SHUTDOWN_TIMEOUT_MS);
      timer.unref();
      const close = async (): Promise<void> => {
        try {
          await running.drainAndClose(drainMs, (jobs) => {
            if (jobs > 0)
              process.stdout.write(`${PROGRAM}: draining: ${jobs} job(s) of this instance still running\n`);
          });
        } finally {
          await store.close();
        }
      };
      close().then(
        () => {
          clearTimeout(timer);
          resolveExit(0);
        },
        (err: unknown) => {
          clearTimeout(timer);
          process.stderr.write(`error: shutdown failed: ${errorMessage(err)}\n`);
          resolveExit(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    void running.leaseLost.then(() => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(
        `error: ${PROGRAM}: this instance lost its cluster lease (it stalled longer than ` +
          `cluster_lease_seconds and another instance ended its jobs and cleared its nodes); exiting ` +
          'so that it restarts as a new instance\n',
      );
      const exit = (): void => resolveExit(1);
      running
        .kill()
        .then(() => store.close())
        .then(exit, exit);
    });
  });
}
