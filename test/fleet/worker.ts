// A fleet simulator worker process: runs many agents of the agent library (real config fetch,
// CURVE DEALER, server heartbeats, the commit/run protocol) with a simulated job runner.
// Started by fleet.ts with the WorkerConfig as JSON in argv[2]; talks over IPC.
import { Agent, compileAgentOptions, SharedHeartbeatFeed, SimulatedJobRunner } from '@push-jobs/agent';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { context } from 'zeromq';
import type { ParentMessage, WorkerConfig, WorkerMessage } from './protocol.js';

// Each agent owns a DEALER (and a SUB unless shared): raise libzmq's 1023 sockets per context.
context.maxSockets = Math.min(context.maxSocketsLimit, 65_000);

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const send = (m: WorkerMessage): void => {
  process.send?.(m);
};
const feed = config.sharedSub ? new SharedHeartbeatFeed() : undefined;
const agents: Agent[] = [];
const runners: SimulatedJobRunner[] = [];
const errors: string[] = [];
let failed = 0;
/** Warnings and errors the agents logged, by kind (the fleet's health). */
const logged = { serverOffline: 0, slowSends: 0, sendErrors: 0, invalidMessages: 0, otherWarnings: 0 };
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();
const log = {
  debug: (): void => undefined,
  info: (): void => undefined,
  warn: (m: string): void => {
    if (/offline/i.test(m)) logged.serverOffline++;
    else if (/waited \d+ ms for room/.test(m)) logged.slowSends++;
    else logged.otherWarnings++;
  },
  error: (m: string): void => {
    if (/enqueue error/.test(m)) logged.sendErrors++;
    else if (/invalid message/i.test(m)) logged.invalidMessages++;
    else logged.otherWarnings++;
  },
};

async function startOne(node: string): Promise<void> {
  const options = compileAgentOptions({
    flags: { chef_server_url: config.orgUrl, node_name: node, client_key: '/dev/null' },
    env: {},
    host: { hostname: node },
  });
  try {
    const agent = await Agent.create(options, {
      clientKeyPem: config.clientKeyPem,
      log,
      runner: (reply) => {
        const runner = new SimulatedJobRunner(reply, {
          durationMs: config.durationMs,
          failureRate: config.failureRate,
          outputIntervalMs: config.outputIntervalMs,
          originalClient: config.originalClient,
        });
        runners.push(runner);
        return runner;
      },
      startRetries: { count: 5, delayMs: 2000 },
      // Thousands of agents connecting at once delay the server's first command (the abort it
      // sends a new node); do not read that as a broken channel.
      commandSilenceMs: 60_000,
      ...(feed === undefined ? {} : { heartbeatFeed: feed }),
    });
    agents.push(agent);
  } catch (err) {
    failed++;
    if (errors.length < 5) errors.push(`${node}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const queue = [...config.nodes];
let lastProgress = 0;
await Promise.all(
  Array.from({ length: Math.max(1, config.startConcurrency) }, async () => {
    for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
      await startOne(node);
      if (Date.now() - lastProgress > 500) {
        lastProgress = Date.now();
        send({ type: 'progress', started: agents.length, failed });
      }
    }
  }),
);
send({ type: 'ready', started: agents.length, failed, errors });

process.on('disconnect', () => process.exit(0));
process.on('message', (m: ParentMessage) => {
  if (m.type === 'stats') {
    const total = { succeeded: 0, failed: 0, aborted: 0, outputLines: 0, outputChunks: 0 };
    for (const r of runners) {
      total.succeeded += r.finished.succeeded;
      total.failed += r.finished.failed;
      total.aborted += r.finished.aborted;
      total.outputLines += r.printed.lines;
      total.outputChunks += r.printed.chunks;
    }
    const statuses = agents.map((a) => a.status());
    send({
      type: 'stats',
      ...total,
      reconfigures: statuses.reduce((n, s) => n + s.reconfigures, 0),
      serverOnline: statuses.filter((s) => s.serverOnline).length,
      ...logged,
      maxLoopDelayMs: Math.round(loopDelay.max / 1e6),
    });
    loopDelay.reset();
  } else if (m.type === 'stop') {
    void (async () => {
      for (const r of runners) r.stop();
      await Promise.all(agents.map((a) => a.shutdown()));
      await feed?.close();
      send({ type: 'stopped' });
      process.exit(0);
    })();
  }
});
