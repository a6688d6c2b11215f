// Engine benchmarks (`npm run bench -w server`):
//  - heartbeats/s the broker verifies (HMAC, skew, replay) and the tracker accounts, on one core,
//    for 10,000 nodes (messages pre-encoded, no sockets: the server's own work only);
//  - time from POST jobs to complete for a no-op job on N nodes connected over TCP with CURVE
//    (fake agents in a child process), p50 over several jobs.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage, formatHttpDate, signRequest } from '@push-jobs/protocol/internal';
import { Broker } from '../src/zmq/broker.js';
import { DEFAULT_SERVER_CONFIG } from '../src/config/defaults.js';
import { generateRsaKeyPair } from '../src/identity/keys.js';
import {
  associateUser,
  createClientWithKey,
  createOrgWithDefaults,
  createUserWithKey,
} from '../src/identity/service.js';
import { SessionKeyManager } from '../src/keys/session-keys.js';
import { LiveNodeTracker } from '../src/nodes/tracker.js';
import { startPushServer } from '../src/push-server.js';
import { openStore } from '../src/store/index.js';
import type { CommandTransport } from '../src/zmq/types.js';

/** The stats of a bench's in-memory transport, which counts nothing. */
export const noTransportStats = (): ReturnType<CommandTransport['stats']> => ({
  received: 0,
  sent: 0,
  droppedMalformed: 0,
  droppedRateLimited: 0,
  sendFailures: 0,
  zapDenied: 0,
});

export interface EngineBenchRow {
  name: string;
  value: number;
  unit: string;
}

/** Heartbeats verified and accounted per second, one core. */
export function benchHeartbeats(nodes = 10_000, rounds = 20): EngineBenchRow {
  const sessionKeys = new SessionKeyManager({ lifetimeMs: Infinity });
  const transport: CommandTransport = {
    endpoint: 'bench',
    onMessage: () => undefined,
    send: async () => true,
    stats: noTransportStats,
    close: async () => undefined,
  };
  const broker = new Broker({
    transport,
    sessionKeys,
    maxMessageSkewSeconds: 300,
    maxBodySize: 65536,
  });
  const tracker = new LiveNodeTracker({
    settings: { ...DEFAULT_SERVER_CONFIG },
    send: (record, message) => broker.send(record, message),
  });
  broker.start(tracker);
  const timestamp = formatHttpDate(new Date());
  const messages: Array<{ identity: Buffer; header: Buffer; body: Buffer }> = [];
  const keys = Array.from({ length: nodes }, (_, i) => sessionKeys.keyForConfig('bench', `node-${i}`));
  for (let r = 1; r <= rounds; r++) {
    for (let i = 0; i < nodes; i++) {
      const body = {
        node: `node-${i}`,
        client: `node-${i}.example.com`,
        protocol_version: '2.0',
        org: 'bench',
        type: 'heartbeat',
        sequence: r,
        timestamp,
        incarnation_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        job_state: 'idle',
        job_id: null,
      };
      const [header, bytes] = encodeMessage(body, { method: 'hmac_sha256', key: keys[i]! });
      messages.push({ identity: Buffer.from(`id-${i}`), header, body: bytes });
    }
  }
  const t0 = process.hrtime.bigint();
  for (const m of messages) broker.receive(m);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (broker.stats.accepted !== messages.length)
    throw new Error(`only ${broker.stats.accepted} of ${messages.length} accepted`);
  tracker.stop();
  return {
    name: `heartbeats verified + accounted (${nodes.toLocaleString('en-US')} nodes)`,
    value: messages.length / seconds,
    unit: 'per s',
  };
}

/** Time from POST jobs to complete for a no-op job on `nodes` agents over TCP; p50 of `jobs` runs. */
export async function benchJobFanOut(nodes = 1000, jobs = 5): Promise<EngineBenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pj-bench-engine-'));
  const store = await openStore(join(dir, 'db.sqlite'));
  const config = {
    ...DEFAULT_SERVER_CONFIG,
    server_name: '127.0.0.1',
    zeromq_listen_address: 'tcp://127.0.0.1',
    command_port: 0,
    server_heartbeat_port: 0,
    data_dir: dir,
    log_level: 'silent' as const,
  };
  await createOrgWithDefaults(store, { name: 'bench' });
  const admin = (await createUserWithKey(store, { name: 'admin' })).privateKey!;
  await associateUser(store, 'bench', 'admin', { admin: true });
  const shared = generateRsaKeyPair();
  for (let i = 0; i < nodes; i++)
    await createClientWithKey(store, { org: 'bench', name: `node-${i}`, publicKey: shared.publicKey });
  const keyFile = join(dir, 'node.pem');
  writeFileSync(keyFile, shared.privateKey, { mode: 0o600 });
  const server = await startPushServer({ config, store });
  const apiUrl = await server.app.listen({ host: '127.0.0.1', port: 0 });
  const child = fork(
    new URL('./sim-agents.ts', import.meta.url).pathname,
    [apiUrl, 'bench', String(nodes), keyFile],
    {
      execArgv: ['--import=tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const rows: EngineBenchRow[] = [];
  try {
    const connectStart = performance.now();
    const progress = setInterval(() => {
      const up = server.tracker.listNodeStates('bench').filter((n) => n.availability === 'available').length;
      process.stderr.write(`  ${up}/${nodes} nodes available\n`);
    }, 5000);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`agents exited with ${code}`)));
    });
    while (
      server.tracker.listNodeStates('bench').filter((n) => n.availability === 'available').length < nodes
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    clearInterval(progress);
    rows.push({
      name: `${nodes} nodes connected and available`,
      value: (performance.now() - connectStart) / 1000,
      unit: 's',
    });
    const durations: number[] = [];
    const path = '/organizations/bench/pushy/jobs';
    for (let j = 0; j < jobs; j++) {
      const body = JSON.stringify({
        command: 'true',
        nodes: Array.from({ length: nodes }, (_, i) => `node-${i}`),
      });
      const headers = signRequest({ method: 'POST', path, body, userId: 'admin', privateKey: admin });
      const t0 = performance.now();
      const res = await fetch(`${apiUrl}${path}`, {
        method: 'POST',
        body,
        headers: { ...headers, 'content-type': 'application/json' },
      });
      const id = ((await res.json()) as { uri: string }).uri.split('/').pop()!;
      const status = await server.engine.run(id)!.done;
      durations.push(performance.now() - t0);
      if (status !== 'complete') throw new Error(`job ended ${status}`);
      // Let the nodes settle back to idle before the next job.
      await new Promise((r) => setTimeout(r, 300));
    }
    durations.sort((a, b) => a - b);
    rows.push({
      name: `POST jobs → complete, no-op on ${nodes} nodes (p50 of ${jobs})`,
      value: durations[Math.floor(durations.length / 2)]! / 1000,
      unit: 's',
    });
  } finally {
    if (child.connected) {
      child.send({ stop: true });
      await new Promise((r) => child.once('exit', r));
    } else child.kill();
    await server.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
