// Test harness for the whole server: the real app listening on HTTP, the real ZeroMQ sockets on
// random ports (CURVE and our ZAP handler), the tracker, the job engine and the feeds, on a
// SQLite store in a temp dir. Node clients are registered through the store so fake agents can
// sign their config requests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signRequest } from '@push-jobs/protocol';
import { DEFAULT_SERVER_CONFIG } from '../../src/config/defaults.js';
import type { ServerConfig } from '../../src/config/types.js';
import {
  associateUser,
  createClientWithKey,
  createOrgWithDefaults,
  createUserWithKey,
} from '../../src/identity/service.js';
import { startPushServer, type PushServer } from '../../src/push-server.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';

export interface PushHarness {
  server: PushServer;
  store: Store;
  apiUrl: string;
  org: string;
  dataDir: string;
  adminKey: string;
  /** Registers a client for a node and returns its private key. */
  nodeClient(name: string): Promise<string>;
  /** A signed request as the admin, over real HTTP. */
  request(
    method: string,
    path: string,
    body?: unknown,
    accept?: string,
  ): Promise<{ status: number; json: unknown; text: string }>;
  /** Posts a job and returns its id. */
  startJob(body: Record<string, unknown>): Promise<string>;
  /** Polls the job until its status is final (or the timeout). */
  waitForJob(id: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Restarts the server process state on the same store and data dir (a new incarnation). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

const FINAL = new Set(['complete', 'quorum_failed', 'aborted', 'timed_out', 'crashed']);

export async function startPush(
  overrides: Partial<ServerConfig> = {},
  existing?: { store: Store; dataDir: string },
): Promise<PushHarness> {
  const dataDir = existing?.dataDir ?? mkdtempSync(join(tmpdir(), 'pj-push-'));
  const store = existing?.store ?? (await openStore(join(dataDir, 'push-jobs.sqlite')));
  const config: ServerConfig = {
    ...DEFAULT_SERVER_CONFIG,
    server_name: '127.0.0.1',
    zeromq_listen_address: 'tcp://127.0.0.1',
    command_port: 0,
    server_heartbeat_port: 0,
    heartbeat_interval: 200,
    rehab_timer: 200,
    wait_complete_time: 1,
    data_dir: dataDir,
    ...overrides,
  };
  const org = 'acme';
  let adminKey = '';
  if (existing === undefined) {
    await createOrgWithDefaults(store, { name: org });
    adminKey = (await createUserWithKey(store, { name: 'alice' })).privateKey!;
    await associateUser(store, org, 'alice', { admin: true });
  }
  let server = await startPushServer({ config, store });
  let apiUrl = await server.app.listen({ host: '127.0.0.1', port: 0 });

  const harness: PushHarness = {
    get server() {
      return server;
    },
    store,
    get apiUrl() {
      return apiUrl;
    },
    org,
    dataDir,
    adminKey,
    async nodeClient(name) {
      return (await createClientWithKey(store, { org, name })).privateKey!;
    },
    async request(method, path, body, accept = 'application/json') {
      const text = body === undefined ? undefined : JSON.stringify(body);
      const headers = signRequest({
        method,
        path,
        body: text ?? '',
        userId: 'alice',
        privateKey: harness.adminKey,
      });
      const res = await fetch(`${apiUrl}${path}`, {
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
    },
    async startJob(body) {
      const res = await harness.request('POST', `/organizations/${org}/pushy/jobs`, body);
      if (res.status !== 201) throw new Error(`POST jobs: ${res.status} ${res.text}`);
      return (res.json as { uri: string }).uri.split('/').pop()!;
    },
    async waitForJob(id, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await harness.request('GET', `/organizations/${org}/pushy/jobs/${id}`);
        const job = res.json as Record<string, unknown>;
        if (FINAL.has(String(job.status))) return job;
        if (Date.now() > deadline)
          throw new Error(`job ${id} still ${String(job.status)} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async restart() {
      // Same ports, as a real server restarted with its configuration.
      const port = (key: 'command' | 'heartbeat') => Number(/:(\d+)$/.exec(server.endpoints[key])![1]);
      const same = { ...config, command_port: port('command'), server_heartbeat_port: port('heartbeat') };
      const apiPort = Number(new URL(apiUrl).port);
      await server.close();
      server = await startPushServer({ config: same, store });
      apiUrl = await server.app.listen({ host: '127.0.0.1', port: apiPort });
    },
    async close() {
      await server.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}
