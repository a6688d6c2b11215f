// `npm run bench:cluster -w @push-jobs/e2e` (and part of `npm run bench`): cluster mode on this
// machine, real server processes on one PostgreSQL schema and the fleet simulator behind TCP load
// balancers. Prints a table and saves it as JSON under bench-results/. Asserts nothing.
//
// 1. One server with cluster mode off and N/2 nodes (the baseline, same PostgreSQL), one
//    instance with N/2 nodes, then two instances with N nodes (N/2 each, as each agent's
//    balancer tries its own instance first): connect time, no-op job p50 (posted on the first
//    instance), steady CPU per instance, and the PostgreSQL load during the jobs (transactions/s
//    from pg_stat_database, NOTIFYs/s counted by listening on every cluster channel).
// 2. Failover: F nodes on one of two instances, kill -9 of it, time until the survivor holds all
//    of them (its /pushy/_status) and until its node_states shows them all available.
//
//   BENCH_CLUSTER_NODES=20000     N (default 20000: 10,000 per instance)
//   BENCH_CLUSTER_JOBS=3          no-op jobs per setup (the p50 is over these)
//   BENCH_CLUSTER_SETUPS=0,1,2    which setups: 0 cluster off, 1 one instance, 2 two instances
//   BENCH_FAILOVER_NODES=1000,5000  F (default 1000,5000; empty: none)
//   BENCH_FLEET_NICE=10           niceness of the fleet's workers (the servers get the CPU first)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PushApiClient } from '@push-jobs/protocol';
import {
  dropSchema,
  FirstUpBalancer,
  PG_URL,
  schemaName,
  schemaUrl,
  sleep,
  uniqueOrg,
} from '@push-jobs/testing';
import { clusterChannels } from '@push-jobs/server';
import { startFleet, type Fleet } from '../fleet/fleet.js';
import { ServerProcess } from '../helpers/server-process.js';
import { log, median, timedJob, waitAllAvailable } from './jobs.js';

const NODES = Number(process.env.BENCH_CLUSTER_NODES ?? 20_000);
const JOBS = Number(process.env.BENCH_CLUSTER_JOBS ?? 3);
const FAILOVER = (process.env.BENCH_FAILOVER_NODES ?? '1000,5000').split(',').filter(Boolean).map(Number);
const FLEET_NICE = Number(process.env.BENCH_FLEET_NICE ?? 10);
const STEADY_SECONDS = 10;
const RESULTS_DIR = fileURLToPath(new URL('../../bench-results/', import.meta.url));

/** A cluster of server processes on a schema of its own, with an admin client per instance. */
interface BenchCluster {
  schema: string;
  org: string;
  servers: ServerProcess[];
  apis: PushApiClient[];
  balancers: FirstUpBalancer[];
}

async function startCluster(instances: number, cluster = true): Promise<BenchCluster> {
  const schema = schemaName('pj_bench_cl_');
  const org = uniqueOrg('bench');
  const admin = `${org}-admin`;
  const servers: ServerProcess[] = [];
  for (let i = 0; i < instances; i++) {
    servers.push(
      await ServerProcess.start({
        databaseUrl: schemaUrl(schema),
        org,
        admin,
        init: i === 0,
        settings: cluster ? { cluster: 'true', 'instance-name': `i${i + 1}` } : {},
      }),
    );
  }
  const key = readFileSync(servers[0]!.adminKeyPath, 'utf8');
  const apis = servers.map((s) => new PushApiClient({ serverUrl: s.orgUrl, userId: admin, privateKey: key }));
  const ports = servers.map((s) => s.ports.api);
  const balancers: FirstUpBalancer[] = [];
  for (let i = 0; i < instances; i++) {
    balancers.push(await FirstUpBalancer.start(ports.map((_, k) => ports[(i + k) % instances]!)));
  }
  return { schema, org, servers, apis, balancers };
}

async function stopCluster(c: BenchCluster): Promise<void> {
  for (const api of c.apis) api.close();
  for (const lb of c.balancers) await lb.close();
  for (const s of c.servers) await s.stop();
  await dropSchema(c.schema);
}

/** `nodes` simulated agents reaching the APIs through balancer `lb` (they start on its first instance). */
function fleetOn(c: BenchCluster, lb: number, nodes: number, prefix: string): Promise<Fleet> {
  return startFleet({
    orgUrl: c.balancers[lb]!.orgUrl(c.org),
    nodes,
    prefix,
    niceness: FLEET_NICE,
    failureRate: 0,
    registrar: {
      userId: c.servers[0]!.validatorName,
      privateKeyPem: readFileSync(c.servers[0]!.validatorKeyPath, 'utf8'),
    },
    onProgress: (started, total) => {
      if (started % 5000 === 0 || started === total) log(`  ${prefix}: ${started}/${total} agents started`);
    },
  });
}

