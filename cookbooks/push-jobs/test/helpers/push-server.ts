// The real push server in-process (built lib, SQLite in a temp dir, random ports, heartbeat
// 200 ms, org `acme`, admin user `alice`), with signed REST helpers.
import { join } from 'node:path';
import { signRequest } from '@push-jobs/protocol';
import {
  DEFAULT_SERVER_CONFIG,
  associateUser,
  createClientWithKey,
  createOrgWithDefaults,
  createUserWithKey,
  openStore,
  startPushServer,
  type PushServer,
  type Store,
} from '@push-jobs/server';
import { removeDir, tempDir } from './temp.js';

export const ORG = 'acme';
const FINAL = new Set(['complete', 'quorum_failed', 'aborted', 'timed_out', 'crashed']);

export class TestPushServer {
  apiUrl = '';
  private adminKey = '';

  private constructor(
    readonly server: PushServer,
    readonly store: Store,
    readonly dataDir: string,
  ) {}

  static async start(): Promise<TestPushServer> {
    const dataDir = tempDir('server');
    const store = await openStore(join(dataDir, 'push-jobs.sqlite'));
    await createOrgWithDefaults(store, { name: ORG });
    const adminKey = (await createUserWithKey(store, { name: 'alice' })).privateKey!;
    await associateUser(store, ORG, 'alice', { admin: true });
    const server = await startPushServer({
      config: {
        ...DEFAULT_SERVER_CONFIG,
        server_name: '127.0.0.1',
        zeromq_listen_address: 'tcp://127.0.0.1',
        command_port: 0,
        server_heartbeat_port: 0,
        heartbeat_interval: 200,
        rehab_timer: 200,
        wait_complete_time: 1,
        data_dir: dataDir,
      },
      store,
    });
    const h = new TestPushServer(server, store, dataDir);
    h.adminKey = adminKey;
    h.apiUrl = await server.app.listen({ host: '127.0.0.1', port: 0 });
    return h;
  }

  /** `chef_server_url` for the org. */
  get orgUrl(): string {
    return `${this.apiUrl}/organizations/${ORG}`;
  }

  /** Creates client `name` and returns its private key (PEM). */
  async createClient(name: string): Promise<string> {
    return (await createClientWithKey(this.store, { org: ORG, name })).privateKey!;
  }

  isAvailable(node: string): boolean {
    return this.server.tracker.isAvailable(ORG, node);
  }

  /** A request signed as the admin user. */
  async request(
    method: string,
    path: string,
    body?: unknown,
    accept = 'application/json',
  ): Promise<{ status: number; json: unknown; text: string }> {
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
        accept,
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
    return { status: res.status, json, text: out };
  }

  async startJob(body: Record<string, unknown>): Promise<string> {
    const res = await this.request('POST', `/organizations/${ORG}/pushy/jobs`, body);
    if (res.status !== 201) throw new Error(`POST jobs: ${res.status} ${res.text}`);
    return (res.json as { uri: string }).uri.split('/').pop()!;
  }

  async waitForJob(id: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = (await this.request('GET', `/organizations/${ORG}/pushy/jobs/${id}`)).json as Record<
        string,
        unknown
      >;
      if (FINAL.has(String(job['status']))) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${String(job['status'])}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The stored stdout of a job on a node. */
  async stdout(id: string, node: string): Promise<string> {
    const path = `/organizations/${ORG}/pushy/jobs/${id}/output/${node}/stdout`;
    const res = await this.request('GET', path, undefined, 'application/octet-stream');
    if (res.status !== 200) throw new Error(`GET output: ${res.status} ${res.text}`);
    return res.text;
  }

  async close(): Promise<void> {
    await this.server.close();
    await this.store.close();
    removeDir(this.dataDir);
  }
}
