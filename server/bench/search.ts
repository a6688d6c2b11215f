// Search benchmark (`npm run bench -w server`, or alone: `node --import=tsx bench/search.ts`):
// 10,000 nodes of realistic size (platform, tags, roles, Ohai-like automatic attributes, about
// 3 KB of JSON each) in one org, on SQLite and on PostgreSQL, over real HTTP with signed
// requests:
//   - GET search/node, p50/p99, for a selective query, a wildcard and `*:*` with rows=1000,
//     plus the first search after start (cold: the index is built from the store) and a search
//     right after a node was written (one change to pick up);
//   - POST jobs by search, p50/p99, matching 1,000 and 10,000 nodes (jobs stay `new`: the app
//     runs without the job engine, so the figure is resolving the search and storing the job).
// Requests are sent one at a time (latency, not throughput), by a worker thread. Prints a table
// and saves bench-results/server-search-bench.json. BENCH_LABEL names the run in the file.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { signRequest } from '@push-jobs/protocol/internal';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { DEFAULT_SERVER_CONFIG } from '../src/config/defaults.js';
import { associateUser, createOrgWithDefaults, createUserWithKey } from '../src/identity/service.js';
import { openStore } from '../src/store/index.js';
import type { Store } from '../src/store/types.js';
import { benchNode } from './node-fixture.js';

const PG_URL = process.env.PUSH_JOBS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NODES = Number(process.env.BENCH_SEARCH_NODES ?? 10_000);
const SEARCHES = Number(process.env.BENCH_SEARCHES ?? 100);
const JOBS = Number(process.env.BENCH_SEARCH_JOBS ?? 30);
const LABEL = process.env.BENCH_LABEL ?? 'current';
const RESULTS_DIR = fileURLToPath(new URL('../../bench-results/', import.meta.url));

interface Timing {
  p50: number;
  p99: number;
  n: number;
  errors: number;
  /** A status other than the expected one, with its body. */
  firstError?: string;
}

interface Row {
  store: string;
  test: string;
  timing: Timing;
}