/** How many nodes an instance holds. */
async function heldBy(server: ServerProcess): Promise<number> {
  const res = await fetch(`${server.apiUrl}/pushy/_status`);
  return ((await res.json()) as { node_fsm_count: number }).node_fsm_count;
}

/** Counts the cluster's notifications and the database's transactions. */
class PgLoad {
  private readonly client = new pg.Client({ connectionString: PG_URL });
  notifications = 0;
  private constructor() {}

  static async start(c: BenchCluster, cluster: boolean): Promise<PgLoad> {
    const load = new PgLoad();
    await load.client.connect();
    load.client.on('notification', () => (load.notifications += 1));
    if (!cluster) return load;
    const ids = (
      await load.client.query<{ id: string }>(
        `SELECT id FROM "${c.schema}".cluster_instances WHERE state <> 'gone'`,
      )
    ).rows.map((r) => r.id);
    const shared = clusterChannels(c.schema);
    for (const channel of [
      shared.presence,
      shared.feed,
      ...ids.map((id) => `push_jobs_to_${id.replace(/-/g, '')}`),
    ]) {
      await load.client.query(`LISTEN ${channel}`);
    }
    return load;
  }

  async transactions(): Promise<number> {
    const row = (
      await this.client.query<{ n: string }>(
        'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()',
      )
    ).rows[0];
    return Number(row?.n ?? 0);
  }

  async stop(): Promise<void> {
    await this.client.end();
  }
}

interface SetupRow {
  /** 0: one server with cluster mode off (the same PostgreSQL), the baseline. */
  instances: number;
  nodes: number;
  connectSeconds: number;
  jobSeconds: number[];
  jobP50Seconds: number;
  jobFailures: string[];
  steadyCpuCoresPerInstance: number[];
  jobCpuCoresPerInstance: number[];
  rssMiBPerInstance: number[];
  /** PostgreSQL during the jobs: transactions and cluster notifications per second. */
  pgTransactionsPerSecond: number;
  pgNotifiesPerSecond: number;
}

async function runSetup(instances: number, nodes: number): Promise<SetupRow> {
  log(
    instances === 0
      ? `one server, cluster mode off, ${nodes} simulated agents`
      : `${instances} instance(s), ${nodes} simulated agents`,
  );
  const c = await startCluster(Math.max(1, instances), instances > 0);
  const fleets: Fleet[] = [];
  try {
    const t0 = performance.now();
    const per = Math.ceil(nodes / Math.max(1, instances));
    for (let i = 0; i < Math.max(1, instances); i++)
      fleets.push(await fleetOn(c, i, Math.min(per, nodes - i * per), `i${i + 1}n`));
    const names = fleets.flatMap((f) => f.nodeNames);
    await waitAllAvailable(c.apis[0]!, names.length);
    const connectSeconds = (performance.now() - t0) / 1000;
    log(`  all ${names.length} available on i1 after ${connectSeconds.toFixed(1)} s (registration included)`);

    await sleep(3000);
    const before = c.servers.map((s) => s.usage().cpuSeconds);
    await sleep(STEADY_SECONDS * 1000);
    const steady = c.servers.map((s, i) => (s.usage().cpuSeconds - before[i]!) / STEADY_SECONDS);

    const load = await PgLoad.start(c, instances > 0);
    const jobSeconds: number[] = [];
    const jobFailures: string[] = [];
    const cpu = c.servers.map(() => 0);
    let busy = 0;
    const tx0 = await load.transactions();
    const n0 = load.notifications;
    for (let j = 0; j < JOBS; j++) {
      await waitAllAvailable(c.apis[0]!, names.length);
      const cpuBefore = c.servers.map((s) => s.usage().cpuSeconds);
      const start = performance.now();
      try {
        jobSeconds.push(await timedJob(c.apis[0]!, names));
        log(`  job ${j + 1}/${JOBS}: ${jobSeconds.at(-1)!.toFixed(2)} s`);
      } catch (err) {
        jobFailures.push(err instanceof Error ? err.message : String(err));
        log(`  job ${j + 1}/${JOBS} FAILED: ${jobFailures.at(-1)!}`);
      }
      busy += (performance.now() - start) / 1000;
      c.servers.forEach((s, i) => (cpu[i]! += s.usage().cpuSeconds - cpuBefore[i]!));
    }
    // Statistics reach pg_stat_database within a second of a transaction's end.
    await sleep(1500);
    const tx = (await load.transactions()) - tx0;
    const notifies = load.notifications - n0;
    await load.stop();
    return {
      instances,
      nodes: names.length,
      connectSeconds,
      jobSeconds,
      jobP50Seconds: median(jobSeconds),
      jobFailures,
      steadyCpuCoresPerInstance: steady,
      jobCpuCoresPerInstance: cpu.map((s) => s / busy),
      rssMiBPerInstance: c.servers.map((s) => s.usage().rssMiB),
      pgTransactionsPerSecond: tx / busy,
      pgNotifiesPerSecond: notifies / busy,
    };
  } finally {
    for (const f of fleets) await f.stop();
    await stopCluster(c);
  }
}

