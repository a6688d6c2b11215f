// The store failing under a running job, with real processes: PostgreSQL cut off (through a
// TCP proxy) and coming back, a SQLite file locked by another process, output bytes a text
// column refused, and a second server starting on the same database. Every job must reach a
// final state that agrees with its nodes' rows, and the server must stay up.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { isPushApiError, type PushApiClient } from '@push-jobs/protocol';
import { dropSchema, PG_URL, schemaName, schemaUrl, sleep, TcpProxy, until } from '@push-jobs/testing';
import type { AgentProcess } from '../../helpers/agent-process.js';
import { E2eScope, type ServerAndClient } from '../../helpers/e2e-scope.js';
import { SERVER_BIN, type ServerProcess, type ServerProcessOptions } from '../../helpers/server-process.js';
import { nodesByState, waitForAvailability, waitForJob } from '../../helpers/wait.js';

/**
 * How long the PostgreSQL outage lasts at least, in ms (to measure a longer one; the test only
 * needs the outage to overlap the nodes' reports).
 */
const OUTAGE_MS = Number(process.env.PUSH_JOBS_ABUSE_OUTAGE_MS ?? 0);
const SERVER_DIR = fileURLToPath(new URL('../../../server/', import.meta.url));

/** Resolves to the HTTP status of a failed request (the request must fail). */
async function failureStatus(request: Promise<unknown>): Promise<number | undefined> {
  try {
    await request;
  } catch (error) {
    if (isPushApiError(error)) return error.status;
    throw error;
  }
  throw new Error('the request succeeded');
}