/** Sends `requests` copies of a signed request one at a time, in a worker thread. */
async function timeRequests(
  url: string,
  init: { method?: string; body?: string; headers: Record<string, string> },
  expectStatus: number,
  requests: number,
): Promise<Timing> {
  const worker = new Worker(new URL('./load-worker.mjs', import.meta.url), {
    workerData: { url, init, expectStatus, requests, concurrency: 1, rate: 0 },
  });
  const result = await new Promise<{ latencies: number[]; errors: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  const latencies = result.latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  const timing: Timing = { p50: pct(0.5), p99: pct(0.99), n: latencies.length, errors: result.errors };
  if (result.errors > 0) {
    const res = await fetch(url, init);
    timing.firstError = `${res.status} ${(await res.text()).slice(0, 200)}`;
  }
  return timing;
}

async function openBenchStore(
  kind: 'sqlite' | 'postgres',
): Promise<{ store: Store; cleanup: () => Promise<void> }> {
  if (kind === 'postgres') {
    const schema = `pj_bench_${randomBytes(4).toString('hex')}`;
    const store = await openStore(PG_URL, { schema });
    return {
      store,
      cleanup: async () => {
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await c.end();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'pj-bench-'));
  const store = await openStore(join(dir, 'bench.sqlite'));
  return { store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

async function benchStore(kind: 'sqlite' | 'postgres'): Promise<Row[]> {
  const { store, cleanup } = await openBenchStore(kind);
  await createOrgWithDefaults(store, { name: 'bench' });
  const { privateKey } = await createUserWithKey(store, { name: 'admin' });
  await associateUser(store, 'bench', 'admin', { admin: true });
  const seedStart = performance.now();
  let bytes = 0;
  for (let i = 0; i < NODES; i++) {
    const node = benchNode(i);
    bytes += JSON.stringify(node).length;
    await store.putNode('bench', node);
  }
  process.stderr.write(
    `${kind}: seeded ${NODES} nodes (${Math.round(bytes / NODES)} bytes each) in ` +
      `${((performance.now() - seedStart) / 1000).toFixed(1)} s\n`,
  );
  const app = await buildApp({ config: { ...DEFAULT_SERVER_CONFIG }, store });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const get = (path: string, query: string) => {
    const headers = signRequest({ method: 'GET', path, userId: 'admin', privateKey: privateKey! });
    return {
      url: `${address}${path}?${query}`,
      init: { headers: { ...headers, accept: 'application/json' } },
    };
  };
  const post = (path: string, body: string) => {
    const headers = signRequest({ method: 'POST', path, body, userId: 'admin', privateKey: privateKey! });
    return {
      url: `${address}${path}`,
      init: {
        method: 'POST',
        body,
        headers: { ...headers, 'content-type': 'application/json', accept: 'application/json' },
      },
    };
  };
  const searchPath = '/organizations/bench/search/node';
  const rows: Row[] = [];
  const add = (test: string, timing: Timing) => {
    rows.push({ store: kind, test, timing });
    process.stderr.write(
      `${kind} ${test}: p50 ${timing.p50.toFixed(1)} ms, p99 ${timing.p99.toFixed(1)} ms\n`,
    );
  };
  try {
    const selective = get(searchPath, `q=${encodeURIComponent('tags:web AND platform:debian')}`);
    add('search cold (first, builds the index)', await timeRequests(selective.url, selective.init, 200, 1));
    const queries = [
      { test: 'search tags:web AND platform:debian', q: 'tags:web AND platform:debian', rows: undefined },
      { test: 'search fqdn:*.dc1.example.com', q: 'fqdn:*.dc1.example.com', rows: undefined },
      { test: 'search *:* rows=1000', q: '*:*', rows: 1000 },
    ];
    for (const c of queries) {
      const qs = `q=${encodeURIComponent(c.q)}${c.rows === undefined ? '' : `&rows=${c.rows}`}`;
      const r = get(searchPath, qs);
      add(c.test, await timeRequests(r.url, r.init, 200, SEARCHES));
    }
    // One node written between searches: the search picks up one change.
    const afterWrite: number[] = [];
    for (let k = 0; k < Math.min(SEARCHES, 50); k++) {
      const node = benchNode(k * 97);
      node.normal.bench_touch = k;
      await store.putNode('bench', node);
      afterWrite.push((await timeRequests(selective.url, selective.init, 200, 1)).p50);
    }
    afterWrite.sort((a, b) => a - b);
    add('search after one node write (new worker)', {
      p50: afterWrite[Math.floor(afterWrite.length / 2)]!,
      p99: afterWrite[Math.min(afterWrite.length - 1, Math.floor(0.99 * afterWrite.length))]!,
      n: afterWrite.length,
      errors: 0,
    });
    const jobsPath = '/organizations/bench/pushy/jobs';
    for (const c of [
      { test: 'POST jobs search tags:web (1,000 nodes)', search: 'tags:web' },
      { test: `POST jobs search *:* (${NODES.toLocaleString('en-US')} nodes)`, search: '*:*' },
    ]) {
      const r = post(jobsPath, JSON.stringify({ command: 'chef-client', search: c.search }));
      add(c.test, await timeRequests(r.url, r.init, 201, JOBS));
    }
  } finally {
    await app.close();
    await store.close();
    await cleanup();
  }
  return rows;
}

const cpu = cpus()[0]?.model ?? 'unknown';
const machine = `${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const rows = [...(await benchStore('sqlite')), ...(await benchStore('postgres'))];
console.log(`\nsearch benchmarks (${LABEL}), ${NODES} nodes, on ${machine}; requests one at a time`);
console.log(
  `${'store'.padEnd(9)} ${'test'.padEnd(44)} ${'n'.padStart(4)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  errors`,
);
for (const r of rows) {
  const t = r.timing;
  console.log(
    `${r.store.padEnd(9)} ${r.test.padEnd(44)} ${String(t.n).padStart(4)} ${t.p50.toFixed(1).padStart(8)} ${t.p99.toFixed(1).padStart(8)}  ${String(t.errors).padStart(6)}${t.firstError === undefined ? '' : `  (${t.firstError})`}`,
  );
}
mkdirSync(RESULTS_DIR, { recursive: true });
const file = join(RESULTS_DIR, `server-search-bench${LABEL === 'current' ? '' : `-${LABEL}`}.json`);
writeFileSync(
  file,
  JSON.stringify({ label: LABEL, machine, nodes: NODES, date: new Date().toISOString(), rows }, null, 2),
);
console.log(`saved ${file}`);
