// `npm run bench -w agent`: resident memory of the real `push-jobs-client` process, connected
// to a real server and idle, with and without the launcher's V8 lite mode; plus what importing
// the agent's dependencies costs. Prints a table; asserts nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { sleep, until } from '@push-jobs/testing';
import { PushFixture } from '@push-jobs/testing/push-server';

const BIN = fileURLToPath(new URL('../bin/push-jobs-client.js', import.meta.url));
const AGENT_DIR = fileURLToPath(new URL('..', import.meta.url));
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 10_000);
const ORG = 'bench';

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** RSS after importing `specifier` in a fresh `node` (and optional V8 flags). */
function importCost(specifier: string, flags: string[] = []): number {
  const code = `${specifier ? `await import(${JSON.stringify(specifier)});` : ''}
    await new Promise((r) => setTimeout(r, 300));
    console.log(process.memoryUsage().rss);`;
  const out = execFileSync(process.execPath, [...flags, '--input-type=module', '-e', code], {
    cwd: AGENT_DIR,
    encoding: 'utf8',
  });
  return Number(out.trim()) / 1048576;
}

async function main(): Promise<void> {
  // The product's timers: an idle agent as it runs in production.
  const server = await PushFixture.start({
    org: ORG,
    admin: 'admin',
    timers: 'product',
    tempPrefix: 'pj-agent-bench-',
  });
  const rows: { case: string; rss: string }[] = [];
  const children: ChildProcess[] = [];
  try {
    for (const lite of [true, false]) {
      const node = `idle-${lite ? 'lite' : 'jit'}`;
      const keyPath = await server.clientKeyFile(node);
      const child = spawn(
        process.execPath,
        [BIN, '-S', server.orgUrl, '-N', node, '-k', keyPath, '-l', 'warn'],
        {
          env: { ...process.env, PUSH_JOBS_CLIENT_LITE_MODE: lite ? '1' : '0' },
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
      children.push(child);
      await until(() => server.isAvailable(node), `${node} to become available`, {
        timeoutMs: 30_000,
        intervalMs: 50,
      });
      let peak = 0;
      const end = Date.now() + IDLE_MS;
      while (Date.now() < end) {
        peak = Math.max(peak, rssMiB(child.pid!));
        await sleep(250);
      }
      const last = rssMiB(child.pid!);
      rows.push({
        case: `push-jobs-client connected, idle ${IDLE_MS / 1000} s${lite ? '' : ' (PUSH_JOBS_CLIENT_LITE_MODE=0)'}`,
        rss: `${last.toFixed(1)} MiB (peak ${peak.toFixed(1)})`,
      });
      child.kill('SIGTERM');
    }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await server.close();
  }
  for (const [label, specifier] of [
    ['bare node', ''],
    ['import zeromq', 'zeromq'],
    ['import @push-jobs/protocol/lite', '@push-jobs/protocol/lite'],
    ['import @push-jobs/protocol (full: TypeBox + ajv)', '@push-jobs/protocol'],
    ['import @push-jobs/agent', '@push-jobs/agent'],
  ] as const) {
    rows.push({ case: label, rss: `${importCost(specifier).toFixed(1)} MiB` });
  }
  rows.push({
    case: 'import @push-jobs/agent, --lite-mode --max-semi-space-size=1',
    rss: `${importCost('@push-jobs/agent', ['--lite-mode', '--max-semi-space-size=1']).toFixed(1)} MiB`,
  });
  console.log('\nagent resident memory (VmRSS), target: idle agent under 60 MB');
  console.table(rows);
}

await main();
