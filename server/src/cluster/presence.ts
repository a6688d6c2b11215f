/**
 * Which instance holds which node. Each instance writes its own nodes to `cluster_nodes` in
 * batches ({@link PresencePublisher}: the tracker marks a node changed, a flush a moment later
 * writes every changed node in one statement), and announces the changes other instances act
 * on (a node attached, detached, restarted, became available or not) on one channel, many
 * changes per notification. What a node is busy with (`state`, `job_id`) is written, not
 * announced: `node_states` reads it from the table.
 *
 * Every instance keeps the announced facts in a {@link PresenceMap}, its own nodes included (it
 * hears its own announcements too, so the map follows the commit order of every writer), and
 * turns changes that concern another instance's node into what the job engine knows from a
 * local tracker: a node down, or a node that moved (same client incarnation, another instance),
 * which the jobs treat as a reconnect.
 *
 * @module
 */
import { errorMessage, SILENT_LOGGER, type Logger } from '@push-jobs/protocol/internal';
import type { ClusterDb } from './db.js';
import { packPayloads } from './db.js';
import type { NodeRecord } from '../nodes/tracker.js';

/** One announced change: `[org, node, instance, incarnation or null (detached), available 0/1]`. */
export type PresenceChange = [string, string, string, string | null, 0 | 1];

/** What the map holds of one node. */
export interface PresenceEntry {
  instance: string;
  incarnation: string;
  available: boolean;
}

/** What the map reports: the node went down, or moved to another instance (same incarnation). */
export interface PresenceEvents {
  down(org: string, node: string): void;
  moved(org: string, node: string, to: string): void;
}

function key(org: string, node: string): string {
  return `${org}\u0000${node}`;
}

/** The nodes of the whole cluster, as announced. */
export class PresenceMap {
  private readonly entries = new Map<string, PresenceEntry>();

  constructor(
    private readonly self: string,
    private readonly events: PresenceEvents,
  ) {}

  get(org: string, node: string): PresenceEntry | undefined {
    return this.entries.get(key(org, node));
  }

  /** How many nodes each instance holds. */
  countByInstance(): Map<string, number> {
    const out = new Map<string, number>();
    for (const e of this.entries.values()) out.set(e.instance, (out.get(e.instance) ?? 0) + 1);
    return out;
  }

  /**
   * Applies announced changes in order. Events are raised only for changes a local tracker does
   * not already report: a node of another instance going down or restarting, and any move.
   */
  apply(changes: readonly PresenceChange[]): void {
    for (const [org, node, instance, incarnation, available] of changes) {
      const k = key(org, node);
      const old = this.entries.get(k);
      if (incarnation === null) {
        if (old?.instance !== instance) continue; // another instance holds it now
        this.entries.delete(k);
        if (instance !== this.self) this.events.down(org, node);
        continue;
      }
      this.entries.set(k, { instance, incarnation, available: available === 1 });
      if (old === undefined) continue;
      if (old.incarnation !== incarnation) {
        if (old.instance !== this.self) this.events.down(org, node);
      } else if (old.instance !== instance) {
        this.events.moved(org, node, instance);
      }
    }
  }

  /** Forgets every node of a gone instance (each one down). */
  dropInstance(instance: string): void {
    for (const [k, e] of [...this.entries]) {
      if (e.instance !== instance) continue;
      this.entries.delete(k);
      const [org, node] = k.split('\u0000') as [string, string];
      if (instance !== this.self) this.events.down(org, node);
    }
  }

  /** Replaces the whole map by the table's rows (start, reconnect), raising what changed. */
  reload(rows: readonly PresenceChange[]): void {
    const seen = new Set<string>();
    for (const row of rows) seen.add(key(row[0], row[1]));
    const gone: PresenceChange[] = [];
    for (const [k, e] of this.entries) {
      if (seen.has(k)) continue;
      const [org, node] = k.split('\u0000') as [string, string];
      gone.push([org, node, e.instance, null, 0]);
    }
    this.apply(gone);
    this.apply(rows);
  }
}

/** A node as last written by this instance. */
interface Published {
  incarnation: string;
  state: string;
  job: string | null;
}

