/**
 * Cluster mode: several server instances on one PostgreSQL serve one fleet. Each instance holds
 * the nodes connected to it and runs the jobs posted to it; PostgreSQL is the only thing between
 * them: tables for the shared state, `LISTEN/NOTIFY` for wake-ups, leases for ownership.
 *
 * - {@link InstanceLease} (instances.ts): registration, lease renewal, expiry of dead instances.
 * - {@link PresencePublisher} and {@link PresenceMap} (presence.ts): which instance holds which node.
 * - {@link RelayOutbox} and {@link RelayInbox} (relay.ts): job traffic between a job's owner and
 *   the holders of its nodes, batched per destination.
 * - {@link ClusterFeed} (feed-relay.ts): every instance's feeds carry every job's events.
 * - {@link ClusterRouter} (router.ts): puts it together for the engine and the tracker.
 *
 * When an instance's lease runs out, one survivor claims it, ends its unfinished jobs `crashed`
 * (their feeds end with `job_complete`), clears its nodes (each one down for the jobs that used
 * it), and drops the traffic addressed to it. A node that reached another instance before that
 * (same client incarnation) moved: its jobs keep it.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { errorMessage, SILENT_LOGGER, type Logger } from '@push-jobs/protocol/internal';
import type { ServerConfig } from '../config/types.js';
import type { JobEventSink } from '../feeds/types.js';
import { RESTART_UPDATER, type PushJobEngine } from '../jobs/engine.js';
import type { LiveOutput } from '../jobs/live-output.js';
import type { LiveNodeTracker } from '../nodes/tracker.js';
import type { PostgresStore } from '../store/postgres.js';
import type { Store } from '../store/types.js';
import { ClusterDb } from './db.js';
import { ClusterFeed } from './feed-relay.js';
import { InstanceLease, type InstanceCounts } from './instances.js';
import { ClusterJobs } from './jobs.js';
import { jobOwnership } from './job-owner.js';
import { ClusterNodeStates } from './node-states.js';
import {
  clearInstanceNodes,
  PresenceMap,
  PresencePublisher,
  readPresence,
  type PresenceChange,
} from './presence.js';
import { instanceChannel, RelayInbox, RelayOutbox } from './relay.js';
import { ClusterRouter } from './router.js';

export { listInstances, InstanceNameInUseError, type InstanceInfo } from './instances.js';
export { ClusterDb, clusterChannels } from './db.js';

/** Thrown when cluster mode is asked for on a store it cannot run on. */
export class ClusterConfigError extends Error {}

/** The instance name: the setting, or the host name and the API port. */
export function instanceNameOf(config: Pick<ServerConfig, 'instance_name' | 'api_port'>): string {
  return config.instance_name ?? `${hostname()}:${config.api_port}`;
}

/**
 * Refuses cluster mode on anything but PostgreSQL.
 * @throws ClusterConfigError
 */
export function assertClusterStore(store: Store): asserts store is PostgresStore {
  if (store.kind !== 'postgres') {
    throw new ClusterConfigError(
      'cluster mode needs a PostgreSQL database_url (postgres://...) shared by every instance; ' +
        'this server uses SQLite, which one server only can use. Set database_url, or drop cluster.',
    );
  }
}

/** What {@link Cluster.open} needs. */
export interface ClusterOpenOptions {
  config: ServerConfig;
  store: Store;
  /** The server's id (its data directory's): a restart of the same server takes over at once. */
  serverId: string;
  /** The bound ZeroMQ endpoints and API port, shown in the instance list. */
  commandEndpoint: string;
  heartbeatEndpoint: string;
  log?: Logger;
}

/** Counters of cross-instance traffic (the bench reports them). */
export interface ClusterStats {
  relay: { rowsWritten: number; itemsWritten: number; dropped: number; rowsRead: number; itemsRead: number };
  feed: ClusterFeed['stats'];
  presence: PresencePublisher['stats'];
  router: ClusterRouter['stats'];
}

/** One instance's part of the cluster. */
export class Cluster {
  readonly id: string;
  readonly name: string;
  readonly db: ClusterDb;
  readonly lease: InstanceLease;
  readonly presence: PresenceMap;
  readonly outbox: RelayOutbox;
  private readonly log: Logger;
  private readonly store: PostgresStore;
  private feed: ClusterFeed | undefined;
  private publisher: PresencePublisher | undefined;
  private inbox: RelayInbox | undefined;
  private routerRef: ClusterRouter | undefined;
  private engine: PushJobEngine | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  /** Instances of this same server found live at start (taken over by {@link start}). */
  private earlier: string[] = [];

