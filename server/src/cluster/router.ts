/**
 * Routes job traffic between the job engine, the local node tracker and the other instances.
 *
 * To the engine it is the node tracker ({@link JobNodes}): a message for a node this instance
 * holds goes to the local tracker as before; one for a node another live instance holds goes to
 * that instance through the relay (batched). To the tracker it is the listener
 * (`NodeEventListener`): a node's message about a job this instance runs goes to the engine; one
 * about a job another instance owns goes to that owner through the relay. The holder learns a
 * job's owner from the owner's first relayed message, or, for a node that arrives holding a job
 * (it moved from another instance), from the jobs table.
 *
 * Node deaths and moves of other instances' nodes come from the presence map: a node that
 * moved (same client incarnation on another instance) is a reconnect to its jobs, which re-send
 * what it is owed through the new route; a node that went down or restarted is down.
 *
 * @module
 */
import {
  errorMessage,
  SILENT_LOGGER,
  type CommitBody,
  type Logger,
  type MessageBody,
  type RunBody,
  type ServerCommandBody,
} from '@push-jobs/protocol/internal';
import type { JobNodes, PushJobEngine } from '../jobs/engine.js';
import type { LiveOutput } from '../jobs/live-output.js';
import type { HeldJob, HeldJobVerdict, LiveNodeTracker, NodeEventListener } from '../nodes/tracker.js';
import type { ClusterDb } from './db.js';
import { jobOwnership } from './job-owner.js';
import type { PresenceEvents, PresenceMap } from './presence.js';
import type { HolderItem, OwnerItem, RelayItem, RelayOutbox } from './relay.js';

/** A job another instance owns, as the instance holding some of its nodes knows it. */
interface RemoteJob {
  owner: string;
  org: string;
  /** Nodes of the job held here, with the state last reported to the owner. */
  nodes: Map<string, HeldJob['state'] | undefined>;
}

/** What a look-up of a job in the table found. */
type Lookup = { owner: string; org: string } | undefined;

/** How long a look-up that found no live remote owner is remembered, ms. */
const NEGATIVE_LOOKUP_MS = 30_000;
/** Look-ups kept in the negative cache at most. */
const MAX_NEGATIVE = 10_000;
/** Actions waiting for one look-up at most (a node repeating itself adds nothing useful). */
const MAX_WAITING_PER_LOOKUP = 1000;

/** Drops of job messages the router could not place, by reason. */
export interface RouterStats {
  relayedToOwner: number;
  relayedToHolder: number;
  lookups: number;
  unknownJob: number;
  outputDropped: number;
}

/** What the router is built from. */
export interface ClusterRouterOptions {
  self: string;
  db: Pick<ClusterDb, 'query'>;
  tracker: LiveNodeTracker;
  presence: PresenceMap;
  outbox: RelayOutbox;
  /** Whether an instance's lease runs. */
  isLive(instance: string): boolean;
  output?: LiveOutput;
  log?: Logger;
}

/** The cluster's job traffic switch; see the module documentation. */
export class ClusterRouter implements JobNodes, NodeEventListener, PresenceEvents {
  private engine: PushJobEngine | undefined;
  private readonly remote = new Map<string, RemoteJob>();
  /** Remote jobs by node held here (`org\0node`), for address changes and deaths. */
  private readonly remoteByNode = new Map<string, Set<string>>();
  /** Owner side: instances relayed to, by job, told when the job ends. */
  private readonly relayedTo = new Map<string, Set<string>>();
  private readonly lookups = new Map<string, ((found: Lookup) => void)[]>();
  private readonly negative = new Map<string, number>();
  private readonly log: Logger;
  readonly stats: RouterStats = {
    relayedToOwner: 0,
    relayedToHolder: 0,
    lookups: 0,
    unknownJob: 0,
    outputDropped: 0,
  };

  constructor(private readonly opts: ClusterRouterOptions) {
    this.log = opts.log ?? SILENT_LOGGER;
  }

  /** The engine, built on this router (as on a tracker), set once before traffic flows. */
  setEngine(engine: PushJobEngine): void {
    this.engine = engine;
  }

  private get tracker(): LiveNodeTracker {
    return this.opts.tracker;
  }

  /** The live instance holding a node that is not held here, if any. */
  private holder(org: string, node: string): string | undefined {
    if (this.tracker.get(org, node) !== undefined) return undefined;
    const entry = this.opts.presence.get(org, node);
    if (entry === undefined || entry.instance === this.opts.self || !this.opts.isLive(entry.instance))
      return undefined;
    return entry.instance;
  }

