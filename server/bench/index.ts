// `npm run bench -w server`: requests/s and p50/p99 latency of signed API calls over real HTTP,
// on SQLite and on PostgreSQL. Prints a table; asserts nothing.
//   - GET node_states with 10,000 connected nodes
//   - POST jobs with 100 nodes
// Requests are signed once up front and re-sent (a signature stays valid for the 900 s skew
// window), so the load generator's RSA signing does not compete with the server for the CPU.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { signRequest } from '@push-jobs/protocol/internal';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { benchHeartbeats, benchJobFanOut } from './engine.js';
import { benchOutput } from './output.js';
import { DEFAULT_SERVER_CONFIG } from '../src/config/defaults.js';
import type { NodeStateEntry, NodeTracker } from '../src/nodes/types.js';
import { associateUser, createOrgWithDefaults, createUserWithKey } from '../src/identity/service.js';
import { openStore } from '../src/store/index.js';
import type { Store } from '../src/store/types.js';

const PG_URL = process.env.PUSH_JOBS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
/** Offered load of the open-loop rows, requests per second. */
const OPEN_LOOP_RATE = Number(process.env.BENCH_RATE ?? 100);

/** A tracker holding a fixed set of available nodes (the real one arrives with the broker). */
class FixedTracker implements NodeTracker {
  private readonly nodes: NodeStateEntry[];
  constructor(count: number) {
    this.nodes = Array.from({ length: count }, (_, i) => ({
      node_name: `node-${i}`,
      availability: 'available' as const,
    }));
  }
  listNodeStates(): NodeStateEntry[] {
    return this.nodes;
  }
  nodeState() {
    return { status: 'online' as const, availability: 'available' as const };
  }
  nodeCount(): number {
    return this.nodes.length;
  }
}

interface Row {
  store: string;
  test: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Runs the load in a worker thread (its own event loop and core) and summarises latencies. */
async function load(
  url: string,
  init: { method?: string; body?: string; headers: Record<string, string> },
  expectStatus: number,
  rate = 0,
): Promise<Omit<Row, 'store' | 'test'>> {
  const worker = new Worker(new URL('./load-worker.mjs', import.meta.url), {
    workerData: { url, init, expectStatus, requests: REQUESTS, concurrency: CONCURRENCY, rate },
  });
  const result = await new Promise<{ latencies: number[]; errors: number; seconds: number }>(
    (resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    },
  );
  await worker.terminate();
  const latencies = result.latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { rps: latencies.length / result.seconds, p50: pct(0.5), p99: pct(0.99), errors: result.errors };
}

async function benchStore(kind: 'sqlite' | 'postgres'): Promise<Row[]> {
  let store: Store;
  let cleanup: () => Promise<void>;
  if (kind === 'postgres') {
    const schema = `pj_bench_${randomBytes(4).toString('hex')}`;
    store = await openStore(PG_URL, { schema });
    cleanup = async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'pj-bench-'));
    store = await openStore(join(dir, 'bench.sqlite'));
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
  const app = await buildApp({
    config: { ...DEFAULT_SERVER_CONFIG },
    store,
    tracker: new FixedTracker(10_000),
  });
  await createOrgWithDefaults(store, { name: 'bench' });
  const { privateKey } = await createUserWithKey(store, { name: 'admin' });
  await associateUser(store, 'bench', 'admin', { admin: true });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const rows: Row[] = [];
  try {
    const statesPath = '/organizations/bench/pushy/node_states';
    const getHeaders = signRequest({
      method: 'GET',
      path: statesPath,
      userId: 'admin',
      privateKey: privateKey!,
    });
    const getInit = { headers: { ...getHeaders, accept: 'application/json' } };
    const jobsPath = '/organizations/bench/pushy/jobs';
    const body = JSON.stringify({
      command: 'chef-client',
      nodes: Array.from({ length: 100 }, (_, i) => `node-${i}`),
    });
    const postHeaders = signRequest({
      method: 'POST',
      path: jobsPath,
      body,
      userId: 'admin',
      privateKey: privateKey!,
    });
    const postInit = {
      method: 'POST',
      body,
      headers: { ...postHeaders, 'content-type': 'application/json', accept: 'application/json' },
    };
    const cases = [
      { test: 'GET node_states (10,000 nodes)', url: `${address}${statesPath}`, init: getInit, status: 200 },
      { test: 'POST jobs (100 nodes)', url: `${address}${jobsPath}`, init: postInit, status: 201 },
    ];
    for (const c of cases) {
      rows.push({ store: kind, test: c.test, ...(await load(c.url, c.init, c.status)) });
      const offered = `${c.test} @${OPEN_LOOP_RATE}/s`;
      rows.push({ store: kind, test: offered, ...(await load(c.url, c.init, c.status, OPEN_LOOP_RATE)) });
    }
  } finally {
    await app.close();
    await store.close();
    await cleanup();
  }
  return rows;
}

const rows = [...(await benchStore('sqlite')), ...(await benchStore('postgres'))];
console.log(
  `server API benchmarks, node ${process.version}: ${REQUESTS} requests per row; closed loop with ` +
    `${CONCURRENCY} always in flight, or "@N/s": N requests/s offered, at most ${CONCURRENCY} in flight`,
);
console.log(
  `${'store'.padEnd(9)} ${'test'.padEnd(40)} ${'req/s'.padStart(7)}  ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  errors`,
);
for (const r of rows) {
  console.log(
    `${r.store.padEnd(9)} ${r.test.padEnd(40)} ${r.rps.toFixed(0).padStart(7)}  ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)}  ${String(r.errors).padStart(6)}`,
  );
}

const engineRows = [benchHeartbeats(), ...(await benchJobFanOut(Number(process.env.BENCH_NODES ?? 1000), 5))];
console.log('\nengine benchmarks');
for (const r of engineRows) {
  const value = r.unit === 's' ? r.value.toFixed(2) : Math.round(r.value).toLocaleString('en-US');
  console.log(`${r.name.padEnd(60)} ${value.padStart(10)} ${r.unit}`);
}

console.log('\nlive output (in process: broker, tracker, engine, collector, feeds, SQLite)');
for (const r of await benchOutput()) {
  console.log(`${r.name.padEnd(60)} ${r.value.toFixed(1).padStart(10)} ${r.unit}`);
}

// Search and job creation by search at 10,000 nodes (prints its own table, saves JSON).
await import('./search.js');
