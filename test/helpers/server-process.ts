// The real `push-jobs-server` executable as a child process: `init` (org, admin, validator,
// keys in the data dir), then `start` on random ports; parses the address line it prints.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PushApiClient } from '@push-jobs/protocol';
import { removeDir, tempDir, waitForValue } from '@push-jobs/testing';

const run = promisify(execFile);

/** The server launcher (built lib; run `npm run build` first). */
export const SERVER_BIN = fileURLToPath(new URL('../../server/bin/push-jobs-server.js', import.meta.url));

/** Options of {@link ServerProcess.start}. */
export interface ServerProcessOptions {
  org?: string;
  /** The admin user `init` creates (users are global: unique names on a shared database). @default 'admin' */
  admin?: string;
  /** Data dir; default a new temp dir, removed by {@link ServerProcess.stop}. */
  dataDir?: string;
  /** A PostgreSQL URL instead of the embedded SQLite. */
  databaseUrl?: string;
  /** Milliseconds between server heartbeats. @default 1000 */
  heartbeatIntervalMs?: number;
  /** More `--setting value` flags for `start`. */
  settings?: Record<string, string | number>;
  /** Run `init` first (org, admin, validator). @default true unless {@link ports} is given */
  init?: boolean;
  /** Reuse these ports (a restart). */
  ports?: { api: number; command: number; heartbeat: number };
  /** Node.js flags for the server process (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Where the server's output goes. @default kept in memory ({@link ServerProcess.output}) */
  echo?: boolean;
  /** Run `start` with this open-file limit (soft and hard, `ulimit -n`). @default inherited */
  maxOpenFiles?: number;
}

/** A running server process; see the module documentation. */
export class ServerProcess {
  readonly output: string[] = [];
  apiUrl = '';
  ports = { api: 0, command: 0, heartbeat: 0 };
  private exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly dataDir: string,
    readonly org: string,
    public ownsDataDir: boolean,
    readonly options: ServerProcessOptions,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Initialises (unless the data dir already has a database) and starts a server. */
  static async start(options: ServerProcessOptions = {}): Promise<ServerProcess> {
    const org = options.org ?? 'demo';
    const ownsDataDir = options.dataDir === undefined;
    const dataDir = options.dataDir ?? tempDir('pj-server-');
    const db = options.databaseUrl === undefined ? [] : ['--database-url', options.databaseUrl];
    if (options.init ?? !options.ports) {
      await run(process.execPath, [
        SERVER_BIN,
        'init',
        '--data-dir',
        dataDir,
        '--org',
        org,
        '--admin',
        options.admin ?? 'admin',
        ...db,
        '--json',
      ]);
    }
    const settings: Record<string, string | number> = {
      'data-dir': dataDir,
      'api-host': '127.0.0.1',
      'api-port': options.ports?.api ?? 0,
      'server-name': '127.0.0.1',
      'zeromq-listen-address': 'tcp://127.0.0.1',
      'command-port': options.ports?.command ?? 0,
      'server-heartbeat-port': options.ports?.heartbeat ?? 0,
      'heartbeat-interval': options.heartbeatIntervalMs ?? 1000,
      'log-level': 'warn',
      // Every agent of a test runs on this host: no per-address cap on the heartbeat port (the
      // fleet and the benchmarks connect thousands of SUB sockets from 127.0.0.1).
      'max-zmq-connections-per-address': 0,
      ...options.settings,
    };
    if (options.databaseUrl !== undefined) settings['database-url'] = options.databaseUrl;
    const args = Object.entries(settings).flatMap(([k, v]) => [`--${k}`, String(v)]);
    const nodeArgv = [...(options.nodeArgs ?? []), SERVER_BIN, 'start', ...args];
    // With a file limit, a shell sets it and then becomes the server (same pid).
    const [command, argv] =
      options.maxOpenFiles === undefined
        ? [process.execPath, nodeArgv]
        : [
            '/bin/sh',
            ['-c', `ulimit -n ${options.maxOpenFiles} && exec "$0" "$@"`, process.execPath, ...nodeArgv],
          ];
    const child = spawn(command, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new ServerProcess(child, dataDir, org, ownsDataDir, options);
    const collect = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      server.output.push(text);
      if (options.echo === true) process.stderr.write(text);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    await server.waitForListening();
    return server;
  }

  private async waitForListening(): Promise<void> {
    const m = await waitForValue(
      () => `push-jobs-server to start:\n${this.output.join('')}`,
      () => {
        const text = this.output.join('');
        const found =
          /listening on (https?:\/\/[^\s]+) .*commands on tcp:\/\/[^:]+:(\d+), heartbeats on tcp:\/\/[^:]+:(\d+)/.exec(
            text,
          );
        if (found === null && this.child.exitCode !== null)
          throw new Error(`push-jobs-server did not start:\n${text}`);
        return found ?? undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    this.apiUrl = m[1]!;
    this.ports = {
      api: Number(new URL(this.apiUrl).port),
      command: Number(m[2]),
      heartbeat: Number(m[3]),
    };
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** `https?://host:port/organizations/ORG`. */
  get orgUrl(): string {
    return `${this.apiUrl}/organizations/${this.org}`;
  }

  get adminName(): string {
    return this.options.admin ?? 'admin';
  }

  get adminKeyPath(): string {
    return join(this.dataDir, 'keys', `${this.adminName}.pem`);
  }

  get validatorName(): string {
    return `${this.org}-validator`;
  }

  get validatorKeyPath(): string {
    return join(this.dataDir, 'keys', `${this.org}-validator.pem`);
  }

  /** A signed API client acting as the admin user. Close it after use. */
  adminClient(): PushApiClient {
    return new PushApiClient({
      serverUrl: this.orgUrl,
      userId: this.adminName,
      privateKey: readFileSync(this.adminKeyPath, 'utf8'),
    });
  }

  /** Resident memory (MiB) and CPU seconds used so far (user + system), from /proc. */
  usage(): { rssMiB: number; peakRssMiB: number; cpuSeconds: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    const peakKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { rssMiB: rssKb / 1024, peakRssMiB: peakKb / 1024, cpuSeconds: ticks / 100 };
  }

  /** SIGKILL, no cleanup of the data dir (a crash). */
  async kill(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** A new server process on the same data dir and ports (a new incarnation). */
  async restart(): Promise<ServerProcess> {
    await this.stopProcess();
    const next = await ServerProcess.start({
      ...this.options,
      dataDir: this.dataDir,
      ports: this.ports,
      init: false,
    });
    next.ownsDataDir = this.ownsDataDir;
    this.ownsDataDir = false;
    return next;
  }

  private async stopProcess(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  /** SIGTERM, wait for the exit, remove a temp data dir. Resolves to the exit code. */
  async stop(): Promise<number | null> {
    const code = await this.stopProcess();
    if (this.ownsDataDir) removeDir(this.dataDir);
    return code;
  }
}
