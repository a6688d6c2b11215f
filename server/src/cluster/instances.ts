/**
 * The instances of a cluster and their leases (`cluster_instances`). Each instance registers at
 * start with a new id (a restart is a new instance), renews its lease every third of
 * `cluster_lease_seconds`, and on each renewal looks for instances whose lease ran out. One
 * survivor claims such an instance (a conditional UPDATE: exactly one wins, and a claim is itself
 * a lease, so a claimer that dies is replaced), clears what it left (see {@link ExpiryHandler}),
 * then marks it `gone`.
 *
 * A name is unique among live instances. An instance that starts with the name and the server id
 * (data directory) of a live one is the same server restarting: the old one is taken over at
 * once instead of after its lease. Another server with a live name is refused.
 *
 * @module
 */
import { hostname } from 'node:os';
import { errorMessage, SILENT_LOGGER, type Logger } from '@push-jobs/protocol/internal';
import type { ClusterDb } from './db.js';

/** An instance's state in `cluster_instances`. */
export type InstanceState = 'active' | 'draining' | 'expired' | 'gone';

/** One row of `cluster_instances`, as the admin command lists it. */
export interface InstanceInfo {
  id: string;
  name: string;
  host: string;
  pid: number;
  apiPort: number;
  commandEndpoint: string;
  heartbeatEndpoint: string;
  state: InstanceState;
  startedAt: Date;
  leaseUntil: Date;
  nodeCount: number;
  jobCount: number;
  endedAt: Date | null;
  /** Whether the lease is still running (by the database's clock). */
  live: boolean;
}

/** What this instance registers. */
export interface InstanceRegistration {
  id: string;
  name: string;
  serverId: string;
  apiPort: number;
  commandEndpoint: string;
  heartbeatEndpoint: string;
  leaseSeconds: number;
}

/** Clears what a dead instance left (its nodes, its jobs); must be idempotent. */
export type ExpiryHandler = (deadId: string) => Promise<void>;

/** Thrown when the name is held by another live server. */
export class InstanceNameInUseError extends Error {}

interface InstanceRow {
  id: string;
  name: string;
  server_id: string;
  host: string;
  pid: number;
  api_port: number;
  command_endpoint: string;
  heartbeat_endpoint: string;
  state: InstanceState;
  started_at: Date;
  lease_until: Date;
  node_count: number;
  job_count: number;
  ended_at: Date | null;
  live: boolean;
}

function info(row: InstanceRow): InstanceInfo {
  return {
    id: row.id,
    name: row.name,
    host: row.host,
    pid: row.pid,
    apiPort: row.api_port,
    commandEndpoint: row.command_endpoint,
    heartbeatEndpoint: row.heartbeat_endpoint,
    state: row.state,
    startedAt: row.started_at,
    leaseUntil: row.lease_until,
    nodeCount: row.node_count,
    jobCount: row.job_count,
    endedAt: row.ended_at,
    live: row.live,
  };
}

const SELECT_INSTANCES = `SELECT id, name, server_id, host, pid, api_port, command_endpoint, heartbeat_endpoint,
  state, started_at, lease_until, node_count, job_count, ended_at, lease_until > now() AS live
  FROM cluster_instances`;

/** Lists instances: live and recently ended ones (ended within `keepSeconds`). */
export async function listInstances(
  db: Pick<ClusterDb, 'query'>,
  keepSeconds = 3600,
): Promise<InstanceInfo[]> {
  const rows = await db.query<InstanceRow>(
    `${SELECT_INSTANCES} WHERE state <> 'gone' OR ended_at > now() - make_interval(secs => $1)
     ORDER BY name, started_at DESC`,
    [keepSeconds],
  );
  return rows.map(info);
}

/** Counts this instance reports with each renewal. */
export interface InstanceCounts {
  nodes: number;
  jobs: number;
}

/** This instance's lease, and the watch over the others'. */
export class InstanceLease {
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private state: InstanceState = 'active';
  /** Ids of the instances whose lease runs, from the last renewal (this one included). */
  private live = new Set<string>();
  private readonly log: Logger;
  /** Renewals done, renewals that found the lease lost, instances this one claimed. */
  readonly stats = { renewals: 0, lost: 0, claimed: 0 };
  /** Called once when a renewal finds that another instance cleared this one. */
  onLost: (() => void) | undefined;
  /** Called when an instance is seen gone (claimed by us or another). */
  onGone: ((id: string) => void) | undefined;

