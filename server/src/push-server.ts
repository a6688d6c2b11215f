/**
 * The whole server in one object: the HTTP app plus the ZeroMQ sockets (heartbeat PUB, command
 * ROUTER with CURVE and our ZAP handler), the node tracker, the job engine and the feeds, wired
 * together. Per-instance state (sockets, timers, node records, session keys, live jobs) lives
 * here; shared state lives in the store.
 *
 * {@link startPushServer} builds the parts in dependency order, each given what it uses in its
 * constructor: the logger; the sockets; the broker (signs for and verifies the command
 * socket); the node tracker (sends through the broker); the job engine (works through the
 * tracker); then the one link that runs backwards, the engine as the tracker's listener, and
 * the broker starts delivering verified messages to the tracker. A job goes: route →
 * `engine.startJob` → its `JobRun` → `tracker.sendTo` → `broker.send` → command socket; answers
 * come back socket → broker → tracker → engine → run.
 *
 * One pino logger, made first, serves Fastify and, as child loggers named by `component`,
 * every part (see the README's "Logging").
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from './app.js';
import { Broker } from './zmq/broker.js';
import { HeartbeatSender } from './zmq/heartbeat-sender.js';
import type { ServerConfig } from './config/types.js';
import { FeedHub } from './feeds/feed-hub.js';
import { PushJobEngine } from './jobs/engine.js';
import { LiveOutput, type LiveOutputStats } from './jobs/live-output.js';
import { loadOrCreateServerId } from './keys/server-id.js';
import { loadOrCreateServerKey } from './keys/server-key.js';
import { SessionKeyManager } from './keys/session-keys.js';
import { createServerLogger, type ServerLoggerOption } from './logging/server-logger.js';
import { LiveNodeTracker } from './nodes/tracker.js';
import type { Store } from './store/types.js';
import { createZmqContext } from './zmq/context.js';
import { MemoryCurveAllowList } from './zmq/curve-allow-list.js';
import { generateCurveKeyPair } from './zmq/curve-keys.js';
import { heartbeatConnectionCap, openFileLimit } from './zmq/fd-limit.js';
import { ZmqCommandTransport } from './zmq/command-socket.js';
import { ZmqHeartbeatTransport } from './zmq/heartbeat-socket.js';
import type { TransportStats } from './zmq/types.js';
import { ZapHandler } from './zmq/zap-handler.js';
import { OutputBudget, type OutputShedStats } from './zmq/output-budget.js';
import { Cluster, assertClusterStore } from './cluster/index.js';
import type { ClusterRouter } from './cluster/router.js';
import type { JobEventSink } from './feeds/types.js';

/** What {@link startPushServer} needs. */
export interface PushServerOptions {
  config: ServerConfig;
  store: Store;
  /**
   * The server's logger: `false` (the default) for none, `true` or pino options (the level
   * defaults to `log_level`), or a pino logger to use as it is.
   */
  logger?: ServerLoggerOption;
  https?: AppOptions['https'];
}

/** A running server. */
export interface PushServer {
  app: FastifyInstance;
  config: ServerConfig;
  incarnationId: string;
  engine: PushJobEngine;
  tracker: LiveNodeTracker;
  broker: Broker;
  feeds: FeedHub;
  sessionKeys: SessionKeyManager;
  /** Bound ZeroMQ endpoints (real ports even when the settings asked for 0). */
  endpoints: { command: string; heartbeat: string };
  /** Jobs marked crashed at start (left unfinished by a previous process). */
  crashedAtStart: string[];
  /** Counters of the command socket (frames dropped, rate limited, ZAP refusals). */
  transportStats(): TransportStats;
  /** The live output collector; undefined when `output_stream_max_bytes` is 0. */
  output: LiveOutput | undefined;
  /** Counters of live output: taken, shed, dropped, written (see the README). */
  outputStats(): OutputStats;
  /** Cluster mode: this instance's part of the cluster. */
  cluster: Cluster | undefined;
  /**
   * Cluster mode: stops taking new jobs, waits (at most `timeoutMs`) for this instance's jobs to
   * end, then closes; its nodes move to other instances with their jobs. A single server closes.
   */
  drainAndClose(timeoutMs: number, onProgress?: (liveJobs: number) => void): Promise<void>;
  /**
   * Cluster mode: resolves if this instance loses its lease (it stalled longer than
   * `cluster_lease_seconds` and another instance cleared it). Its jobs and nodes are gone: stop it
   * (`start` exits 1, so a service manager restarts it as a new instance). Never resolves otherwise.
   */
  leaseLost: Promise<void>;
  /** Stops sockets, timers and the HTTP server (not the store). */
  close(): Promise<void>;
  /** Stops as a crash would in cluster mode (no lease released; tests). Otherwise as {@link close}. */
  kill(): Promise<void>;
}