  private constructor(opts: ClusterOpenOptions, store: PostgresStore) {
    this.store = store;
    this.log = opts.log ?? SILENT_LOGGER;
    this.id = randomUUID();
    this.name = instanceNameOf(opts.config);
    this.db = new ClusterDb({
      connectionString: store.connectionString,
      ...(store.schema === undefined ? {} : { schema: store.schema }),
      log: this.log,
    });
    this.lease = new InstanceLease(
      this.db,
      {
        id: this.id,
        name: this.name,
        serverId: opts.serverId,
        apiPort: opts.config.api_port,
        commandEndpoint: opts.commandEndpoint,
        heartbeatEndpoint: opts.heartbeatEndpoint,
        leaseSeconds: opts.config.cluster_lease_seconds,
      },
      () => this.counts(),
      (dead) => this.expire(dead),
      this.log,
    );
    this.presence = new PresenceMap(this.id, {
      down: (org, node) => this.routerRef?.down(org, node),
      moved: (org, node, to) => this.routerRef?.moved(org, node, to),
    });
    this.outbox = new RelayOutbox(this.db, this.id, this.log);
  }

  /**
   * Checks the store and registers this instance (nothing flows until {@link start}).
   * @throws ClusterConfigError on SQLite; InstanceNameInUseError when another live server has the name
   */
  static async open(opts: ClusterOpenOptions): Promise<Cluster> {
    assertClusterStore(opts.store);
    const cluster = new Cluster(opts, opts.store);
    try {
      cluster.earlier = await cluster.lease.register();
    } catch (error) {
      await cluster.db.close();
      throw error;
    }
    return cluster;
  }

  /** The feed sink the engine and the live output emit into: local hub plus the other instances. */
  feedSink(local: JobEventSink): ClusterFeed {
    this.feed = new ClusterFeed(this.db, this.id, local, this.log);
    return this.feed;
  }

  /** Tells the presence publisher a node changed (the tracker's `onChange`). */
  nodeChanged = (org: string, node: string): void => {
    this.publisher?.changed(org, node);
  };

  /** The router between the engine, the tracker and the other instances. */
  router(tracker: LiveNodeTracker, output: LiveOutput | undefined): ClusterRouter {
    this.publisher = new PresencePublisher(this.db, this.id, (org, node) => tracker.get(org, node), this.log);
    this.routerRef = new ClusterRouter({
      self: this.id,
      db: this.db,
      tracker,
      presence: this.presence,
      outbox: this.outbox,
      isLive: (id) => this.lease.isLive(id),
      log: this.log,
      ...(output === undefined ? {} : { output }),
    });
    this.lease.onGone = (id) => this.routerRef?.instanceGone(id);
    this.inbox = new RelayInbox(
      this.db,
      this.id,
      (from, item) => {
        this.lease.noteAlive(from);
        this.routerRef?.handle(from, item);
      },
      this.log,
    );
    return this.routerRef;
  }

  /** The routes' node states. */
  nodeStates(tracker: LiveNodeTracker): ClusterNodeStates {
    return new ClusterNodeStates(this.id, tracker, this.db, (id) => this.lease.isLive(id), this.presence);
  }

  /** The routes' job engine. */
  jobs(engine: PushJobEngine, store: Store): ClusterJobs {
    this.engine = engine;
    return new ClusterJobs(
      engine,
      store,
      this.outbox,
      (id) => this.lease.isLive(id),
      () => this.lease.draining,
      async (id) => (await jobOwnership(this.db, id))?.owner ?? undefined,
    );
  }

