// Live output under load (`npm run bench:output -w @push-jobs/e2e`, also run by `npm run bench`):
// one real server process, BENCH_OUTPUT_NODES (1,000) simulated agents each printing a line
// every BENCH_OUTPUT_INTERVAL_MS (100) for BENCH_OUTPUT_SECONDS (30) in one job with capture,
// streamed through the agents' own output path, and BENCH_QUIET_NODES (100) other agents that run
// a no-op job BENCH_QUIET_JOBS (3) times before the flood and as many times during it.
// Reports the server's CPU during the flood, the output events the job feed delivered, the
// latency from a line being printed (its text carries the time) to an SSE client holding it
// (p50/p99: includes the agent's coalescing, up to 150 ms), and the no-op job's duration alone
// and under the flood. Prints a table and saves bench-results/output-bench.json. Asserts nothing.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PushApiClient } from '@push-jobs/protocol';
import { sleep } from '@push-jobs/testing';
import { startFleet, type Fleet } from '../fleet/fleet.js';
import { ServerProcess } from '../helpers/server-process.js';

const NODES = Number(process.env.BENCH_OUTPUT_NODES ?? 1000);
const INTERVAL_MS = Number(process.env.BENCH_OUTPUT_INTERVAL_MS ?? 100);
const SECONDS = Number(process.env.BENCH_OUTPUT_SECONDS ?? 30);
const QUIET_NODES = Number(process.env.BENCH_QUIET_NODES ?? 100);
const QUIET_JOBS = Number(process.env.BENCH_QUIET_JOBS ?? 3);
const FLEET_NICE = Number(process.env.BENCH_FLEET_NICE ?? 10);
const RESULTS_DIR = fileURLToPath(new URL('../../bench-results/', import.meta.url));

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((s.length - 1) * p))]!;
};
const LINE = /simulated line \d+ at (\d{13})\n/g;

/** Runs a no-op job on `nodes`; seconds from POST to `complete` (throws on any other end). */
async function noopJob(api: PushApiClient, nodes: string[]): Promise<number> {
  const start = performance.now();
  const { id } = await api.startJob({ command: 'noop', nodes, run_timeout: 120 });
  const feed = await api.jobEvents(id);
  try {
    for await (const e of feed) {
      if (e.event !== 'job_complete') continue;
      const seconds = (performance.now() - start) / 1000;
      const job = await api.getJob(id);
      const succeeded = (job.nodes as Record<string, string[]>)['succeeded']?.length ?? 0;
      if (job.status !== 'complete' || succeeded !== nodes.length) {
        throw new Error(`no-op job ${id} ended ${job.status}: ${JSON.stringify(job.nodes)}`);
      }
      return seconds;
    }
    throw new Error('the job feed ended before job_complete');
  } finally {
    feed.close();
  }
}

async function fleetOf(
  server: ServerProcess,
  prefix: string,
  nodes: number,
  outputIntervalMs: number,
): Promise<Fleet> {
  return startFleet({
    orgUrl: server.orgUrl,
    nodes,
    prefix,
    failureRate: 0,
    durationMs: outputIntervalMs > 0 ? SECONDS * 1000 : 10,
    outputIntervalMs,
    niceness: FLEET_NICE,
    registrar: { userId: server.validatorName, privateKeyPem: readFileSync(server.validatorKeyPath, 'utf8') },
  });
}

