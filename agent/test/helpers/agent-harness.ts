// Test helpers for the agent against the real push server (built lib, SQLite in a temp dir,
// random ports, heartbeat_interval 200 ms, org `acme`), mirroring server/test/helpers/push.ts,
// plus a tiny in-test job runner.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signRequest, type AgentJobState } from '@push-jobs/protocol';
import {
  DEFAULT_SERVER_CONFIG,
  associateUser,
  createClientWithKey,
  createOrgWithDefaults,
  createUserWithKey,
  openStore,
  startPushServer,
  type PushServer,
  type ServerConfig,
  type Store,
} from '@push-jobs/server';
import { compileAgentOptions, type CompiledAgentOptions } from '../../src/config/index.js';
import type { CommitOptions, JobRunnerPort, RunnerReply } from '../../src/runner-types.js';

export const ORG = 'acme';
const FINAL = new Set(['complete', 'quorum_failed', 'aborted', 'timed_out', 'crashed']);

export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export class PushTestServer {
  server!: PushServer;
  apiUrl = '';
  adminKey = '';
  private config!: ServerConfig;

  private constructor(
    readonly store: Store,
    readonly dataDir: string,
  ) {}

  static async start(): Promise<PushTestServer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'pj-agent-'));
    const store = await openStore(join(dataDir, 'push-jobs.sqlite'));
    const h = new PushTestServer(store, dataDir);
    await createOrgWithDefaults(store, { name: ORG });
    h.adminKey = (await createUserWithKey(store, { name: 'alice' })).privateKey!;
    await associateUser(store, ORG, 'alice', { admin: true });
    h.config = {
      ...DEFAULT_SERVER_CONFIG,
      server_name: '127.0.0.1',
      zeromq_listen_address: 'tcp://127.0.0.1',
      command_port: 0,
      server_heartbeat_port: 0,
      heartbeat_interval: 200,
      rehab_timer: 200,
      wait_complete_time: 1,
      data_dir: dataDir,
    };
    h.server = await startPushServer({ config: h.config, store });
    h.apiUrl = await h.server.app.listen({ host: '127.0.0.1', port: 0 });
    return h;
  }

  /** Registers a client for `node`, writes its key to the data dir, returns compiled options. */
  async agentOptions(node: string): Promise<CompiledAgentOptions> {
    const key = (await createClientWithKey(this.store, { org: ORG, name: node })).privateKey!;
    const keyPath = join(this.dataDir, `${node}.pem`);
    writeFileSync(keyPath, key, { mode: 0o600 });
    return compileAgentOptions({
      flags: { chef_server_url: `${this.apiUrl}/organizations/${ORG}`, node_name: node, client_key: keyPath },
      env: {},
      host: { fqdn: `${node}.example.com`, hostname: node },
    });
  }

  isAvailable(node: string): boolean {
    return this.server.tracker.isAvailable(ORG, node);
  }

  async request(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers = signRequest({
      method,
      path,
      body: text ?? '',
      userId: 'alice',
      privateKey: this.adminKey,
    });
    const res = await fetch(`${this.apiUrl}${path}`, {
      method,
      headers: {
        ...headers,
        accept: 'application/json',
        ...(text === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(text === undefined ? {} : { body: text }),
    });
    const out = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(out);
    } catch {
      json = undefined;
    }
    return { status: res.status, json };
  }

  async startJob(body: Record<string, unknown>): Promise<string> {
    const res = await this.request('POST', `/organizations/${ORG}/pushy/jobs`, body);
    if (res.status !== 201) throw new Error(`POST jobs: ${res.status} ${JSON.stringify(res.json)}`);
    return (res.json as { uri: string }).uri.split('/').pop()!;
  }

  async job(id: string): Promise<Record<string, unknown>> {
    return (await this.request('GET', `/organizations/${ORG}/pushy/jobs/${id}`)).json as Record<
      string,
      unknown
    >;
  }

  async waitForJob(id: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.job(id);
      if (FINAL.has(String(job['status']))) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${String(job['status'])}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** A new server incarnation on the same ports, store and API port. */
  async restart(): Promise<void> {
    const port = (key: 'command' | 'heartbeat'): number =>
      Number(/:(\d+)$/.exec(this.server.endpoints[key])![1]);
    const same = { ...this.config, command_port: port('command'), server_heartbeat_port: port('heartbeat') };
    const apiPort = Number(new URL(this.apiUrl).port);
    await this.server.close();
    this.server = await startPushServer({ config: same, store: this.store });
    this.apiUrl = await this.server.app.listen({ host: '127.0.0.1', port: apiPort });
  }

  async close(): Promise<void> {
    await this.server.close();
    await this.store.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A job runner for tests: acks commits and runs; `succeed` ends runs at once, `hang` never. */
export class TestRunner implements JobRunnerPort {
  mode: 'succeed' | 'hang' = 'succeed';
  readonly commits: { jobId: string; command: string; options: CommitOptions }[] = [];
  aborts = 0;
  private current: { state: AgentJobState; jobId: string | null } = { state: 'idle', jobId: null };

  constructor(private readonly reply: (reply: RunnerReply) => void) {}

  commit(jobId: string, command: string, options: CommitOptions): void {
    this.commits.push({ jobId, command, options });
    if (this.current.state !== 'idle') {
      this.reply({ type: 'nack_commit', jobId });
      return;
    }
    this.current = { state: 'committed', jobId };
    this.reply({ type: 'ack_commit', jobId });
  }

  run(jobId: string): void {
    if (this.current.state !== 'committed' || this.current.jobId !== jobId) {
      this.reply({ type: 'nack_run', jobId });
      return;
    }
    this.current = { state: 'running', jobId };
    this.reply({ type: 'ack_run', jobId });
    if (this.mode === 'succeed') {
      this.current = { state: 'idle', jobId: null };
      this.reply({ type: 'succeeded', jobId, fields: { stdout: 'hello\n', stderr: '' } });
    }
  }

  abort(abortJobId?: string): void {
    if (abortJobId !== undefined && abortJobId !== this.current.jobId) {
      this.reply({ type: 'aborted', jobId: null });
      return;
    }
    this.aborts += 1;
    const jobId = this.current.jobId;
    this.current = { state: 'idle', jobId: null };
    this.reply({ type: 'aborted', jobId });
  }

  releaseCommitted(_reason: string): boolean {
    if (this.current.state !== 'committed') return false;
    const jobId = this.current.jobId;
    this.current = { state: 'idle', jobId: null };
    this.reply({ type: 'aborted', jobId });
    return true;
  }

  state(): { state: AgentJobState; jobId: string | null } {
    return { ...this.current };
  }
}
