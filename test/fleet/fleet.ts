// The fleet simulator: N simulated push-jobs agents in a few worker processes, each agent a real
// instance of the agent library (its own CURVE key pair, signed config fetch, session key,
// heartbeats, and the commit/run/result protocol) with a simulated job runner.
import { fork, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ApiConflictError, PushApiClient } from '@push-jobs/protocol';
import type { FleetStats, ParentMessage, WorkerConfig, WorkerMessage } from './protocol.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** Options of {@link startFleet}. */
export interface FleetOptions {
  /** `https?://host:port/organizations/ORG`. */
  orgUrl: string;
  /** How many agents. */
  nodes: number;
  /** Node names are `PREFIX-0` ... `PREFIX-(N-1)`. @default 'sim' */
  prefix?: string;
  /** Worker processes. @default one per 2,500 agents, at least 1 */
  processes?: number;
  /** Who registers the simulated clients: the org's validator client or an admin user. */
  registrar: { userId: string; privateKeyPem: string };
  /** Milliseconds each simulated job runs. @default 0 */
  durationMs?: number;
  /** Share of jobs that fail. @default 0 */
  failureRate?: number;
  /**
   * While a job runs, each simulated command prints a line every this many ms
   * (`simulated line N at EPOCH_MS`), for {@link durationMs}: streamed as live output when the
   * commit allows it (through the agent's own output path), and in the final message when the
   * job captures output. @default 0 (prints nothing)
   */
  outputIntervalMs?: number;
  /**
   * Every simulated agent keeps the original (Ruby) client's message flow: no `output` messages
   * even when the commit allows them; captured output arrives with the final message only.
   * @default false
   */
  originalClient?: boolean;
  /**
   * One heartbeat SUB socket per worker process instead of one per agent ('auto': when one SUB
   * per agent would take more than half of this process's file-descriptor budget, which the
   * server shares). @default 'auto'
   */
  sharedSub?: boolean | 'auto';
  /**
   * Scheduling niceness of the worker processes (0 to 19). On a machine shared with the server
   * under test, a positive value lets the server take the CPU it needs first, so the figures
   * measure the server rather than the competition for cores. @default 0
   */
  niceness?: number;
  /** Concurrent config fetches per worker. @default 25 */
  startConcurrency?: number;
  /** Called as agents start. */
  onProgress?: (started: number, total: number) => void;
  /** Called once the clients are registered, before the agents start. */
  onRegistered?: () => void;
}

export type { FleetStats } from './protocol.js';

interface Worker {
  child: ChildProcess;
  started: number;
  failed: number;
  errors: string[];
  ready: Promise<void>;
  exited: Promise<void>;
}

function fdLimit(): number {
  return Number(process.env.PUSH_JOBS_FD_LIMIT ?? 20_000);
}

/** Registers `names` as clients with one shared public key (re-creating ones that exist, when allowed). */
export async function registerClients(
  orgUrl: string,
  registrar: { userId: string; privateKeyPem: string },
  names: readonly string[],
  publicKeyPem: string,
  concurrency = 16,
): Promise<void> {
  const client = new PushApiClient({
    serverUrl: orgUrl,
    userId: registrar.userId,
    privateKey: registrar.privateKeyPem,
  });
  const queue = [...names];
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
          try {
            await client.request('POST', 'clients', { name, public_key: publicKeyPem });
          } catch (err) {
            if (!(err instanceof ApiConflictError)) throw err;
            // Left over from an earlier run, with another key: replace it (needs an admin).
            await client.request('DELETE', `clients/${encodeURIComponent(name)}`);
            await client.request('POST', 'clients', { name, public_key: publicKeyPem });
          }
        }
      }),
    );
  } finally {
    client.close();
  }
}

/** A running fleet; see {@link startFleet}. */
export class Fleet {
  private constructor(
    readonly nodeNames: string[],
    private readonly workers: Worker[],
    readonly sharedSub: boolean,
  ) {}