const server = await ServerProcess.start({ heartbeatIntervalMs: 1000 });
const fleets: Fleet[] = [];
const api = server.adminClient();
try {
  log(`starting ${NODES} printing and ${QUIET_NODES} quiet simulated agents`);
  const noisy = await fleetOf(server, 'noisy', NODES, INTERVAL_MS);
  fleets.push(noisy);
  const quiet = await fleetOf(server, 'quiet', QUIET_NODES, 0);
  fleets.push(quiet);
  for (;;) {
    const states = await api.listNodeStates();
    if (states.filter((s) => s.availability === 'available').length === NODES + QUIET_NODES) break;
    await sleep(1000);
  }

  const alone: number[] = [];
  for (let i = 0; i < QUIET_JOBS; i++) alone.push(await noopJob(api, quiet.nodeNames));
  log(`no-op job on ${QUIET_NODES} nodes alone: ${alone.map((s) => s.toFixed(2)).join(', ')} s`);

  const cpuBefore = server.usage().cpuSeconds;
  const floodStart = performance.now();
  const { id } = await api.startJob({
    command: 'print',
    nodes: noisy.nodeNames,
    capture_output: true,
    run_timeout: SECONDS + 120,
  });
  const latencies: number[] = [];
  let events = 0;
  let bytes = 0;
  const feed = await api.jobEvents(id);
  const reading = (async () => {
    for await (const e of feed) {
      if (e.event === 'job_complete') break;
      if (e.event !== 'output') continue;
      const now = Date.now();
      events++;
      const data = (e.data as { data?: string }).data ?? '';
      bytes += data.length;
      for (const m of data.matchAll(LINE)) latencies.push(now - Number(m[1]));
    }
  })();
  // Let the flood build up, then run the no-op jobs through it.
  await sleep(Math.min(5000, (SECONDS * 1000) / 4));
  const underFlood: number[] = [];
  for (let i = 0; i < QUIET_JOBS; i++) underFlood.push(await noopJob(api, quiet.nodeNames));
  log(
    `no-op job on ${QUIET_NODES} nodes during the flood: ${underFlood.map((s) => s.toFixed(2)).join(', ')} s`,
  );
  await reading;
  feed.close();
  const floodSeconds = (performance.now() - floodStart) / 1000;
  const cpuCores = (server.usage().cpuSeconds - cpuBefore) / floodSeconds;
  const job = await api.getJob(id);
  const stats = await noisy.stats();

  const median = (xs: number[]): number => percentile(xs, 0.5);
  const result = {
    machine: `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    date: new Date().toISOString(),
    nodes: NODES,
    intervalMs: INTERVAL_MS,
    seconds: SECONDS,
    floodJobStatus: job.status,
    floodSeconds,
    linesPrinted: stats.outputLines,
    chunksSent: stats.outputChunks,
    feedEvents: events,
    feedEventsPerSecond: events / floodSeconds,
    feedBytes: bytes,
    linesSeenOnFeed: latencies.length,
    latencyP50Ms: median(latencies),
    latencyP99Ms: percentile(latencies, 0.99),
    serverCpuCores: cpuCores,
    serverRssMiB: server.usage().rssMiB,
    quietNodes: QUIET_NODES,
    noopAloneSeconds: alone,
    noopUnderFloodSeconds: underFlood,
    noopAloneP50: median(alone),
    noopUnderFloodP50: median(underFlood),
  };
  console.log(`\nlive output benchmark on ${result.machine}`);
  console.table({
    'printing nodes': NODES,
    'line every (ms)': INTERVAL_MS,
    'flood job': `${job.status} in ${floodSeconds.toFixed(1)} s`,
    'lines printed / chunks sent': `${stats.outputLines} / ${stats.outputChunks}`,
    'output events on the feed (/s)': `${events} (${Math.round(result.feedEventsPerSecond)})`,
    'lines seen on the feed': latencies.length,
    'print → SSE client p50 / p99 (ms)': `${result.latencyP50Ms} / ${result.latencyP99Ms}`,
    'server CPU during the flood (cores)': cpuCores.toFixed(2),
    'server RSS (MiB)': Math.round(result.serverRssMiB),
    [`no-op job on ${QUIET_NODES} nodes, alone p50 (s)`]: result.noopAloneP50.toFixed(2),
    [`no-op job on ${QUIET_NODES} nodes, during the flood p50 (s)`]: result.noopUnderFloodP50.toFixed(2),
  });
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'output-bench.json');
  writeFileSync(file, JSON.stringify(result, null, 2));
  console.log(`saved ${file}`);
} finally {
  api.close();
  for (const f of fleets) await f.stop();
  await server.stop();
}
