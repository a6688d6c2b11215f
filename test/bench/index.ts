// `npm run bench` (root; this file is `npm run bench -w @push-jobs/e2e`): one real server
// process and the fleet simulator at 1,000, 5,000 and 10,000 nodes on this machine. Prints a
// table and saves it as JSON under bench-results/. Asserts nothing.
//
//   BENCH_NODES=1000,5000   the fleet sizes (default 1000,5000,10000)
//   BENCH_JOBS=5            no-op jobs per size (the p50 is over these)
//   BENCH_FLEET_NICE=10     niceness of the fleet's worker processes: the server under test
//                           gets the CPU it needs first (0 to let them compete as equals)
//   BENCH_ROLLOUT=10%       after the plain jobs, the same no-op job as a rollout with this
//                           max_concurrency (a count or a percentage; empty: none)
//   BENCH_ROLLOUT_JOBS=3    rollout jobs per size (the rollout p50 is over these)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '@push-jobs/testing';
import { availableCount, log, median, timedJob, waitAllAvailable } from './jobs.js';
import { startFleet } from '../fleet/fleet.js';
import { ServerProcess } from '../helpers/server-process.js';
import { zmqDealerRouterRate } from './zmq-rate.js';

const SIZES = (process.env.BENCH_NODES ?? '1000,5000,10000').split(',').map(Number);
const JOBS = Number(process.env.BENCH_JOBS ?? 5);
const FLEET_NICE = Number(process.env.BENCH_FLEET_NICE ?? 10);
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 10);
const ROLLOUT = process.env.BENCH_ROLLOUT ?? '10%';
const ROLLOUT_JOBS = ROLLOUT === '' ? 0 : Number(process.env.BENCH_ROLLOUT_JOBS ?? 3);
/** `max_concurrency` of the rollout jobs: `"10%"` stays a string, a count is a number. */
const ROLLOUT_SIZE: number | string = ROLLOUT.endsWith('%') ? ROLLOUT : Number(ROLLOUT);
const RESULTS_DIR = fileURLToPath(new URL('../../bench-results/', import.meta.url));

interface Row {
  nodes: number;
  sharedSub: boolean;
  registerSeconds: number;
  connectSeconds: number;
  jobP50Seconds: number;
  jobSeconds: number[];
  jobFailures: string[];
  nodesPerSecond: number;
  fanOutMessagesPerSecond: number;
  steadyCpuCores: number;
  /** Server CPU over the successful jobs' durations (all threads, so it can exceed 1). */
  jobCpuCores: number;
  serverRssMiB: number;
  /** The most the server's RSS reached (VmHWM), start-up included. */
  serverPeakRssMiB: number;
  nodeStatesP50Ms: number;
  /** The longest a fleet worker's event loop was blocked during a job, ms (max over the jobs). */
  fleetLoopMaxMs: number;
  /** Nodes found unavailable before a job (summed over the jobs) and waited for. */
  nodesWaitedFor: number;
  /** The same no-op job as a rollout (`max_concurrency` {@link ROLLOUT}): durations and p50. */
  rolloutJobSeconds: number[];
  rolloutP50Seconds: number;
  rolloutFailures: string[];
  /** Server CPU over the successful rollout jobs' durations (cores). */
  rolloutCpuCores: number;
}