/** Counters of live output, from the socket to the store. */
export interface OutputStats {
  /** Shedding on the command socket (before and after verification). */
  socket: OutputShedStats;
  /** Dropped by the tracker and the engine (node not running the job, unknown job), by reason. */
  routed: Record<string, number>;
  /** The collector (accepted, duplicates, capped, shed, dropped unwritten, written). */
  collector: LiveOutputStats | undefined;
}

/** How often output drop counts are logged when they changed, ms. */
const OUTPUT_STATS_LOG_MS = 60_000;

function portOf(endpoint: string): number {
  const m = /:(\d+)$/.exec(endpoint);
  return m === null ? 0 : Number(m[1]);
}

/**
 * Starts the ZeroMQ side and builds the app (it does not listen: call `app.listen`). Jobs left
 * `new`, `voting` or `running` by a previous process are marked `crashed` first.
 */
export async function startPushServer(opts: PushServerOptions): Promise<PushServer> {
  const { config, store } = opts;
  if (config.cluster) assertClusterStore(store);
  const log = createServerLogger(opts.logger, config.log_level);
  const incarnationId = randomUUID();
  const serverKey = await loadOrCreateServerKey(config.data_dir);
  const serverId = await loadOrCreateServerId(config.data_dir);

  // The sockets: ZAP first (it guards the command socket), then the command and heartbeat ports.
  const curve = config.disable_curve_encryption ? null : generateCurveKeyPair();
  const context = createZmqContext();
  const allowList = new MemoryCurveAllowList();
  allowList.startSweeping();
  const zap = await ZapHandler.start({
    allowList,
    context,
    allowNull: curve === null,
    log: log.child({ component: 'zap' }),
  });
  const listen = config.zeromq_listen_address;
  const command = await ZmqCommandTransport.bind({
    endpoint: `${listen}:${config.command_port}`,
    curve,
    zap,
    context,
    maxBodyBytes: config.max_body_size,
    log: log.child({ component: 'zmq' }),
  });
  const heartbeat = await ZmqHeartbeatTransport.bind({
    endpoint: `${listen}:${config.server_heartbeat_port}`,
    maxConnectionsPerAddress: config.max_zmq_connections_per_address,
    maxConnections: heartbeatConnectionCap(openFileLimit()),
    log: log.child({ component: 'heartbeat' }),
  });

  // Cluster mode: this instance registers (a name held by another live server is refused).
  const cluster = config.cluster
    ? await Cluster.open({
        config,
        store,
        serverId,
        commandEndpoint: command.endpoint,
        heartbeatEndpoint: heartbeat.endpoint,
        log: log.child({ component: 'cluster' }),
      }).catch(async (error: unknown) => {
        await command.close();
        await heartbeat.close();
        await zap.close();
        allowList.stop();
        throw error;
      })
    : undefined;

  // The core, each part built on the ones before it.
  const sessionKeys = new SessionKeyManager({ lifetimeMs: config.config_lifetime * 1000 });
  const feeds = new FeedHub({
    orgFeedExpiration: config.org_feed_expiration,
    waitCompleteTime: config.wait_complete_time,
  });
  // Where job events go: the feeds, and in cluster mode every other instance's feeds too.
  const events: JobEventSink = cluster === undefined ? feeds : cluster.feedSink(feeds);
  // Live output (off when the cap is 0): the collector, and its shedding on the socket.
  const outputLog = log.child({ component: 'output' });
  const output =
    config.output_stream_max_bytes > 0
      ? new LiveOutput({ store, events, capBytes: config.output_stream_max_bytes, log: outputLog })
      : undefined;
  const outputBudget = new OutputBudget(() => output?.queued ?? 0);
  const broker = new Broker({
    transport: command,
    sessionKeys,
    maxMessageSkewSeconds: config.max_message_skew,
    maxBodySize: config.max_body_size,
    log: log.child({ component: 'broker' }),
    outputBudget,
  });
  const tracker = new LiveNodeTracker({
    settings: config,
    send: (record, message) => broker.send(record, message),
    receiveLag: () => command.receiveLagMs(),
    log: log.child({ component: 'nodes' }),
    ...(cluster === undefined ? {} : { onChange: cluster.nodeChanged }),
  });
  const router: ClusterRouter | undefined = cluster?.router(tracker, output);
  const engine = new PushJobEngine({
    store,
    events,
    nodes: router ?? tracker,
    serverName: config.server_name,
    // In cluster mode jobs belong to this instance (a restart is a new instance).
    serverId: cluster?.id ?? serverId,
    votingTimeoutMs: config.voting_timeout * 1000,
    waitCompleteMs: config.wait_complete_time * 1000,
    log: log.child({ component: 'jobs' }),
    ...(output === undefined ? {} : { output }),
    ...(router === undefined ? {} : { onSettled: (org: string, id: string) => router.jobSettled(org, id) }),
    // Two checks ten heartbeats apart (at least 5 s): longer than any result takes to arrive, and
    // than another instance takes to write what its nodes hold (cluster mode, about 1 s).
    lostResultMs: Math.max(5000, 10 * config.heartbeat_interval),
  });
  engine.startSweeps();
  // A cluster instance crashes no job at start: dead instances' jobs are ended at lease expiry.
  const crashedAtStart = cluster === undefined ? await engine.recover() : [];
  // The one link back: node events reach the engine, which is built on the tracker.
  if (router === undefined) tracker.setListener(engine);
  else {
    router.setEngine(engine);
    tracker.setListener(router);
    await cluster!.start();
  }
  broker.start(tracker);
  tracker.start();
  const heartbeats = new HeartbeatSender(
    heartbeat,
    serverKey.privateKeyPem,
    incarnationId,
    config.heartbeat_interval,
  );
  heartbeats.start();

  const app = await buildApp({
    config,
    store,
    engine: cluster === undefined ? engine : cluster.jobs(engine, store),
    tracker: cluster === undefined ? tracker : cluster.nodeStates(tracker),
    incarnationId,
    ...(cluster === undefined
      ? {}
      : {
          instanceStatus: () => ({
            id: cluster.id,
            name: cluster.name,
            state: cluster.lease.draining ? ('draining' as const) : ('active' as const),
            live_instances: cluster.lease.others().length + 1,
          }),
        }),
    feeds,
    ...(output === undefined ? {} : { output }),
    logger: log,
    ...(opts.https === undefined ? {} : { https: opts.https }),
    runtime: {
      serverPublicKeyPem: serverKey.publicKeyPem,
      curvePublicKey: curve?.publicKey ?? '',
      allowList,
      sessionKeys,
      ports: { command: portOf(command.endpoint), heartbeat: portOf(heartbeat.endpoint) },
    },
  });
  if (crashedAtStart.length > 0) {
    log
      .child({ component: 'jobs' })
      .warn(
        { count: crashedAtStart.length, jobs: crashedAtStart.slice(0, 20) },
        'jobs left unfinished by a previous process marked crashed',
      );
  }

  const outputStats = (): OutputStats => ({
    socket: { ...outputBudget.stats },
    routed: { ...tracker.outputDrops, ...engine.outputDrops },
    collector: output === undefined ? undefined : { ...output.stats },
  });
  // Drops of live output are expected under load: one line a minute with the counts, when they moved.
  let loggedStats = '';
  const statsTimer = setInterval(() => {
    const stats = outputStats();
    const text = JSON.stringify(stats);
    if (text !== loggedStats && stats.collector !== undefined && stats.collector.accepted > 0) {
      loggedStats = text;
      outputLog.info(stats, 'live output counters');
    }
  }, OUTPUT_STATS_LOG_MS);
  statsTimer.unref();

  let closed = false;
  const close = async (crash = false): Promise<void> => {
    if (closed) return;
    closed = true;
    engine.stopSweeps();
    if (cluster !== undefined) await (crash ? cluster.kill() : cluster.close());
    heartbeats.stop();
    tracker.stop();
    clearInterval(statsTimer);
    allowList.stop();
    await app.close();
    output?.close();
    feeds.close();
    await command.close();
    await heartbeat.close();
    await zap.close();
  };
  const drainAndClose = async (timeoutMs: number, onProgress?: (liveJobs: number) => void): Promise<void> => {
    if (cluster !== undefined && !closed) {
      await cluster.drain();
      const deadline = Date.now() + timeoutMs;
      let last = -1;
      for (;;) {
        const live = engine.liveJobIds().filter((id) => engine.run(id)?.phase !== 'done').length;
        if (live !== last) onProgress?.(live);
        last = live;
        if (live === 0 || Date.now() >= deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    await close();
  };
  return {
    app,
    config,
    incarnationId,
    cluster,
    leaseLost:
      cluster === undefined
        ? new Promise<void>(() => undefined)
        : new Promise<void>((resolve) => {
            cluster.lease.onLost = resolve;
          }),
    drainAndClose,
    kill: () => close(true),
    engine,
    tracker,
    broker,
    feeds,
    sessionKeys,
    endpoints: { command: command.endpoint, heartbeat: heartbeat.endpoint },
    crashedAtStart,
    transportStats: () => command.stats(),
    output,
    outputStats,
    close: () => close(),
  };
}