  constructor(
    private readonly db: ClusterDb,
    readonly registration: InstanceRegistration,
    private readonly counts: () => InstanceCounts,
    private readonly expire: ExpiryHandler,
    log?: Logger,
  ) {
    this.log = log ?? SILENT_LOGGER;
    this.live.add(registration.id);
  }

  get id(): string {
    return this.registration.id;
  }

  /** When this instance last renewed its lease (ms), and before when it claims nobody. */
  private lastRenewed = 0;
  private claimAfter = 0;
  /** Instances seen expired or gone: never taken for live again. */
  private readonly ended = new Set<string>();

  /** Whether `id` is a live instance (as of the last renewal, or since it was last heard from). */
  isLive(id: string): boolean {
    return this.live.has(id);
  }

  /**
   * Instance `id` was just heard from (it wrote a relay row, a presence change, a feed batch): an
   * instance that started after our last renewal is live before the next one.
   */
  noteAlive(id: string): void {
    if (!this.ended.has(id)) this.live.add(id);
  }

  /** Ids of the live instances other than this one. */
  others(): string[] {
    return [...this.live].filter((id) => id !== this.id);
  }

  /**
   * Registers this instance. Returns the ids of earlier instances of this same server (same
   * name and server id) still marked live: the caller takes them over at once.
   * @throws InstanceNameInUseError when another live server holds the name
   */
  async register(): Promise<string[]> {
    const r = this.registration;
    const holders = await this.db.query<{ id: string; server_id: string; host: string; pid: number }>(
      `SELECT id, server_id, host, pid FROM cluster_instances
        WHERE name = $1 AND state IN ('active', 'draining') AND lease_until > now()`,
      [r.name],
    );
    const other = holders.find((h) => h.server_id !== r.serverId);
    if (other !== undefined) {
      throw new InstanceNameInUseError(
        `instance name '${r.name}' is held by a live instance on ${other.host} (pid ${other.pid}); ` +
          'give each instance its own instance_name',
      );
    }
    await this.db.query(
      `INSERT INTO cluster_instances (id, name, server_id, api_port, command_endpoint, heartbeat_endpoint,
         host, pid, state, started_at, lease_until)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', now(), now() + make_interval(secs => $9))`,
      [
        r.id,
        r.name,
        r.serverId,
        r.apiPort,
        r.commandEndpoint,
        r.heartbeatEndpoint,
        hostname(),
        process.pid,
        r.leaseSeconds,
      ],
    );
    // An earlier process of this server that crashed (still `active`): taken over at once. One that
    // drained and left keeps its short grace, so its nodes can move with their jobs first.
    const earlier = await this.db.query<{ id: string }>(
      `SELECT id FROM cluster_instances
        WHERE name = $1 AND server_id = $2 AND id <> $3 AND state IN ('active', 'expired')`,
      [r.name, r.serverId, r.id],
    );
    return earlier.map((e) => e.id);
  }

  /** Starts renewing (every third of the lease) and watching the others. */
  start(): void {
    const every = (this.registration.leaseSeconds * 1000) / 3;
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
    void this.tick();
  }

  /** One renewal and one look for expired instances (public for tests). */
  tick(): Promise<void> {
    if (this.renewing !== undefined) return this.renewing;
    this.renewing = this.renewAndSweep()
      .catch((error: unknown) => this.log.warn({ err: errorMessage(error) }, 'cluster lease renewal failed'))
      .finally(() => {
        this.renewing = undefined;
      });
    return this.renewing;
  }

  /** Marks this instance draining (it finishes its jobs and takes no new ones). */
  async drain(): Promise<void> {
    this.state = 'draining';
    await this.db.query(
      `UPDATE cluster_instances SET state = 'draining' WHERE id = $1 AND state = 'active'`,
      [this.id],
    );
  }

  /** Whether this instance is draining. */
  get draining(): boolean {
    return this.state === 'draining';
  }