  private toHolder(holder: string, item: OwnerItem & { j: string }): void {
    let set = this.relayedTo.get(item.j);
    if (set === undefined) this.relayedTo.set(item.j, (set = new Set()));
    set.add(holder);
    this.stats.relayedToHolder++;
    this.opts.outbox.send(holder, item);
  }

  private toOwner(owner: string, item: HolderItem): void {
    this.stats.relayedToOwner++;
    this.opts.outbox.send(owner, item);
  }

  // ---- JobNodes (the engine's view of the nodes) ------------------------------------------

  sendTo(org: string, node: string, message: ServerCommandBody): boolean {
    const holder = this.holder(org, node);
    if (holder === undefined) return this.tracker.sendTo(org, node, message);
    if (message.type !== 'commit' && message.type !== 'run') return false;
    this.toHolder(holder, {
      t: 'send',
      o: org,
      n: node,
      j: message.job_id,
      m: message as CommitBody | RunBody,
    });
    return true;
  }

  release(org: string, node: string, jobId: string): void {
    const holder = this.holder(org, node);
    if (holder === undefined) this.tracker.release(org, node, jobId);
    else this.toHolder(holder, { t: 'release', o: org, n: node, j: jobId });
  }

  awaitVote(org: string, node: string, jobId: string): void {
    const holder = this.holder(org, node);
    if (holder === undefined) this.tracker.awaitVote(org, node, jobId);
    else this.toHolder(holder, { t: 'await', o: org, n: node, j: jobId });
  }

  voteDone(org: string, node: string, jobId: string): void {
    const holder = this.holder(org, node);
    if (holder === undefined) this.tracker.voteDone(org, node, jobId);
    else this.toHolder(holder, { t: 'voted', o: org, n: node, j: jobId });
  }

  isAvailable(org: string, node: string): boolean {
    if (this.tracker.get(org, node) !== undefined) return this.tracker.isAvailable(org, node);
    const entry = this.opts.presence.get(org, node);
    return (
      entry !== undefined &&
      entry.instance !== this.opts.self &&
      entry.available &&
      this.opts.isLive(entry.instance)
    );
  }

  holding(org: string, node: string): HeldJob | undefined {
    return this.tracker.holding(org, node);
  }

  /** What each node holds: this instance's from its tracker, the others' from `cluster_nodes`. */
  async heldJobs(org: string, nodes: readonly string[]): Promise<Map<string, HeldJob | null>> {
    const out = await this.tracker.heldJobs(org, nodes);
    const remote = nodes.filter((n) => !out.has(n) && this.holder(org, n) !== undefined);
    if (remote.length === 0) return out;
    const rows = await this.opts.db.query<{
      node_name: string;
      instance_id: string;
      state: string;
      job_id: string | null;
    }>(
      'SELECT node_name, instance_id, state, job_id FROM cluster_nodes WHERE org_name = $1 AND node_name = ANY($2::text[])',
      [org, remote],
    );
    for (const row of rows) {
      if (!this.opts.isLive(row.instance_id) || row.instance_id === this.opts.self) continue;
      const state = row.state;
      out.set(
        row.node_name,
        (state === 'committed' || state === 'running') && row.job_id !== null
          ? { jobId: row.job_id, state }
          : null,
      );
    }
    return out;
  }

  /** The engine retired a job: the instances that hold its nodes forget it. */
  jobSettled(org: string, jobId: string): void {
    const set = this.relayedTo.get(jobId);
    if (set === undefined) return;
    this.relayedTo.delete(jobId);
    for (const instance of set) this.opts.outbox.send(instance, { t: 'forget', o: org, j: jobId });
  }

  // ---- NodeEventListener (the local tracker's events) -------------------------------------

  nodeDown(org: string, node: string): void {
    const entry = this.opts.presence.get(org, node);
    // Moved to another instance (its announcement came first): a reconnect, already reported.
    if (entry !== undefined && entry.instance !== this.opts.self) return;
    this.forgetRemoteNode(org, node);
    this.engine?.nodeDown(org, node);
  }

  jobMessage(org: string, node: string, jobId: string, body: MessageBody): boolean {
    if (this.engine?.run(jobId) !== undefined) return this.engine.jobMessage(org, node, jobId, body);
    const remote = this.remoteJob(org, jobId);
    if (remote !== undefined) {
      this.noteNode(remote, jobId, org, node);
      this.toOwner(remote.owner, { t: 'msg', o: org, n: node, j: jobId, b: body });
      return true;
    }
    if (this.isNegative(jobId)) return false;
    this.whenLookedUp(
      org,
      jobId,
      (found) => {
        if (found !== undefined) {
          this.toOwner(found.owner, { t: 'msg', o: org, n: node, j: jobId, b: body });
        } else if (body.type === 'ack_commit' || body.type === 'ack_run') {
          // The node holds a job no live instance runs: it must drop it (as a single server does).
          this.tracker.release(org, node, jobId);
        }
      },
      node,
    );
    return true;
  }