/** What `node_states` shows of a record (as the tracker's own `activity`). */
function stateOf(r: NodeRecord): { state: string; job: string | null } {
  if (r.state === 'rehab') return { state: 'rehab', job: null };
  return r.job === undefined ? { state: 'idle', job: null } : { state: r.job.state, job: r.job.jobId };
}

/** Available: connected and not in rehab (what other instances route by). */
const isAvailable = (state: string): boolean => state !== 'rehab';

/** Nodes written per statement. */
const NODES_PER_WRITE = 1000;

/** Writes this instance's nodes to `cluster_nodes` in batches and announces the changes. */
export class PresencePublisher {
  private readonly dirty = new Set<string>();
  /** Dirty nodes whose change other instances route by. */
  private readonly urgent = new Set<string>();
  private readonly published = new Map<string, Published>();
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private dueAt = 0;
  private closed = false;
  private readonly log: Logger;
  /** Statements written and nodes written (for the load figures). */
  readonly stats = { writes: 0, nodes: 0, notifications: 0 };

  constructor(
    private readonly db: ClusterDb,
    private readonly self: string,
    private readonly lookup: (org: string, node: string) => NodeRecord | undefined,
    log?: Logger,
    private readonly delayMs = 20,
    private readonly activityDelayMs = 1000,
  ) {
    this.log = log ?? SILENT_LOGGER;
  }

  /** How many nodes this instance has written as held (connected). */
  get count(): number {
    return this.published.size;
  }

  /** The node's record changed (created, state, job, ended). */
  changed(org: string, node: string): void {
    if (this.closed) return;
    const k = key(org, node);
    this.dirty.add(k);
    // What other instances route by (attached, restarted, available) goes out at once; what a
    // node is busy with only shows in node_states and waits a while: a short job's committed,
    // running, idle then often comes to nothing to write.
    const old = this.published.get(k);
    const record = this.lookup(org, node);
    const urgent =
      old === undefined ||
      record === undefined ||
      record.incarnationId !== old.incarnation ||
      isAvailable(stateOf(record).state) !== isAvailable(old.state);
    if (urgent) this.urgent.add(k);
    this.schedule(urgent);
  }

