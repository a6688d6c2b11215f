// Live output bench (`node --import=tsx bench/output.ts`, also part of `npm run bench`): the
// server's own output path in process, without sockets: signed messages go through the real
// broker (HMAC, skew, replay, shedding), tracker, engine, output collector, feed hub and SQLite
// store. FLOOD_NODES nodes run a capture job and each print a line every 100 ms; meanwhile a
// no-op job on CONTROL_NODES other nodes runs CONTROL_JOBS times (nodes answer at once). Reports
// the control job's duration (p50, max) without and with the flood, and the output counters.
// Messages are delivered in slices of 256 per event-loop turn, as the command socket reads them.
// Diagnostics: FLUSH_CHUNKS=N sets the collector's write batch; NO_CHUNK_WRITES=1 skips the
// chunk writes (to tell store contention from the rest).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage, formatHttpDate, makeJobId } from '@push-jobs/protocol/internal';
import { DEFAULT_SERVER_CONFIG } from '../src/config/defaults.js';
import { noTransportStats } from './engine.js';
import { FeedHub } from '../src/feeds/feed-hub.js';
import { createOrgWithDefaults } from '../src/identity/service.js';
import { PushJobEngine } from '../src/jobs/engine.js';
import { LiveOutput } from '../src/jobs/live-output.js';
import { SessionKeyManager } from '../src/keys/session-keys.js';
import { LiveNodeTracker } from '../src/nodes/tracker.js';
import { openStore } from '../src/store/index.js';
import { Broker } from '../src/zmq/broker.js';
import { OutputBudget } from '../src/zmq/output-budget.js';
import type { CommandTransport, InboundMessage } from '../src/zmq/types.js';

const FLOOD_NODES = Number(process.env.FLOOD_NODES ?? 1000);
const CONTROL_NODES = Number(process.env.CONTROL_NODES ?? 100);
const CONTROL_JOBS = Number(process.env.CONTROL_JOBS ?? 10);
const LINE = `${'x'.repeat(79)}\n`;

export interface OutputBenchRow {
  name: string;
  value: number;
  unit: string;
}