  jobHeld(org: string, node: string, jobId: string, state: HeldJob['state']): HeldJobVerdict {
    if (this.engine?.run(jobId) !== undefined) return this.engine.jobHeld(org, node, jobId, state);
    const remote = this.remoteJob(org, jobId);
    if (remote !== undefined) {
      if (remote.nodes.get(node) !== state) {
        remote.nodes.set(node, state);
        this.indexNode(org, node, jobId);
        this.toOwner(remote.owner, { t: 'held', o: org, n: node, j: jobId, s: state });
      }
      return 'ok';
    }
    if (this.isNegative(jobId)) return state === 'running' ? 'orphan' : 'release';
    this.whenLookedUp(
      org,
      jobId,
      (found) => {
        if (found !== undefined) {
          this.toOwner(found.owner, { t: 'held', o: org, n: node, j: jobId, s: state });
        } else if (state === 'committed') {
          this.tracker.release(org, node, jobId);
        }
      },
      node,
      state,
    );
    // Until the owner answers, the node keeps what it holds.
    return 'ok';
  }

  nodeReconnected(org: string, node: string): void {
    this.engine?.nodeReconnected(org, node);
    for (const jobId of this.remoteByNode.get(`${org}\u0000${node}`) ?? []) {
      const remote = this.remote.get(jobId);
      if (remote !== undefined) this.toOwner(remote.owner, { t: 'addr', o: org, n: node, j: jobId });
    }
  }

  jobOutput(org: string, node: string, jobId: string, body: MessageBody): void {
    if (this.engine?.run(jobId) !== undefined) return this.engine.jobOutput(org, node, jobId, body);
    const remote = this.remoteJob(org, jobId);
    if (remote === undefined || this.opts.output === undefined || !remote.nodes.has(node)) {
      this.stats.outputDropped++;
      return;
    }
    // The holder keeps the output of its nodes: chunks go to the store from here.
    this.opts.output.accept(org, jobId, node, body);
  }

  // ---- PresenceEvents (other instances' nodes) --------------------------------------------

  down(org: string, node: string): void {
    this.engine?.nodeDown(org, node);
  }

  moved(org: string, node: string, to: string): void {
    if (to !== this.opts.self && this.tracker.get(org, node) !== undefined) {
      // The node now talks to another instance; the record here is stale. Dropping it reports
      // nothing to the jobs (nodeDown sees the move) and frees what it held.
      this.tracker.drop(org, node);
      this.forgetRemoteNode(org, node);
    }
    this.engine?.nodeReconnected(org, node);
  }

  /** An instance is gone: its remote jobs are ended by whoever claimed it. */
  instanceGone(instance: string): void {
    for (const [jobId, remote] of [...this.remote]) if (remote.owner === instance) this.dropRemote(jobId);
    this.opts.presence.dropInstance(instance);
    this.opts.outbox.forget(instance);
  }

  // ---- Relayed items ----------------------------------------------------------------------

  /** An item relayed from instance `from`. */
  handle(from: string, item: RelayItem): void {
    switch (item.t) {
      case 'send': {
        if (this.tracker.get(item.o, item.n) === undefined) return;
        this.adopt(item.j, from, item.o, item.n);
        this.tracker.sendTo(item.o, item.n, item.m);
        return;
      }
      case 'release':
        return this.tracker.release(item.o, item.n, item.j);
      case 'await':
        this.adopt(item.j, from, item.o, item.n);
        return this.tracker.awaitVote(item.o, item.n, item.j);
      case 'voted':
        return this.tracker.voteDone(item.o, item.n, item.j);
      case 'forget':
        this.dropRemote(item.j);
        this.opts.output?.jobEnded(item.o, item.j);
        return;
      case 'msg':
        this.engine?.jobMessage(item.o, item.n, item.j, item.b);
        return;
      case 'held': {
        const run = this.engine?.run(item.j);
        if (run === undefined || run.org !== item.o) {
          // Not ours (any more): running ones are left to finish, committed ones dropped.
          if (item.s === 'committed') this.release(item.o, item.n, item.j);
          return;
        }
        if (this.engine!.jobHeld(item.o, item.n, item.j, item.s) === 'release')
          this.release(item.o, item.n, item.j);
        return;
      }
      case 'addr':
        this.engine?.nodeReconnected(item.o, item.n);
        return;
      case 'abort': {
        const run = this.engine?.run(item.j);
        if (run === undefined || run.org !== item.o) return;
        this.engine!.abortJob(item.o, item.j, item.by).catch((error: unknown) =>
          this.log.error({ err: errorMessage(error), job: item.j }, 'relayed abort failed'),
        );
        return;
      }
    }
  }