  /** Registers the clients, starts the workers and resolves once every agent has started. */
  static async start(options: FleetOptions): Promise<Fleet> {
    const prefix = options.prefix ?? 'sim';
    const names = Array.from({ length: options.nodes }, (_, i) => `${prefix}-${i}`);
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    await registerClients(options.orgUrl, options.registrar, names, publicKey);
    options.onRegistered?.();
    const processes = Math.max(
      1,
      Math.min(names.length, options.processes ?? Math.ceil(names.length / 2500)),
    );
    const sharedSub =
      options.sharedSub === 'auto' || options.sharedSub === undefined
        ? names.length * 2 > fdLimit() / 2
        : options.sharedSub;
    const workers: Worker[] = [];
    let lastTotal = -1;
    const progress = (): void => {
      const total = workers.reduce((n, w) => n + w.started, 0);
      if (total !== lastTotal) {
        lastTotal = total;
        options.onProgress?.(total, names.length);
      }
    };
    for (let p = 0; p < processes; p++) {
      const config: WorkerConfig = {
        orgUrl: options.orgUrl,
        nodes: names.filter((_, i) => i % processes === p),
        clientKeyPem: privateKey,
        durationMs: options.durationMs ?? 0,
        failureRate: options.failureRate ?? 0,
        outputIntervalMs: options.outputIntervalMs ?? 0,
        originalClient: options.originalClient ?? false,
        sharedSub,
        startConcurrency: options.startConcurrency ?? 25,
      };
      const child = fork(WORKER, [JSON.stringify(config)], {
        // FLEET_WORKER_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR' profiles the workers.
        execArgv: ['--import=tsx', ...(process.env.FLEET_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      if (options.niceness !== undefined && options.niceness !== 0 && child.pid !== undefined)
        setPriority(child.pid, options.niceness);
      const worker: Worker = {
        child,
        started: 0,
        failed: 0,
        errors: [],
        ready: Promise.resolve(),
        exited: new Promise((resolve) => child.once('exit', () => resolve())),
      };
      worker.ready = new Promise<void>((resolve, reject) => {
        child.on('message', (m: WorkerMessage) => {
          if (m.type === 'progress' || m.type === 'ready') {
            worker.started = m.started;
            worker.failed = m.failed;
            progress();
          }
          if (m.type === 'ready') {
            worker.errors = m.errors;
            resolve();
          }
        });
        child.once('exit', (code) =>
          reject(new Error(`fleet worker exited with ${String(code)} before it was ready`)),
        );
      });
      workers.push(worker);
    }
    const fleet = new Fleet(names, workers, sharedSub);
    try {
      await Promise.all(workers.map((w) => w.ready));
    } catch (err) {
      await fleet.stop();
      throw err;
    }
    const failed = workers.reduce((n, w) => n + w.failed, 0);
    if (failed > 0) {
      const errors = workers.flatMap((w) => w.errors).slice(0, 5);
      await fleet.stop();
      throw new Error(`${failed} simulated agents could not start, e.g.\n  ${errors.join('\n  ')}`);
    }
    return fleet;
  }

  /** How many agents started. */
  get started(): number {
    return this.workers.reduce((n, w) => n + w.started, 0);
  }

  /** Worker process ids. */
  get pids(): number[] {
    return this.workers.map((w) => w.child.pid!);
  }

  /** Job outcome counts over every simulated agent. */
  async stats(): Promise<FleetStats> {
    const parts = await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<FleetStats>((resolve) => {
            const on = (m: WorkerMessage): void => {
              if (m.type !== 'stats') return;
              w.child.off('message', on);
              resolve(m);
            };
            w.child.on('message', on);
            w.child.send({ type: 'stats' } satisfies ParentMessage);
          }),
      ),
    );
    const total: FleetStats = {
      succeeded: 0,
      failed: 0,
      aborted: 0,
      outputLines: 0,
      outputChunks: 0,
      reconfigures: 0,
      serverOnline: 0,
      serverOffline: 0,
      slowSends: 0,
      sendErrors: 0,
      invalidMessages: 0,
      otherWarnings: 0,
      maxLoopDelayMs: 0,
    };
    for (const p of parts) {
      for (const k of Object.keys(total) as (keyof FleetStats)[]) {
        total[k] = k === 'maxLoopDelayMs' ? Math.max(total[k], p[k]) : total[k] + p[k];
      }
    }
    return total;
  }

  /** Shuts every agent down and waits for the workers to exit. */
  async stop(): Promise<void> {
    for (const w of this.workers) {
      if (w.child.exitCode === null && w.child.connected)
        w.child.send({ type: 'stop' } satisfies ParentMessage);
    }
    const timer = setTimeout(() => {
      for (const w of this.workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }, 30_000);
    await Promise.all(this.workers.map((w) => w.exited));
    clearTimeout(timer);
  }
}

/** Starts a fleet; see {@link Fleet.start}. */
export function startFleet(options: FleetOptions): Promise<Fleet> {
  return Fleet.start(options);
}
