// `npm run bench -w protocol`: prints ops/s for the protocol's hot paths.
import { benchChefAuth } from './chef-auth.js';
import type { BenchResult } from './harness.js';
import { benchWire } from './wire.js';

const results: BenchResult[] = [...(await benchWire()), ...(await benchChefAuth())];
const width = Math.max(...results.map((r) => r.name.length));
console.log(`protocol benchmarks (node ${process.version}, one core, ${new Date().toISOString()})`);
for (const r of results) {
  console.log(
    `${r.name.padEnd(width)}  ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(12)} ops/s`,
  );
}
if (process.argv.includes('--json')) console.log(JSON.stringify(results, null, 2));