  // ---- The holder's record of remote jobs -------------------------------------------------

  private remoteJob(org: string, jobId: string): RemoteJob | undefined {
    const remote = this.remote.get(jobId);
    if (remote === undefined || remote.org !== org) return undefined;
    if (!this.opts.isLive(remote.owner)) {
      this.dropRemote(jobId);
      return undefined;
    }
    return remote;
  }

  private adopt(jobId: string, owner: string, org: string, node: string): void {
    let remote = this.remote.get(jobId);
    if (remote === undefined || remote.owner !== owner) {
      remote = { owner, org, nodes: new Map() };
      this.remote.set(jobId, remote);
      this.negative.delete(jobId);
    }
    this.noteNode(remote, jobId, org, node);
  }

  private noteNode(remote: RemoteJob, jobId: string, org: string, node: string): void {
    if (!remote.nodes.has(node)) remote.nodes.set(node, undefined);
    this.indexNode(org, node, jobId);
  }

  private indexNode(org: string, node: string, jobId: string): void {
    const k = `${org}\u0000${node}`;
    let set = this.remoteByNode.get(k);
    if (set === undefined) this.remoteByNode.set(k, (set = new Set()));
    set.add(jobId);
  }

  private forgetRemoteNode(org: string, node: string): void {
    const k = `${org}\u0000${node}`;
    const jobs = this.remoteByNode.get(k);
    if (jobs === undefined) return;
    this.remoteByNode.delete(k);
    for (const jobId of jobs) this.remote.get(jobId)?.nodes.delete(node);
  }

  private dropRemote(jobId: string): void {
    const remote = this.remote.get(jobId);
    if (remote === undefined) return;
    this.remote.delete(jobId);
    for (const node of remote.nodes.keys()) {
      const k = `${remote.org}\u0000${node}`;
      const set = this.remoteByNode.get(k);
      set?.delete(jobId);
      if (set?.size === 0) this.remoteByNode.delete(k);
    }
  }

  /** How many remote jobs this instance holds nodes of (tests, status). */
  remoteJobCount(): number {
    return this.remote.size;
  }

  // ---- Look-ups of unknown jobs -----------------------------------------------------------

  private isNegative(jobId: string): boolean {
    const until = this.negative.get(jobId);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.negative.delete(jobId);
    return false;
  }

  /**
   * Finds the owner of a job a node here speaks of; `then` runs with the owner when it is another
   * live instance running the job (the job is adopted for the node), with undefined otherwise.
   */
  private whenLookedUp(
    org: string,
    jobId: string,
    then: (found: Lookup) => void,
    node: string,
    state?: HeldJob['state'],
  ): void {
    const waiting = this.lookups.get(jobId);
    const action = (found: Lookup): void => {
      if (found !== undefined) {
        this.adopt(jobId, found.owner, org, node);
        if (state !== undefined) this.remote.get(jobId)?.nodes.set(node, state);
      }
      then(found);
    };
    if (waiting !== undefined) {
      if (waiting.length < MAX_WAITING_PER_LOOKUP) waiting.push(action);
      return;
    }
    this.lookups.set(jobId, [action]);
    this.stats.lookups++;
    void this.lookUp(org, jobId).then((found) => {
      const actions = this.lookups.get(jobId) ?? [];
      this.lookups.delete(jobId);
      if (found === undefined) {
        this.stats.unknownJob++;
        if (this.negative.size >= MAX_NEGATIVE) this.negative.clear();
        this.negative.set(jobId, Date.now() + NEGATIVE_LOOKUP_MS);
      }
      for (const a of actions) a(found);
    });
  }

  private async lookUp(org: string, jobId: string): Promise<Lookup> {
    try {
      const row = await jobOwnership(this.opts.db, jobId);
      if (row === undefined || row.org !== org || row.owner === null || row.owner === this.opts.self)
        return undefined;
      if (row.status !== 'voting' && row.status !== 'running') return undefined;
      if (!this.opts.isLive(row.owner)) return undefined;
      return { owner: row.owner, org };
    } catch (error) {
      this.log.warn({ err: errorMessage(error), job: jobId }, 'cluster job look-up failed');
      return undefined;
    }
  }
}
