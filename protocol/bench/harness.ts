// Tiny benchmark harness: warm up, then run in batches until the time is up.

/** One benchmark's outcome. */
export type BenchResult = { name: string; opsPerSec: number; iterations: number };

/**
 * Runs `fn` repeatedly for about `seconds` (after a warm-up of a tenth of that) and reports
 * operations per second, measured with `process.hrtime.bigint()`.
 */
export async function measure(name: string, fn: () => void, seconds = 1.5): Promise<BenchResult> {
  const budgetNs = BigInt(Math.round(seconds * 1e9));
  const warmUpEnd = process.hrtime.bigint() + budgetNs / 10n;
  let batch = 1;
  // Warm-up: let the JIT settle, and grow the batch until one batch takes about 10 ms.
  while (process.hrtime.bigint() < warmUpEnd) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    if (process.hrtime.bigint() - t0 < 10_000_000n) batch *= 2;
  }
  await new Promise<void>((resolve) => setImmediate(resolve));
  let iterations = 0;
  const start = process.hrtime.bigint();
  const end = start + budgetNs;
  let now = start;
  while (now < end) {
    for (let i = 0; i < batch; i++) fn();
    iterations += batch;
    now = process.hrtime.bigint();
  }
  const elapsedSec = Number(now - start) / 1e9;
  return { name, opsPerSec: iterations / elapsedSec, iterations };
}