async function runSize(nodes: number, zmqRate: number): Promise<Row> {
  // BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the server.
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const server = await ServerProcess.start({ nodeArgs });
  const api = server.adminClient();
  let fleet: Awaited<ReturnType<typeof startFleet>> | undefined;
  try {
    const t0 = performance.now();
    let registered = t0;
    fleet = await startFleet({
      orgUrl: server.orgUrl,
      nodes,
      niceness: FLEET_NICE,
      ...(process.env.BENCH_PROCESSES === undefined
        ? {}
        : { processes: Number(process.env.BENCH_PROCESSES) }),
      registrar: {
        userId: server.validatorName,
        privateKeyPem: readFileSync(server.validatorKeyPath, 'utf8'),
      },
      onRegistered: () => {
        registered = performance.now();
        log(`  ${nodes}: clients registered in ${((registered - t0) / 1000).toFixed(1)} s`);
      },
      onProgress: (started, total) => {
        if (started % 1000 === 0 || started === total) log(`  ${nodes}: ${started}/${total} agents started`);
      },
    });
    for (;;) {
      const available = await availableCount(api);
      if (available === nodes) break;
      if (performance.now() - registered > 300_000) throw new Error(`only ${available}/${nodes} available`);
      // node_states of thousands of nodes is a large answer: do not load the server polling it.
      await sleep(1000);
    }
    const connectSeconds = (performance.now() - registered) / 1000;
    log(`  ${nodes}: all available ${connectSeconds.toFixed(1)} s after registration`);

    // Steady heartbeat load: let start-up settle, then measure.
    await sleep(3000);
    const before = server.usage();
    await sleep(STEADY_SECONDS * 1000);
    const after = server.usage();
    const steadyCpuCores = (after.cpuSeconds - before.cpuSeconds) / STEADY_SECONDS;

    const nodeStatesMs: number[] = [];
    for (let i = 0; i < 10; i++) {
      const start = performance.now();
      await api.listNodeStates();
      nodeStatesMs.push(performance.now() - start);
    }

    const jobSeconds: number[] = [];
    const jobFailures: string[] = [];
    let jobCpuSeconds = 0;
    let fleetLoopMaxMs = 0;
    let nodesWaitedFor = 0;
    for (let i = 0; i < JOBS; i++) {
      // A node the last job's load left for dead comes back on its next heartbeats; a job started
      // before then fails its quorum on that node alone. Wait, and say so.
      const waited = await waitAllAvailable(api, nodes);
      nodesWaitedFor += waited.missing;
      if (waited.missing > 0)
        log(
          `  ${nodes}: waited ${waited.seconds.toFixed(1)} s for ${waited.missing} node(s) to be available again`,
        );
      await fleet.stats(); // starts the workers' loop-delay window afresh
      try {
        const cpuBefore = server.usage().cpuSeconds;
        jobSeconds.push(await timedJob(api, fleet.nodeNames));
        jobCpuSeconds += server.usage().cpuSeconds - cpuBefore;
        const { maxLoopDelayMs } = await fleet.stats();
        fleetLoopMaxMs = Math.max(fleetLoopMaxMs, maxLoopDelayMs);
        log(
          `  ${nodes}: job ${i + 1}/${JOBS} ${jobSeconds.at(-1)!.toFixed(2)} s (fleet event loop blocked up to ${maxLoopDelayMs} ms)`,
        );
      } catch (err) {
        // Reported in the table, not hidden: a node that missed its heartbeats fails the job.
        jobFailures.push(err instanceof Error ? err.message : String(err));
        log(`  ${nodes}: job ${i + 1}/${JOBS} FAILED: ${jobFailures.at(-1)!}`);
        const stats = await fleet.stats();
        fleetLoopMaxMs = Math.max(fleetLoopMaxMs, stats.maxLoopDelayMs);
        log(`  fleet: ${JSON.stringify(stats)}`);
        await waitAllAvailable(api, nodes);
      }
    }
    const rolloutJobSeconds: number[] = [];
    const rolloutFailures: string[] = [];
    let rolloutCpuSeconds = 0;
    for (let i = 0; i < ROLLOUT_JOBS; i++) {
      await waitAllAvailable(api, nodes);
      try {
        const cpuBefore = server.usage().cpuSeconds;
        rolloutJobSeconds.push(await timedJob(api, fleet.nodeNames, { max_concurrency: ROLLOUT_SIZE }));
        rolloutCpuSeconds += server.usage().cpuSeconds - cpuBefore;
        log(
          `  ${nodes}: rollout job ${i + 1}/${ROLLOUT_JOBS} (max_concurrency ${ROLLOUT}) ${rolloutJobSeconds.at(-1)!.toFixed(2)} s`,
        );
      } catch (err) {
        rolloutFailures.push(err instanceof Error ? err.message : String(err));
        log(`  ${nodes}: rollout job ${i + 1}/${ROLLOUT_JOBS} FAILED: ${rolloutFailures.at(-1)!}`);
        await waitAllAvailable(api, nodes);
      }
    }
    log(`  ${nodes}: fleet ${JSON.stringify(await fleet.stats())}`);
    const p50 = median(jobSeconds);
    const row: Row = {
      nodes,
      sharedSub: fleet.sharedSub,
      registerSeconds: (registered - t0) / 1000,
      connectSeconds,
      jobP50Seconds: p50,
      jobSeconds,
      jobFailures,
      nodesPerSecond: nodes / p50,
      // Per node: commit and run out, ack_commit, ack_run and succeeded in.
      fanOutMessagesPerSecond: (5 * nodes) / p50,
      steadyCpuCores,
      jobCpuCores: jobCpuSeconds / jobSeconds.reduce((a, b) => a + b, 0),
      serverRssMiB: server.usage().rssMiB,
      serverPeakRssMiB: server.usage().peakRssMiB,
      nodeStatesP50Ms: median(nodeStatesMs),
      fleetLoopMaxMs,
      nodesWaitedFor,
      rolloutJobSeconds,
      rolloutP50Seconds: median(rolloutJobSeconds),
      rolloutFailures,
      rolloutCpuCores: rolloutCpuSeconds / rolloutJobSeconds.reduce((a, b) => a + b, 0),
    };
    log(`  ${nodes}: fan-out ${((row.fanOutMessagesPerSecond / zmqRate) * 100).toFixed(1)}% of raw ZeroMQ`);
    return row;
  } finally {
    api.close();
    await fleet?.stop();
    await server.stop();
  }
}