export async function benchOutput(): Promise<OutputBenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pj-bench-output-'));
  const store = await openStore(join(dir, 'db.sqlite'));
  const guid = (await createOrgWithDefaults(store, { name: 'bench' })).guid;
  const sessionKeys = new SessionKeyManager({ lifetimeMs: Infinity });
  const inbox: InboundMessage[] = [];
  let delivering = false;
  const seq = new Map<string, number>();
  const flood = new Set<string>();
  const wired: { broker?: Broker } = {};

  const deliver = (): void => {
    if (delivering) return;
    delivering = true;
    const slice = (): void => {
      for (const m of inbox.splice(0, 256)) wired.broker!.receive(m);
      if (inbox.length > 0) setImmediate(slice);
      else delivering = false;
    };
    setImmediate(slice);
  };
  const message = (node: string, type: string, fields: Record<string, unknown>): InboundMessage => {
    const n = (seq.get(node) ?? 0) + 1;
    seq.set(node, n);
    const body = {
      node,
      client: `${node}.example.com`,
      protocol_version: '2.0',
      org: 'bench',
      type,
      sequence: n,
      timestamp: formatHttpDate(new Date()),
      incarnation_id: `00000000-0000-4000-8000-${node.replace(/\D/g, '').padStart(12, '0')}`,
      ...fields,
    };
    const key = sessionKeys.signingKey('bench', node)!;
    const [header, bytes] = encodeMessage(body, { method: 'hmac_sha256', key });
    return { identity: Buffer.from(node), peer: node, header, body: bytes };
  };
  const send = (node: string, type: string, fields: Record<string, unknown> = {}): void => {
    inbox.push(message(node, type, fields));
    deliver();
  };

  // The agents' side: answer commit and run at once; control nodes succeed at once.
  const transport: CommandTransport = {
    endpoint: 'bench',
    onMessage: () => undefined,
    send: async (identity, _header, body) => {
      const node = identity.toString();
      const m = JSON.parse(body.toString()) as { type: string; job_id?: string };
      if (m.type === 'abort') send(node, 'aborted', { job_id: m.job_id ?? null });
      else if (m.type === 'commit') send(node, 'ack_commit', { job_id: m.job_id });
      else if (m.type === 'run') {
        send(node, 'ack_run', { job_id: m.job_id });
        if (!flood.has(node)) send(node, 'succeeded', { job_id: m.job_id });
      }
      return true;
    },
    stats: noTransportStats,
    close: async () => undefined,
  };
  const feeds = new FeedHub({ orgFeedExpiration: 60, waitCompleteTime: 1 });
  const output = new LiveOutput({
    store:
      process.env.NO_CHUNK_WRITES === '1'
        ? { ...store, appendJobOutputChunks: async () => 0, getStreamedOutput: async () => undefined }
        : store,
    events: feeds,
    capBytes: 1 << 20,
    ...(process.env.FLUSH_CHUNKS === undefined ? {} : { flushChunks: Number(process.env.FLUSH_CHUNKS) }),
  });
  const budget = new OutputBudget(() => output.queued);
  const broker = new Broker({
    transport,
    sessionKeys,
    maxMessageSkewSeconds: 300,
    maxBodySize: 65536,
    outputBudget: budget,
  });
  const tracker = new LiveNodeTracker({
    settings: { ...DEFAULT_SERVER_CONFIG, heartbeat_interval: 60_000 },
    send: (record, m) => broker.send(record, m),
  });
  const engine = new PushJobEngine({
    store,
    events: feeds,
    nodes: tracker,
    serverName: 'bench',
    serverId: 'bench',
    votingTimeoutMs: 60_000,
    waitCompleteMs: 1000,
    output,
  });
  tracker.setListener(engine);
  wired.broker = broker;
  broker.start(tracker);

  const floodNodes = Array.from({ length: FLOOD_NODES }, (_, i) => `flood-${i}`);
  const controlNodes = Array.from({ length: CONTROL_NODES }, (_, i) => `ctl-${i}`);
  for (const node of [...floodNodes, ...controlNodes]) {
    sessionKeys.keyForConfig('bench', node);
    send(node, 'heartbeat', { job_state: 'idle', job_id: null });
  }
  floodNodes.forEach((n) => flood.add(n));
  const waitUntil = async (test: () => boolean): Promise<void> => {
    while (!test()) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  await waitUntil(() => [...floodNodes, ...controlNodes].every((n) => tracker.isAvailable('bench', n)));

  const runJob = async (nodes: string[], capture: boolean): Promise<{ id: string; ms: number }> => {
    const id = makeJobId(guid);
    const job = await store.createJob({
      id,
      orgName: 'bench',
      command: 'true',
      status: 'new',
      runTimeout: 3600,
      quorum: nodes.length,
      createdBy: 'bench',
      createdAt: new Date(),
      nodes,
      options: { capture },
    });
    const t0 = performance.now();
    await engine.startJob(job, 'bench');
    if (!capture) await engine.run(id)!.done;
    return { id, ms: performance.now() - t0 };
  };
  const controlRuns = async (): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < CONTROL_JOBS; i++) out.push((await runJob(controlNodes, false)).ms);
    return out.sort((a, b) => a - b);
  };

  const quiet = await controlRuns();

  // The flood: a capture job on the flood nodes, each printing a line every 100 ms.
  const floodJob = await runJob(floodNodes, true);
  await waitUntil(() => floodNodes.every((n) => engine.run(floodJob.id)?.nodes.get(n) === 'running'));
  const nextSeq = new Map<string, number>();
  const before = { ...output.stats };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const timer = setInterval(() => {
    for (const node of floodNodes) {
      const s = nextSeq.get(node) ?? 0;
      nextSeq.set(node, s + 1);
      send(node, 'output', { job_id: floodJob.id, seq: s, channel: 'stdout', data: LINE });
    }
  }, 100);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const loaded = await controlRuns();
  clearInterval(timer);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await output.flushAll();
  const offered = [...nextSeq.values()].reduce((a, b) => a + b, 0);
  const accepted = output.stats.accepted - before.accepted;
  for (const node of floodNodes) send(node, 'succeeded', { job_id: floodJob.id });
  await engine.run(floodJob.id)?.done;

  const p50 = (xs: number[]): number => xs[Math.floor(xs.length / 2)]!;
  const rows: OutputBenchRow[] = [
    { name: `control job (${CONTROL_NODES} nodes) p50, no output`, value: p50(quiet), unit: 'ms' },
    { name: `control job max, no output`, value: quiet[quiet.length - 1]!, unit: 'ms' },
    { name: `control job p50, ${FLOOD_NODES} nodes printing 10 lines/s`, value: p50(loaded), unit: 'ms' },
    { name: `control job max, with the flood`, value: loaded[loaded.length - 1]!, unit: 'ms' },
    { name: 'output messages offered', value: offered / seconds, unit: 'per s' },
    { name: 'output chunks accepted (published + written)', value: accepted / seconds, unit: 'per s' },
    {
      name: 'shed on the socket (budget + backlog)',
      value: budget.stats.shedBudget + budget.stats.shedBacklog,
      unit: 'msgs',
    },
    {
      name: 'shed/dropped in the collector',
      value: output.stats.shed + output.stats.droppedUnwritten,
      unit: 'chunks',
    },
    { name: 'chunk writes (batches)', value: output.stats.writes, unit: 'writes' },
    {
      name: 'process CPU during the flood',
      value: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
      unit: '% of a core',
    },
  ];
  output.close();
  feeds.close();
  tracker.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await benchOutput();
  for (const r of rows) console.log(`${r.name.padEnd(60)} ${r.value.toFixed(1).padStart(10)} ${r.unit}`);
}
