// `npm run demo`: a push-jobs server on the embedded SQLite store in a temp dir, three agents
// as separate processes that register themselves, and the `push-jobs` CLI running jobs on them.
// Everything stops and the temp files go at the end (or on Ctrl-C).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentProcess } from '../helpers/agent-process.js';
import { runCli } from '../helpers/cli.js';
import { ServerProcess } from '../helpers/server-process.js';
import { waitForAvailability } from '../helpers/wait.js';

const bold = process.stdout.isTTY
  ? (s: string): string => `\u001b[1m${s}\u001b[22m`
  : (s: string): string => s;
const say = (text: string): void => console.log(`\n${bold(`==> ${text}`)}`);
const started = Date.now();

const WEB_WHITELIST = {
  uptime: 'uptime',
  broken: 'echo "this command always fails" >&2; exit 1',
  slow: 'sleep 30',
};
// db1 does not allow `slow`: it nacks that job.
const DB_WHITELIST = { uptime: 'uptime', broken: WEB_WHITELIST.broken };

const dataDir = mkdtempSync(join(tmpdir(), 'push-jobs-demo-'));
const agents: AgentProcess[] = [];
let server: ServerProcess | undefined;

async function cleanUp(): Promise<void> {
  await Promise.all(agents.map((a) => a.remove()));
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

process.once('SIGINT', () => {
  console.log('\ninterrupted: stopping everything');
  void cleanUp().then(() => process.exit(130));
});

async function cli(args: string[]): Promise<number | null> {
  console.log(`$ push-jobs ${args.join(' ')}`);
  return (await runCli(server!, args, { inherit: true })).code;
}

async function cliJson<T>(args: string[]): Promise<T> {
  console.log(`$ push-jobs ${args.join(' ')}`);
  const r = await runCli(server!, args);
  const envelope = JSON.parse(r.stdout) as { ok: boolean; data: T; error?: { message: string } };
  if (!envelope.ok)
    throw new Error(`push-jobs ${args.join(' ')} failed: ${envelope.error?.message ?? r.stderr}`);
  return envelope.data;
}

try {
  say('Starting a push-jobs server (embedded SQLite database in a temp dir)');
  server = await ServerProcess.start({ dataDir: join(dataDir, 'server'), org: 'demo' });
  console.log(`REST API on ${server.apiUrl}, org 'demo', admin user 'admin', validator 'demo-validator'`);
  console.log(`commands on port ${server.ports.command}, heartbeats on port ${server.ports.heartbeat}`);

  say('Starting three agents as separate processes: web1, web2 and db1');
  console.log('Each one has no key yet: it generates one and registers itself with the validator key.');
  console.log(
    `web1, web2 allow: ${Object.keys(WEB_WHITELIST).join(', ')}; db1 allows: ${Object.keys(DB_WHITELIST).join(', ')}`,
  );
  for (const node of ['web1', 'web2', 'db1']) {
    agents.push(
      await AgentProcess.start(server, {
        node,
        whitelist: node === 'db1' ? DB_WHITELIST : WEB_WHITELIST,
        dir: mkdtempSync(join(dataDir, `${node}-`)),
      }),
    );
  }
  const api = server.adminClient();
  await waitForAvailability(api, ['web1', 'web2', 'db1'], 'available', 30_000);
  api.close();

  say('Which nodes are up?');
  await cli(['push', 'node', 'status']);

  say('Running `uptime` on all three nodes, following the job live');
  await cli(['push', 'jobs', 'start', 'uptime', 'web1', 'web2', 'db1']);

  say('Running `uptime` on web1 with its output captured, then printing that output');
  const captured = await cliJson<{ id: string }>([
    'push',
    'jobs',
    'start',
    'uptime',
    'web1',
    '--capture',
    '--json',
  ]);
  await cli(['push', 'jobs', 'output', captured.id, 'web1']);

  say('Running a command that fails on every node (the CLI exits non-zero)');
  const failedCode = await cli(['push', 'jobs', 'start', 'broken', 'web1', 'web2', 'db1']);
  console.log(`(exit code ${String(failedCode)})`);

  say('Running `slow` (sleep 30) on all three with a quorum of 2: db1 does not allow it and nacks');
  const slow = await cliJson<{ id: string }>([
    'push',
    'jobs',
    'start',
    'slow',
    'web1',
    'web2',
    'db1',
    '--quorum',
    '2',
    '--nowait',
    '--json',
  ]);
  const deadline = Date.now() + 15_000;
  const statusApi = server.adminClient();
  while ((await statusApi.getJob(slow.id)).status !== 'running' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  statusApi.close();
  await cli(['push', 'jobs', 'status', slow.id]);

  say('Aborting the slow job: the agents kill its processes');
  await cli(['push', 'jobs', 'abort', slow.id]);

  say('Recent jobs');
  await cli(['push', 'jobs', 'list']);
} catch (err) {
  console.error(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  say('Stopping the agents and the server, removing the temp files');
  await cleanUp();
  console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