const zmqRate = await zmqDealerRouterRate();
log(`raw ZeroMQ DEALER->ROUTER (CURVE, TCP loopback, 2 frames): ${Math.round(zmqRate)} msg/s`);
const rows: Row[] = [];
const failures: { nodes: number; error: string }[] = [];
for (const n of SIZES) {
  log(`fleet of ${n} simulated agents`);
  try {
    rows.push(await runSize(n, zmqRate));
  } catch (err) {
    // A size this machine cannot carry is a result too: report it and go on.
    failures.push({ nodes: n, error: err instanceof Error ? err.message : String(err) });
    log(`  ${n}: FAILED: ${failures.at(-1)!.error}`);
  }
}

const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
console.log(`\npush-jobs end-to-end benchmark on ${machine}`);
console.log(`raw ZeroMQ DEALER->ROUTER: ${Math.round(zmqRate).toLocaleString('en')} msg/s`);
console.table(
  rows.map((r) => ({
    nodes: r.nodes,
    'connect+available (s)': r.connectSeconds.toFixed(1),
    'no-op job p50 (s)': r.jobP50Seconds.toFixed(2),
    'jobs failed': `${r.jobFailures.length}/${r.jobSeconds.length + r.jobFailures.length}`,
    'nodes/s': Math.round(r.nodesPerSecond),
    'fan-out msg/s': Math.round(r.fanOutMessagesPerSecond),
    '% of raw ZeroMQ': ((r.fanOutMessagesPerSecond / zmqRate) * 100).toFixed(1),
    'steady CPU (cores)': r.steadyCpuCores.toFixed(2),
    'CPU in jobs (cores)': r.jobCpuCores.toFixed(2),
    'server RSS (MiB)': Math.round(r.serverRssMiB),
    'peak RSS (MiB)': Math.round(r.serverPeakRssMiB),
    'node_states p50 (ms)': r.nodeStatesP50Ms.toFixed(1),
    'fleet loop max (ms)': r.fleetLoopMaxMs,
    'nodes waited for': r.nodesWaitedFor,
    [`rollout ${ROLLOUT} p50 (s)`]: r.rolloutP50Seconds.toFixed(2),
    'rollout jobs failed': `${r.rolloutFailures.length}/${r.rolloutJobSeconds.length + r.rolloutFailures.length}`,
    'CPU in rollouts (cores)': r.rolloutCpuCores.toFixed(2),
    'shared SUB': r.sharedSub,
  })),
);
for (const f of failures) console.log(`${f.nodes} nodes: did not complete: ${f.error}`);
mkdirSync(RESULTS_DIR, { recursive: true });
const file = join(RESULTS_DIR, 'e2e-bench.json');
writeFileSync(
  file,
  JSON.stringify(
    { machine, date: new Date().toISOString(), zmqRate, rollout: ROLLOUT, rows, failures },
    null,
    2,
  ),
);
console.log(`saved ${file}`);