describe('abuse: store faults under running jobs', function () {
  this.timeout(120_000);
  const scope = E2eScope.use('pj-abuse-store-');

  /** `gated` runs until the test creates the file `go`, then prints `done`. */
  function whitelist(): Record<string, unknown> {
    return {
      gated: `sh -c 'while [ ! -e ${scope.dir}/go ]; do sleep 0.05; done; echo done'`,
      binary: `printf 'a\\000b\\377'`,
    };
  }

  async function startFleet(
    options: ServerProcessOptions,
    nodes: string[],
  ): Promise<ServerAndClient & { agents: AgentProcess[] }> {
    const started = await scope.server({ heartbeatIntervalMs: 200, ...options });
    const agents = await Promise.all(
      nodes.map((node) => scope.agent(started.server, { node, whitelist: whitelist() })),
    );
    await waitForAvailability(started.api, nodes, 'available', 30_000);
    return { ...started, agents };
  }

  /** Starts `gated` on `nodes` and waits until every node runs it. */
  async function startGated(api: PushApiClient, nodes: string[]): Promise<string> {
    const { id } = await api.startJob({ command: 'gated', nodes, capture_output: true });
    await until(async () => {
      const job = await api.getJob(id);
      return nodesByState(job)['running']?.length === nodes.length;
    }, `every node running job ${id}`);
    return id;
  }

  const logged = (server: ServerProcess, text: string): boolean => server.output.join('').includes(text);

  it('PostgreSQL cut off while nodes report: the server stays up, answers 503, and the job completes once the database is back', async () => {
    // Before: the results that arrived during the outage were lost (the write failed, the error
    // was swallowed) and the job stayed `running` past its run_timeout, with nothing logged; a
    // connection dropped inside a transaction ended the process.
    const schema = schemaName();
    const target = new URL(PG_URL);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    scope.defer(async () => {
      await proxy.close();
      await dropSchema(schema);
    });
    const nodes = ['pg-a', 'pg-b'];
    const { server, api } = await startFleet({ databaseUrl: schemaUrl(schema, proxy.port) }, nodes);
    const id = await startGated(api, nodes);

    proxy.cut();
    const cutAt = Date.now();
    writeFileSync(join(scope.dir, 'go'), '');
    await until(() => logged(server, 'store unavailable; retrying'), 'the job to retry its write');
    // The API says the store is unavailable (not a 500 with a stack), and the server is up.
    expect(await failureStatus(api.getJob(id))).to.equal(503);
    expect(server.child.exitCode).to.equal(null);

    if (Date.now() - cutAt < OUTAGE_MS) await sleep(OUTAGE_MS - (Date.now() - cutAt));
    proxy.restore();
    const back = Date.now();
    const job = await waitForJob(api, id);
    console.log(
      `      outage ${back - cutAt} ms; job final ${Date.now() - back} ms after the database came back`,
    );
    expect(job.status).to.equal('complete');
    expect(job.nodes).to.deep.equal({ succeeded: nodes });
    expect((await api.getJobOutput(id, 'pg-a', 'stdout')).output).to.equal('done\n');
    expect(server.child.exitCode).to.equal(null);
  });

  it('output with NUL and invalid UTF-8 on PostgreSQL: the job completes and the bytes come back', async () => {
    // Before: the output went to a text column, which refuses NUL: the node's result was lost
    // and the job timed out after its run_timeout.
    const schema = schemaName();
    scope.defer(() => dropSchema(schema));
    const { api } = await startFleet({ databaseUrl: schemaUrl(schema) }, ['bin-a']);
    const { id } = await api.startJob({ command: 'binary', nodes: ['bin-a'], capture_output: true });
    const job = await waitForJob(api, id);
    expect(job.status).to.equal('complete');
    expect(job.nodes).to.deep.equal({ succeeded: ['bin-a'] });
    // The agent reads output as UTF-8 text: NUL survives as is, a lone 0xFF becomes U+FFFD.
    expect((await api.getJobOutput(id, 'bin-a', 'stdout')).output).to.equal('a\u0000b\ufffd');
  });

  it('a second server on the same database leaves the first one’s running job alone', async () => {
    // Before: a server marked every unfinished job in the database `crashed` at start, whoever
    // ran it; the first server later rewrote one of them to `complete`.
    const schema = schemaName();
    scope.defer(() => dropSchema(schema));
    const url = schemaUrl(schema);
    const { server, api } = await startFleet({ databaseUrl: url }, ['two-a']);
    const id = await startGated(api, ['two-a']);

    const otherDir = mkdtempSync(join(tmpdir(), 'pj-abuse-second-'));
    scope.defer(() => rmSync(otherDir, { recursive: true, force: true }));
    const second = spawn(
      process.execPath,
      [
        SERVER_BIN,
        'start',
        '--data-dir',
        otherDir,
        '--database-url',
        url,
        '--api-host',
        '127.0.0.1',
        '--api-port',
        '0',
        '--zeromq-listen-address',
        'tcp://127.0.0.1',
        '--command-port',
        '0',
        '--server-heartbeat-port',
        '0',
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    scope.defer(() => stop(second));
    let secondOutput = '';
    second.stdout!.on('data', (c: Buffer) => (secondOutput += c.toString()));
    second.stderr!.on('data', (c: Buffer) => (secondOutput += c.toString()));
    await until(() => /listening on/.test(secondOutput) || second.exitCode !== null, 'the second server');
    expect(secondOutput).to.match(/listening on/);

    expect((await api.getJob(id)).status).to.equal('running');
    writeFileSync(join(scope.dir, 'go'), '');
    const job = await waitForJob(api, id);
    expect(job.status).to.equal('complete');
    expect(job.nodes).to.deep.equal({ succeeded: ['two-a'] });
    expect(server.child.exitCode).to.equal(null);
  });

  it('SQLite locked by another process: the server keeps serving, the job completes once the lock is gone', async () => {
    // Before: better-sqlite3 waited for the lock synchronously (busy_timeout 5 s): the event loop
    // stopped, then the write failed, its error was swallowed and the job stayed `running`.
    const { server, api } = await startFleet({}, ['lock-a']);
    const id = await startGated(api, ['lock-a']);
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(process.argv[1]);
         db.exec('BEGIN IMMEDIATE'); console.log('locked');
         process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });`,
        join(server.dataDir, 'push-jobs.sqlite'),
      ],
      { cwd: SERVER_DIR, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    scope.defer(() => stop(holder));
    let holderOutput = '';
    holder.stdout!.on('data', (c: Buffer) => (holderOutput += c.toString()));
    await until(() => holderOutput.includes('locked'), 'the other process to hold the write lock');

    writeFileSync(join(scope.dir, 'go'), '');
    // While the job's write waits for the lock, the API keeps answering (reads are not blocked
    // in WAL mode, and the wait does not hold the event loop).
    let answered = 0;
    await until(
      async () => {
        await api.request('GET', '/pushy/_status');
        answered++;
        return logged(server, 'store unavailable; retrying');
      },
      'the job to give up waiting for the lock and retry',
      60_000,
    );
    expect(answered).to.be.greaterThan(1);
    expect((await api.getJob(id)).status).to.equal('running');

    holder.stdin!.write('\n');
    const job = await waitForJob(api, id);
    expect(job.status).to.equal('complete');
    expect(job.nodes).to.deep.equal({ succeeded: ['lock-a'] });
  });
});

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