  /**
   * Starts listening, loads the presence of every node, reads what was relayed here, takes over
   * earlier instances of this server, and starts the lease.
   */
  async start(): Promise<void> {
    const inbox = this.inbox;
    if (inbox === undefined || this.feed === undefined)
      throw new Error('cluster started before it was wired');
    const feed = this.feed;
    const buffered: PresenceChange[][] = [];
    let loaded = false;
    const onPresence = (payload: string): void => {
      let changes: PresenceChange[];
      try {
        changes = JSON.parse(payload) as PresenceChange[];
      } catch {
        return;
      }
      if (!Array.isArray(changes)) return;
      // A node attached by an instance is news of that instance too (it may be newer than our lease read).
      for (const change of changes)
        if (Array.isArray(change) && change[3] !== null) this.lease.noteAlive(change[2]);
      if (loaded) this.presence.apply(changes);
      else buffered.push(changes);
    };
    this.db.on(this.db.channels.presence, onPresence);
    this.db.on(this.db.channels.feed, (payload) => feed.notified(payload));
    this.db.on(instanceChannel(this.id), (payload) => inbox.notified(payload));
    this.db.onReconnect = () => {
      void readPresence(this.db)
        .then((rows) => this.presence.reload(rows))
        .catch((error: unknown) =>
          this.log.warn({ err: errorMessage(error) }, 'cluster presence reload failed'),
        );
      void inbox.sweep();
    };
    await this.db.connect();
    this.presence.reload(await readPresence(this.db));
    loaded = true;
    for (const changes of buffered) this.presence.apply(changes);
    await this.lease.tick();
    for (const id of this.earlier) {
      this.log.warn({ instance: id }, 'taking over an earlier instance of this server');
      await this.lease.claimExpired(id, true);
    }
    await inbox.sweep();
    this.lease.start();
    this.pruneTimer = setInterval(() => {
      feed.prune().catch(() => undefined);
      void inbox.sweep();
    }, 60_000);
    this.pruneTimer.unref();
  }

  /** Stops taking new jobs (the API answers 503 to `POST jobs`, `/_status` 503). */
  drain(): Promise<void> {
    return this.lease.drain();
  }

  /** Leaves the cluster: stops renewing; the lease is cut to `graceSeconds` (nodes move meanwhile). */
  async close(graceSeconds = this.lease.registration.leaseSeconds): Promise<void> {
    if (this.pruneTimer !== undefined) clearInterval(this.pruneTimer);
    await this.publisher?.flush().catch(() => undefined);
    await this.feed?.flush().catch(() => undefined);
    await this.outbox.flush().catch(() => undefined);
    await this.lease
      .leave(graceSeconds)
      .catch((error: unknown) => this.log.warn({ err: errorMessage(error) }, 'cluster lease release failed'));
    this.publisher?.close();
    this.feed?.close();
    this.outbox.close();
    this.inbox?.close();
    await this.db.close();
  }

  /** Stops everything at once, as a crash would (tests). */
  async kill(): Promise<void> {
    this.lease.stop();
    if (this.pruneTimer !== undefined) clearInterval(this.pruneTimer);
    this.publisher?.close();
    this.feed?.close();
    this.outbox.close();
    this.inbox?.close();
    await this.db.close();
  }

  /** Counters of cross-instance traffic. */
  stats(): ClusterStats {
    return {
      relay: {
        rowsWritten: this.outbox.stats.rows,
        itemsWritten: this.outbox.stats.items,
        dropped: this.outbox.stats.dropped,
        rowsRead: this.inbox?.stats.rows ?? 0,
        itemsRead: this.inbox?.stats.items ?? 0,
      },
      feed: { ...(this.feed?.stats ?? { rowsWritten: 0, rowsRead: 0, events: 0, dropped: 0 }) },
      presence: { ...(this.publisher?.stats ?? { writes: 0, nodes: 0, notifications: 0 }) },
      router: {
        ...(this.routerRef?.stats ?? {
          relayedToOwner: 0,
          relayedToHolder: 0,
          lookups: 0,
          unknownJob: 0,
          outputDropped: 0,
        }),
      },
    };
  }

  private counts(): InstanceCounts {
    return { nodes: this.publisher?.count ?? 0, jobs: this.engine?.liveJobIds().length ?? 0 };
  }

  /** Clears a dead instance (we claimed it): ends its jobs, clears its nodes and its mail. */
  private async expire(dead: string): Promise<void> {
    const crashed = await this.store.crashIncompleteJobs(new Date(), RESTART_UPDATER, dead, false);
    for (const id of crashed) {
      const org = (await jobOwnership(this.db, id))?.org;
      if (org === undefined) continue;
      this.feed?.emit(org, id, 'job_complete', { status: 'crashed' });
      this.feed?.finish(org, id);
    }
    const nodes = await clearInstanceNodes(this.db, dead);
    await this.db.query('DELETE FROM cluster_messages WHERE to_instance = $1', [dead]);
    this.log.warn({ instance: dead, jobs: crashed.length, nodes }, 'cluster instance cleared');
  }
}