  /**
   * Leaves: stops renewing. With `graceSeconds` > 0 the lease is cut to that (its nodes may move
   * to other instances meanwhile, keeping their jobs; what is left is cleared at expiry).
   */
  async leave(graceSeconds: number): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.renewing;
    await this.db.query(
      `UPDATE cluster_instances SET lease_until = LEAST(lease_until, now() + make_interval(secs => $2)),
         state = CASE WHEN state = 'active' THEN 'draining' ELSE state END
        WHERE id = $1`,
      [this.id, graceSeconds],
    );
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async renewAndSweep(): Promise<void> {
    const counts = this.counts();
    const leaseMs = this.registration.leaseSeconds * 1000;
    const mine = await this.db.query(
      `UPDATE cluster_instances SET lease_until = now() + make_interval(secs => $2),
         node_count = $3, job_count = $4
        WHERE id = $1 AND state IN ('active', 'draining') RETURNING id`,
      [this.id, this.registration.leaseSeconds, counts.nodes, counts.jobs],
    );
    this.stats.renewals += 1;
    // Renewing again after a gap longer than a lease (the database was unreachable, or this
    // process stalled): the others were most likely cut off too. Claim nobody for one lease, so
    // they get the chance to renew before they are taken for dead.
    const now = Date.now();
    if (this.lastRenewed !== 0 && now - this.lastRenewed > leaseMs) this.claimAfter = now + leaseMs;
    this.lastRenewed = now;
    if (mine.length === 0) {
      this.stats.lost += 1;
      // Another instance took us for dead (we were stalled past our lease): our jobs are ended
      // and our nodes cleared. Nothing we hold can be trusted: the owner stops this instance.
      this.log.error({ instance: this.id }, 'this instance lost its lease: another instance cleared it');
      if (this.stats.lost === 1) this.onLost?.();
    }
    const before = [...this.live];
    const rows = await this.db.query<{ id: string; state: InstanceState; live: boolean }>(
      `SELECT id, state, lease_until > now() AS live FROM cluster_instances
        WHERE state <> 'gone' OR id = ANY($1::uuid[])`,
      [before],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const live = new Set<string>([this.id]);
    for (const r of rows) if (r.live && (r.state === 'active' || r.state === 'draining')) live.add(r.id);
    for (const r of rows)
      if ((r.state === 'expired' || r.state === 'gone') && r.id !== this.id) this.ended.add(r.id);
    const gone: string[] = [];
    for (const id of before) {
      const row = byId.get(id);
      // Heard from after our read started (no row yet in it): still live.
      if (row === undefined) live.add(id);
      else if (!live.has(id)) gone.push(id);
    }
    // Heard from while we read.
    for (const id of this.live) if (!before.includes(id) && !this.ended.has(id)) live.add(id);
    this.live = live;
    for (const id of gone) this.onGone?.(id);
    if (Date.now() < this.claimAfter) return;
    for (const row of rows) {
      if (!row.live && row.id !== this.id && row.state !== 'gone') await this.claimExpired(row.id);
    }
  }

  /**
   * Claims an expired instance (or a claim that itself expired) and clears it. Exactly one
   * instance wins the claim; the claim lasts one lease, so if the claimer dies another retries.
   */
  async claimExpired(deadId: string, force = false): Promise<boolean> {
    const claimed = await this.db.query(
      `UPDATE cluster_instances SET state = 'expired', ended_by = $2,
         lease_until = now() + make_interval(secs => $3), ended_at = COALESCE(ended_at, now())
        WHERE id = $1 AND state <> 'gone' AND ($4 OR lease_until <= now()) RETURNING id`,
      [deadId, this.id, this.registration.leaseSeconds, force],
    );
    if (claimed.length === 0) return false;
    this.stats.claimed += 1;
    this.log.warn({ instance: deadId }, 'cluster instance expired: clearing its nodes and ending its jobs');
    await this.expire(deadId);
    await this.db.query(`UPDATE cluster_instances SET state = 'gone' WHERE id = $1 AND ended_by = $2`, [
      deadId,
      this.id,
    ]);
    this.live.delete(deadId);
    this.ended.add(deadId);
    this.onGone?.(deadId);
    return true;
  }
}
