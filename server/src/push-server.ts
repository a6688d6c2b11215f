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
  /** Stops sockets, timers and the HTTP server (not the store). */
  close(): Promise<void>;
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

  // The core, each part built on the ones before it.
  const sessionKeys = new SessionKeyManager({ lifetimeMs: config.config_lifetime * 1000 });
  const feeds = new FeedHub({
    orgFeedExpiration: config.org_feed_expiration,
    waitCompleteTime: config.wait_complete_time,
  });
  // Live output (off when the cap is 0): the collector, and its shedding on the socket.
  const outputLog = log.child({ component: 'output' });
  const output =
    config.output_stream_max_bytes > 0
      ? new LiveOutput({ store, events: feeds, capBytes: config.output_stream_max_bytes, log: outputLog })
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
  });
  const engine = new PushJobEngine({
    store,
    events: feeds,
    nodes: tracker,
    serverName: config.server_name,
    serverId,
    votingTimeoutMs: config.voting_timeout * 1000,
    waitCompleteMs: config.wait_complete_time * 1000,
    log: log.child({ component: 'jobs' }),
    ...(output === undefined ? {} : { output }),
  });
  const crashedAtStart = await engine.recover();
  // The one link back: node events reach the engine, which is built on the tracker.
  tracker.setListener(engine);
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
    engine,
    tracker,
    incarnationId,
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
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
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
  return {
    app,
    config,
    incarnationId,
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
    close,
  };
}
