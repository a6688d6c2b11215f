// Load generator for bench/index.ts, run in a worker thread so that it does not share the
// server's event loop. Sends `requests` copies of one pre-signed request and posts back every
// latency in milliseconds. Closed loop (`rate` 0): `concurrency` requests always in flight.
// Open loop (`rate` > 0): one request every 1/rate s, at most `concurrency` in flight.
import { parentPort, workerData } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';

/** @type {{ url: string; init: RequestInit; expectStatus: number; requests: number; concurrency: number; rate: number }} */
const job = workerData;
/** @type {number[]} */
const latencies = [];
let errors = 0;
let inFlight = 0;

async function one() {
  inFlight++;
  const t0 = performance.now();
  const res = await fetch(job.url, job.init);
  await res.arrayBuffer();
  latencies.push(performance.now() - t0);
  if (res.status !== job.expectStatus) errors++;
  inFlight--;
}

const started = performance.now();
if (job.rate > 0) {
  const pending = [];
  for (let i = 0; i < job.requests; i++) {
    const due = started + (i * 1000) / job.rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    while (inFlight >= job.concurrency) await sleep(1);
    pending.push(one());
  }
  await Promise.all(pending);
} else {
  let next = 0;
  const loop = async () => {
    while (next < job.requests) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, loop));
}
parentPort.postMessage({ latencies, errors, seconds: (performance.now() - started) / 1000 });
