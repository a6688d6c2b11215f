/**
 * The whole server in one object: the HTTP app plus the ZeroMQ sockets (heartbeat PUB, command
 * ROUTER with CURVE and our ZAP handler), the node tracker, the job engine and the feeds, wired
 * together. Per-instance state (sockets, timers, node records, session keys, live jobs) lives
 * here; shared state lives in the store.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from './app.js';
import { Broker } from './broker/broker.js';
import { HeartbeatSender } from './broker/heartbeat.js';
import type { ServerConfig } from './config/types.js';
import { FeedHub } from './feeds/feed-hub.js';
import { PushJobEngine } from './jobs/engine.js';
import type { JobRunLog } from './jobs/job-run.js';
import { loadOrCreateServerId } from './keys/server-id.js';
import { loadOrCreateServerKey } from './keys/server-key.js';
import { SessionKeyManager } from './keys/session-keys.js';
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

/** What {@link startPushServer} needs. */
export interface PushServerOptions {
  config: ServerConfig;
  store: Store;
  logger?: AppOptions['logger'];
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
  /** Stops sockets, timers and the HTTP server (not the store). */
  close(): Promise<void>;
}

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
  const incarnationId = randomUUID();
  const serverKey = await loadOrCreateServerKey(config.data_dir);
  const serverId = await loadOrCreateServerId(config.data_dir);
  // The app's logger exists once the app is built; the job engine starts before it.
  const appLog: { current?: JobRunLog } = {};
  const jobLog: JobRunLog = {
    info: (fields, message) => appLog.current?.info(fields, message),
    warn: (fields, message) => appLog.current?.warn(fields, message),
    error: (fields, message) => appLog.current?.error(fields, message),
  };
  const curve = config.disable_curve_encryption ? null : generateCurveKeyPair();
  const context = createZmqContext();
  const allowList = new MemoryCurveAllowList();
  allowList.startSweeping();
  const zap = await ZapHandler.start({ allowList, context, allowNull: curve === null });
  const listen = config.zeromq_listen_address;
  const command = await ZmqCommandTransport.bind({
    endpoint: `${listen}:${config.command_port}`,
    curve,
    zap,
    context,
    maxBodyBytes: config.max_body_size,
  });
  const heartbeat = await ZmqHeartbeatTransport.bind({
    endpoint: `${listen}:${config.server_heartbeat_port}`,
    maxConnectionsPerAddress: config.max_zmq_connections_per_address,
    maxConnections: heartbeatConnectionCap(openFileLimit()),
  });

  const sessionKeys = new SessionKeyManager({ lifetimeMs: config.config_lifetime * 1000 });
  const tracker = new LiveNodeTracker(config, Date.now, () => command.receiveLagMs());
  const feeds = new FeedHub({
    orgFeedExpiration: config.org_feed_expiration,
    waitCompleteTime: config.wait_complete_time,
  });
  const engine = new PushJobEngine(
    {
      store,
      events: feeds,
      serverName: config.server_name,
      serverId,
      log: jobLog,
      votingTimeoutMs: config.voting_timeout * 1000,
      now: () => new Date(),
      isAvailable: (org, node) => tracker.isAvailable(org, node),
      release: (org, node, jobId) => tracker.release(org, node, jobId),
      awaitVote: (org, node, jobId) => tracker.awaitVote(org, node, jobId),
      voteDone: (org, node, jobId) => tracker.voteDone(org, node, jobId),
      holding: (org, node) => tracker.holding(org, node),
      send: (org, node, message) => tracker.sendTo(org, node, message),
    },
    config.wait_complete_time * 1000,
  );
  const crashedAtStart = await engine.recover();
  const broker = new Broker({
    transport: command,
    tracker,
    sessionKeys,
    maxMessageSkewSeconds: config.max_message_skew,
    maxBodySize: config.max_body_size,
  });
  tracker.setListener(engine);
  broker.start();
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
    ...(opts.logger === undefined ? {} : { logger: opts.logger }),
    ...(opts.https === undefined ? {} : { https: opts.https }),
    runtime: {
      serverPublicKeyPem: serverKey.publicKeyPem,
      curvePublicKey: curve?.publicKey ?? '',
      allowList,
      sessionKeys,
      ports: { command: portOf(command.endpoint), heartbeat: portOf(heartbeat.endpoint) },
    },
  });

  appLog.current = app.log;

  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    heartbeats.stop();
    tracker.stop();
    allowList.stop();
    await app.close();
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
    close,
  };
}