interface FailoverRow {
  nodes: number;
  /** Kill -9 to every node held by the survivor. */
  heldSeconds: number;
  /** Kill -9 to every node available in the survivor's node_states. */
  availableSeconds: number;
}

async function runFailover(nodes: number): Promise<FailoverRow> {
  log(`failover of ${nodes} nodes`);
  const c = await startCluster(2);
  let fleet: Fleet | undefined;
  try {
    // Every node starts on i2 (its balancer tries i2 first, then i1).
    fleet = await fleetOn(c, 1, nodes, 'fo');
    await waitAllAvailable(c.apis[0]!, nodes);
    while ((await heldBy(c.servers[1]!)) < nodes) await sleep(500);
    const killed = performance.now();
    await c.servers[1]!.kill();
    let heldSeconds = NaN;
    for (;;) {
      if ((await heldBy(c.servers[0]!)) === nodes) {
        heldSeconds = (performance.now() - killed) / 1000;
        break;
      }
      if (performance.now() - killed > 300_000) throw new Error('nodes did not come back within 300 s');
      await sleep(200);
    }
    await waitAllAvailable(c.apis[0]!, nodes);
    const availableSeconds = (performance.now() - killed) / 1000;
    log(
      `  ${nodes}: held by the survivor after ${heldSeconds.toFixed(1)} s, available after ${availableSeconds.toFixed(1)} s`,
    );
    return { nodes, heldSeconds, availableSeconds };
  } finally {
    await fleet?.stop();
    await stopCluster(c);
  }
}

const setups: SetupRow[] = [];
const failovers: FailoverRow[] = [];
const failures: { what: string; error: string }[] = [];
const SETUPS = (process.env.BENCH_CLUSTER_SETUPS ?? '0,1,2').split(',').filter(Boolean).map(Number);
for (const [instances, nodes] of [
  [0, Math.ceil(NODES / 2)],
  [1, Math.ceil(NODES / 2)],
  [2, NODES],
] as const) {
  if (!SETUPS.includes(instances)) continue;
  try {
    setups.push(await runSetup(instances, nodes));
  } catch (err) {
    failures.push({
      what: `${instances} instance(s), ${nodes} nodes`,
      error: err instanceof Error ? err.message : String(err),
    });
    log(`  FAILED: ${failures.at(-1)!.error}`);
  }
}
for (const n of FAILOVER) {
  try {
    failovers.push(await runFailover(n));
  } catch (err) {
    failures.push({ what: `failover of ${n}`, error: err instanceof Error ? err.message : String(err) });
    log(`  FAILED: ${failures.at(-1)!.error}`);
  }
}

const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const cores = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(' / ');
console.log(`cluster mode on ${machine}`);
console.log(
  '| instances | nodes | connect s | job p50 s | failed jobs | steady cores per instance | job cores per instance | RSS MiB per instance | PG tx/s | NOTIFY/s |',
);
console.log('|---:|---:|---:|---:|---:|---|---|---|---:|---:|');
for (const r of setups) {
  console.log(
    `| ${r.instances === 0 ? '1 (cluster off)' : r.instances} | ${r.nodes} | ${r.connectSeconds.toFixed(1)} | ${r.jobP50Seconds.toFixed(2)} | ${r.jobFailures.length}/${JOBS} | ${cores(r.steadyCpuCoresPerInstance)} | ${cores(r.jobCpuCoresPerInstance)} | ${r.rssMiBPerInstance.map((m) => Math.round(m)).join(' / ')} | ${Math.round(r.pgTransactionsPerSecond)} | ${Math.round(r.pgNotifiesPerSecond)} |`,
  );
}
if (failovers.length > 0) {
  console.log(
    '| failover: nodes of the killed instance | held by the survivor after s | available after s |',
  );
  console.log('|---:|---:|---:|');
  for (const f of failovers)
    console.log(`| ${f.nodes} | ${f.heldSeconds.toFixed(1)} | ${f.availableSeconds.toFixed(1)} |`);
}
for (const f of failures) console.log(`FAILED ${f.what}: ${f.error}`);
mkdirSync(RESULTS_DIR, { recursive: true });
const file = join(RESULTS_DIR, 'cluster-bench.json');
writeFileSync(
  file,
  `${JSON.stringify({ machine, date: new Date().toISOString(), setups, failovers, failures }, null, 2)}\n`,
);
log(`saved ${file}`);