  /** Arms the timer: soon for urgent changes, later for the rest (an earlier one stays). */
  private schedule(urgent: boolean): void {
    if (this.flushing !== undefined || this.closed) return; // the running flush re-arms it
    const ms = urgent ? this.delayMs : this.activityDelayMs;
    const due = Date.now() + ms;
    if (this.timer !== undefined) {
      if (this.dueAt <= due) return;
      clearTimeout(this.timer);
    }
    this.dueAt = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run(!urgent);
    }, ms);
  }

  /** Writes everything changed so far (resolves once written). */
  async flush(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.run(true);
  }

  /** One flush: the urgent changes, or (`all`) every change. */
  private run(all: boolean): Promise<void> {
    if (this.flushing !== undefined) return this.flushing;
    let failed = false;
    this.flushing = this.flushLoop(all)
      .catch(() => {
        failed = true;
      })
      .finally(() => {
        this.flushing = undefined;
        if (this.closed) return;
        if (failed) {
          // Retried a second later (the database may be down): other instances see the older state.
          if (this.dirty.size > 0) this.schedule(false);
        } else if (this.urgent.size > 0) this.schedule(true);
        else if (this.dirty.size > 0) this.schedule(false);
      });
    return this.flushing;
  }

  private async flushLoop(all: boolean): Promise<void> {
    for (;;) {
      const from = all ? this.dirty : this.urgent;
      if (from.size === 0 || this.closed) return;
      const keys = [...from].slice(0, NODES_PER_WRITE);
      for (const k of keys) {
        this.dirty.delete(k);
        this.urgent.delete(k);
      }
      try {
        await this.write(keys);
      } catch (error) {
        for (const k of keys) this.dirty.add(k);
        this.log.warn({ err: errorMessage(error), nodes: keys.length }, 'cluster presence write failed');
        throw error;
      }
    }
  }

  private async write(keys: string[]): Promise<void> {
    const up = {
      org: [] as string[],
      node: [] as string[],
      inc: [] as string[],
      state: [] as string[],
      job: [] as (string | null)[],
    };
    const down = { org: [] as string[], node: [] as string[] };
    const changes: PresenceChange[] = [];
    const next = new Map<string, Published | undefined>();
    for (const k of keys) {
      const [org, node] = k.split('\u0000') as [string, string];
      const record = this.lookup(org, node);
      const old = this.published.get(k);
      if (record === undefined) {
        if (old === undefined) continue;
        down.org.push(org);
        down.node.push(node);
        changes.push([org, node, this.self, null, 0]);
        next.set(k, undefined);
        continue;
      }
      const now: Published = { incarnation: record.incarnationId, ...stateOf(record) };
      if (
        old !== undefined &&
        old.incarnation === now.incarnation &&
        old.state === now.state &&
        old.job === now.job
      )
        continue;
      up.org.push(org);
      up.node.push(node);
      up.inc.push(now.incarnation);
      up.state.push(now.state);
      up.job.push(now.job);
      const available = isAvailable(now.state);
      if (old === undefined || old.incarnation !== now.incarnation || isAvailable(old.state) !== available) {
        changes.push([org, node, this.self, now.incarnation, available ? 1 : 0]);
      }
      next.set(k, now);
    }
    if (up.org.length === 0 && down.org.length === 0) return;
    const payloads = packPayloads(changes);
    await this.db.query(
      `WITH up AS (
         INSERT INTO cluster_nodes (org_name, node_name, instance_id, incarnation, state, job_id, updated_at)
         SELECT o, n, $1::uuid, i, s, j, now()
           FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t(o, n, i, s, j)
         ON CONFLICT (org_name, node_name) DO UPDATE SET instance_id = excluded.instance_id,
           incarnation = excluded.incarnation, state = excluded.state, job_id = excluded.job_id,
           updated_at = excluded.updated_at
         RETURNING 1
       ), down AS (
         DELETE FROM cluster_nodes c USING unnest($7::text[], $8::text[]) AS t(o, n)
          WHERE c.org_name = t.o AND c.node_name = t.n AND c.instance_id = $1::uuid
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM up) + (SELECT count(*) FROM down) AS written,
         (SELECT count(pg_notify($9, p)) FROM unnest($10::text[]) AS p) AS notified`,
      [
        this.self,
        up.org,
        up.node,
        up.inc,
        up.state,
        up.job,
        down.org,
        down.node,
        this.db.channels.presence,
        payloads,
      ],
    );
    for (const [k, v] of next) {
      if (v === undefined) this.published.delete(k);
      else this.published.set(k, v);
    }
    this.stats.writes += 1;
    this.stats.nodes += keys.length;
    this.stats.notifications += payloads.length;
  }

  /** Stops writing (what is unwritten stays unwritten: the lease expiry clears it). */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Reads the whole table as announced changes (start, reconnect). */
export async function readPresence(db: Pick<ClusterDb, 'query'>): Promise<PresenceChange[]> {
  const rows = await db.query<{
    org_name: string;
    node_name: string;
    instance_id: string;
    incarnation: string;
    state: string;
  }>('SELECT org_name, node_name, instance_id, incarnation, state FROM cluster_nodes');
  return rows.map((r) => [
    r.org_name,
    r.node_name,
    r.instance_id,
    r.incarnation,
    isAvailable(r.state) ? 1 : 0,
  ]);
}

/**
 * Removes every node row of a dead instance and announces each one detached (run by the instance
 * that claimed it).
 */
export async function clearInstanceNodes(
  db: Pick<ClusterDb, 'query' | 'channels'>,
  dead: string,
): Promise<number> {
  const rows = await db.query<{ org_name: string; node_name: string }>(
    'DELETE FROM cluster_nodes WHERE instance_id = $1 RETURNING org_name, node_name',
    [dead],
  );
  const changes: PresenceChange[] = rows.map((r) => [r.org_name, r.node_name, dead, null, 0]);
  const payloads = packPayloads(changes);
  if (payloads.length > 0) {
    await db.query('SELECT count(pg_notify($1, p)) FROM unnest($2::text[]) AS p', [
      db.channels.presence,
      payloads,
    ]);
  }
  return rows.length;
}
