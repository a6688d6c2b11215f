/**
 * The node tracker (spec 3): one record per (org, node) connected over ZeroMQ, indexed by its
 * ROUTER address; `abort` on first contact and rehab until `aborted`; `ack` on an address
 * change; a new incarnation replaces the record; heartbeat liveness with a periodic scan.
 *
 * Beyond the original, it knows what each node holds (the job and the agent's job state, from
 * its heartbeats and job messages) and protects jobs from each other:
 * - a job asks for a *release* ({@link LiveNodeTracker.release}): `abort` naming the job,
 *   repeated until answered, and never sent to a node known to hold another job (the original
 *   client ignores the job id of an abort and would stop whatever it runs). While a release is
 *   unanswered the node stays available and messages to it wait behind the abort, so a job
 *   posted right after a failed one does not see it unavailable;
 * - a node that reconnects while running a job this server does not know (a job of a previous
 *   server process) is left to finish it: its first message gets `ack`, not `abort`; a node
 *   committed to such a job is released;
 * - after an address change, jobs re-send what the node is owed (`commit`, `run`).
 *
 * Wiring: messages go out through the sender given to the constructor (the broker's `send`);
 * node deaths and job messages go to the listener (the job engine), the one role set after
 * construction ({@link LiveNodeTracker.setListener}): the engine is built on the tracker, so the
 * tracker exists first. Node state changes (connected, rehab, release, down) are logged at
 * `debug`.
 *
 * Scale: no timer per node (one tick drives rehab re-sends, one the liveness scan), and a
 * heartbeat allocates nothing that grows with the fleet.
 *
 * @module
 */
import {
  abortMessage,
  ackMessage,
  SILENT_LOGGER,
  type Availability,
  type Logger,
  type MessageBody,
  type NodeActivity,
  type NodeState,
  type ServerCommandBody,
  type ServerCommandType,
} from '@push-jobs/protocol/internal';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import type { NodeStateEntry, NodeTracker } from './types.js';
import {
  countHeartbeat,
  initialLiveness,
  isAlive,
  type LivenessSettings,
  type LivenessState,
} from './liveness.js';

/** The server's side of one connected node. */
export interface NodeRecord extends LivenessState {
  readonly org: string;
  readonly node: string;
  /** ROUTER identity of the node's current connection. */
  address: Buffer;
  addressKey: string;
  /** The client's incarnation (a new one means the client restarted). */
  readonly incarnationId: string;
  state: 'rehab' | 'idle';
  /** The job the node holds, as its last message said; undefined when idle. */
  job: HeldJob | undefined;
  /** The job whose abort (a release) the node has not answered yet. */
  releasing: string | undefined;
  /**
   * Jobs that ended before the node voted and still expect its vote (see
   * {@link LiveNodeTracker.awaitVote}): other jobs' messages wait for it.
   */
  votes: Set<string> | undefined;
  /** Messages waiting for the release or the votes (sent after them, in order). */
  deferred: ServerCommandBody[] | undefined;
  /** When the next `abort` is due while in rehab or releasing, ms. */
  nextAbortAt: number;
  /** Sequence of the messages the server sends this node (1, 2, ...). */
  sendSequence: number;
}

/** Server → node message types. */
export type ServerCommand = ServerCommandType;

/** A job a node holds: committed to it (acked) or running it. */
export interface HeldJob {
  jobId: string;
  state: 'committed' | 'running';
}

/**
 * What the jobs say of a node holding a job: `ok` (the job wants it), `release` (the node must
 * drop it), `orphan` (a job no live state machine knows that the node runs: left to finish).
 */
export type HeldJobVerdict = 'ok' | 'release' | 'orphan';

/** Sends a message to a node (the broker adds the envelope, signs and queues it); false when it cannot. */
export type NodeSender = (record: NodeRecord, message: ServerCommandBody) => boolean;

/** The job a message to a node belongs to, if any. */
function jobOfMessage(message: ServerCommandBody): string | undefined {
  return message.type === 'ack' ? undefined : message.job_id;
}

/** What the tracker tells the job engine. */
export interface NodeEventListener {
  /** The node's record ended (dead, or replaced by a new incarnation): jobs treat it as down. */
  nodeDown(org: string, node: string): void;
  /**
   * A job message (`ack_commit`, `nack_commit`, `ack_run`, `nack_run`, `succeeded`, `failed`,
   * or `aborted` with a job id). Returns false when no live job has that id.
   */
  jobMessage(org: string, node: string, jobId: string, body: MessageBody): boolean;
  /** A node's heartbeat says it holds `jobId` in `state`: whether the jobs still want that. */
  jobHeld(org: string, node: string, jobId: string, state: HeldJob['state']): HeldJobVerdict;
  /** The node reconnected from a new address (what was sent to the old one may be lost). */
  nodeReconnected(org: string, node: string): void;
  /**
   * A chunk of live output (`output`) from a node that said it runs `jobId` (see
   * {@link LiveNodeTracker.handleOutput}). Never a fault: what the engine does not take it drops.
   */
  jobOutput?(org: string, node: string, jobId: string, body: MessageBody): void;
}

/** Why the tracker dropped an `output` message (counted in {@link LiveNodeTracker.outputDrops}). */
export type OutputDropReason = 'unknown node' | 'in rehab' | 'no job id' | 'not running the job';

/** Settings, named as the original's. */
export interface TrackerSettings extends LivenessSettings {
  /** Scan period in heartbeat intervals. */
  detect_offline_nodes_interval: number;
  /** ms between `abort`s in rehab. */
  rehab_timer: number;
}

/** What {@link LiveNodeTracker} is built from. */
export interface LiveNodeTrackerOptions {
  settings: TrackerSettings;
  /** Where messages to nodes go (the broker signs and queues them). */
  send: NodeSender;
  /** Wall clock, ms. @default Date.now */
  now?: () => number;
  /**
   * How long the command socket has been reading a backlog, ms (0 when it is caught up); see
   * {@link LiveNodeTracker.livenessNow}. @default always 0
   */
  receiveLag?: () => number;
  /** Where node state changes are logged (at `debug`). @default silent */
  log?: Logger;
  /**
   * Called when a node's record is created or ends, or what it says of the node changes (rehab,
   * the job it holds): cluster mode writes it for the other instances. @default none
   */
  onChange?: (org: string, node: string) => void;
}

/** Why a node's record ended (logged). */
type EndReason = 'dead' | 'restarted' | 'address reused' | 'dropped';

const JOB_MESSAGES = new Set(['ack_commit', 'nack_commit', 'ack_run', 'nack_run', 'succeeded', 'failed']);
const MAX_JOB_ID_BYTES = 64;
/** Messages kept for a node while its release is unanswered; beyond, sends fail (the job sees it down). */
const MAX_DEFERRED = 8;

/** The job a heartbeat says the node holds (its `job_state` and `job_id`), if any. */
function heldByHeartbeat(body: MessageBody, jobId: string | null): HeldJob | undefined {
  if (jobId === null) return undefined;
  const state = body.job_state;
  if (state === 'running') return { jobId, state };
  // A job id without a job state (older clients) counts as committed: released if unknown.
  if (state === 'committed' || state === undefined) return { jobId, state: 'committed' };
  return undefined;
}

function jobIdOf(body: MessageBody): string | null | undefined {
  const v = body.job_id;
  if (v === undefined || v === null || v === 'null') return null;
  if (typeof v !== 'string' || Buffer.byteLength(v) > MAX_JOB_ID_BYTES) return undefined; // invalid
  return v;
}

/** What `node_states` says of a record: availability (original meaning) and activity. */
function activity(r: NodeRecord): { availability: Availability; state: NodeActivity; job_id?: string } {
  if (r.state === 'rehab') return { availability: 'unavailable', state: 'rehab' };
  if (r.job === undefined) return { availability: 'available', state: 'idle' };
  return { availability: 'available', state: r.job.state, job_id: r.job.jobId };
}

function key(org: string, node: string): string {
  return `${org}\u0000${node}`;
}

/**
 * The longest stretch of one receive backlog that the liveness clock does not count (see
 * {@link LiveNodeTracker.livenessNow}): beyond it a server that stays behind counts time again,
 * so dead nodes are still found.
 */
export const MAX_BLIND_MS = 30_000;

/** The live {@link NodeTracker}. */
export class LiveNodeTracker implements NodeTracker {
  private readonly records = new Map<string, NodeRecord>();
  /** Backlog time already taken out of the liveness clock, ms. */
  private blindMs = 0;
  /** The backlog seen at the last {@link livenessNow}, ms. */
  private lastLagMs = 0;
  private readonly byAddress = new Map<string, NodeRecord>();
  /** Records waiting for an `aborted`: in rehab, or with a release unanswered. */
  private readonly awaitingAbort = new Set<NodeRecord>();
  private readonly settings: TrackerSettings;
  private readonly sender: NodeSender;
  private readonly now: () => number;
  private readonly receiveLag: () => number;
  private readonly log: Logger;
  private listener: NodeEventListener | undefined;
  private timers: NodeJS.Timeout[] = [];
  /** `output` messages dropped here, by reason. */
  readonly outputDrops: Record<OutputDropReason, number> = {
    'unknown node': 0,
    'in rehab': 0,
    'no job id': 0,
    'not running the job': 0,
  };
  private readonly outputLog: RateLimitedLog;
  private readonly onChange: ((org: string, node: string) => void) | undefined;

  constructor(options: LiveNodeTrackerOptions) {
    this.onChange = options.onChange;
    this.settings = options.settings;
    this.sender = options.send;
    this.now = options.now ?? Date.now;
    this.receiveLag = options.receiveLag ?? (() => 0);
    this.log = options.log ?? SILENT_LOGGER;
    this.outputLog = new RateLimitedLog(this.log);
  }

  /**
   * The clock heartbeat liveness runs on: wall time less the time the server spent behind on its
   * own command socket. While the server reads a backlog, every node's heartbeats reach it late;
   * counting that time as silence would declare healthy nodes dead the moment a big job ends (seen
   * with 10,000 nodes: 4,000 nodes dropped after one job). So the clock stops while the socket has
   * a backlog (for at most {@link MAX_BLIND_MS} per backlog) and goes on from there afterwards.
   */
  livenessNow(): number {
    const lag = Math.min(Math.max(0, this.receiveLag()), MAX_BLIND_MS);
    if (lag < this.lastLagMs) this.blindMs += this.lastLagMs; // the last backlog ended
    this.lastLagMs = lag;
    return this.now() - this.blindMs - lag;
  }

  /**
   * Who hears about node deaths and job messages: the job engine, which is built on this
   * tracker, so it comes after the constructor. Set once, before the broker delivers messages.
   * @throws Error when a listener is already set
   */
  setListener(listener: NodeEventListener): void {
    if (this.listener !== undefined) throw new Error('the node tracker already has a listener');
    this.listener = listener;
  }

  /** Starts the rehab tick and the liveness scan. */
  start(): void {
    const rehab = setInterval(
      () => this.rehabTick(),
      Math.max(10, Math.floor(this.settings.rehab_timer / 2)),
    );
    const scanMs = this.settings.heartbeat_interval * this.settings.detect_offline_nodes_interval;
    const scan = setInterval(() => this.scan(), scanMs);
    rehab.unref();
    scan.unref();
    this.timers = [rehab, scan];
  }

  /** Stops the timers. Records stay (a stopped tracker is being shut down). */
  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** The record of a node, if connected. */
  get(org: string, node: string): NodeRecord | undefined {
    return this.records.get(key(org, node));
  }

  /** The record behind a ROUTER address. */
  byAddressKey(addressKey: string): NodeRecord | undefined {
    return this.byAddress.get(addressKey);
  }

  /**
   * Whether the node is connected and not in rehab (usable for a job; it may still be busy with
   * another job and nack). A node whose release is unanswered is available: what is sent to it
   * waits behind the abort.
   */
  isAvailable(org: string, node: string): boolean {
    return this.get(org, node)?.state === 'idle';
  }

  /** The job the node holds, as it last said. */
  holding(org: string, node: string): HeldJob | undefined {
    return this.get(org, node)?.job;
  }

  /**
   * What each node holds: its job, `null` when connected and holding none (in rehab a node holds
   * none: the rehab abort stopped it), absent when not connected.
   */
  heldJobs(org: string, nodes: readonly string[]): Promise<Map<string, HeldJob | null>> {
    const out = new Map<string, HeldJob | null>();
    for (const node of nodes) {
      const record = this.get(org, node);
      if (record !== undefined) out.set(node, record.state === 'rehab' ? null : (record.job ?? null));
    }
    return Promise.resolve(out);
  }

  /**
   * Sends a job's message to a node: at once, or after the node answered a pending release or
   * vote. False when the node is not connected (or too much waits for it).
   */
  sendTo(org: string, node: string, message: ServerCommandBody): boolean {
    const record = this.get(org, node);
    if (record === undefined) return false;
    if (record.deferred !== undefined || this.heldBack(record, jobOfMessage(message))) {
      record.deferred ??= [];
      if (record.deferred.length >= MAX_DEFERRED) return false;
      record.deferred.push(message);
      this.flushDeferred(record);
      return true;
    }
    return this.sender(record, message);
  }

  /**
   * Whether a message of job `jobId` must wait: behind an unanswered release, or for a vote
   * another job awaits (never for a vote its own job awaits: its commit may be what is waiting).
   */
  private heldBack(record: NodeRecord, jobId: string | undefined): boolean {
    if (record.releasing !== undefined) return true;
    if (record.votes === undefined) return false;
    for (const v of record.votes) if (v !== jobId) return true;
    return false;
  }

  /**
   * Job `jobId` ended before this node voted, and still expects its vote (which may be an ack:
   * the node would then hold the ended job until it gets that job's abort). Until the job calls
   * {@link voteDone}, messages of other jobs wait, so a job posted right after is not nacked by a
   * node that acks the ended one first. The job ends the wait by its voting timeout at the latest.
   */
  awaitVote(org: string, node: string, jobId: string): void {
    const record = this.get(org, node);
    if (record === undefined) return;
    (record.votes ??= new Set()).add(jobId);
  }

  /** The vote {@link awaitVote} waited for arrived (or will not): what waited may go. */
  voteDone(org: string, node: string, jobId: string): void {
    const record = this.get(org, node);
    if (record?.votes === undefined || !record.votes.delete(jobId)) return;
    if (record.votes.size === 0) record.votes = undefined;
    this.flushDeferred(record);
  }

  /**
   * Tells a node to drop job `jobId` (see the module documentation): `abort` with the job id
   * now and every `rehab_timer` until it answers. Nothing is sent to a node in rehab (the
   * rehab abort stops everything) or known to hold another job.
   */
  release(org: string, node: string, jobId: string): void {
    const record = this.get(org, node);
    if (record !== undefined) this.releaseRecord(record, jobId, this.now());
  }

  /**
   * Handles a verified message from `org`/`node` arriving on `address` (spec 3.5): creates the
   * record on first contact, follows address changes, counts heartbeats, drives rehab, and
   * forwards job messages.
   */
  handle(org: string, node: string, address: Buffer, addressKey: string, body: MessageBody): void {
    if (body.type === 'output') return this.handleOutput(org, node, body);
    const now = this.now();
    const incarnation = typeof body.incarnation_id === 'string' ? body.incarnation_id : '';
    let record = this.get(org, node);
    if (
      record !== undefined &&
      body.type === 'heartbeat' &&
      incarnation !== '' &&
      incarnation !== record.incarnationId
    ) {
      // The client restarted: its old record ends (jobs see it down) and a fresh one starts.
      this.terminate(record, 'restarted');
      record = undefined;
    }
    const jobId = jobIdOf(body);
    const created = record === undefined;
    if (record === undefined) {
      // The new liveness record counts this message as its first heartbeat.
      record = this.create(org, node, address, addressKey, incarnation);
      this.firstContact(record, body, jobId, now);
    } else if (record.addressKey !== addressKey) {
      this.byAddress.delete(record.addressKey);
      record.address = address;
      record.addressKey = addressKey;
      this.byAddress.set(addressKey, record);
      this.log.debug({ org, node }, 'node reconnected from a new address');
      this.sender(record, ackMessage());
      this.listener?.nodeReconnected(org, node);
    }

    switch (body.type) {
      case 'heartbeat':
        if (jobId === undefined) this.rehab(org, node);
        else if (!created) this.heartbeatJob(record, body, jobId, now);
        if (!created && !countHeartbeat(record, this.settings, this.livenessNow())) {
          this.terminate(record, 'dead');
        }
        return;
      case 'aborted':
        this.setJob(record, undefined);
        if (record.state === 'rehab') {
          record.state = 'idle';
          this.onChange?.(org, node);
          this.awaitingAbort.delete(record);
          this.log.debug({ org, node }, 'node out of rehab: available');
        }
        this.endRelease(record);
        if (typeof jobId === 'string') this.listener?.jobMessage(org, node, jobId, body);
        return;
      default:
        if (typeof body.type === 'string' && JOB_MESSAGES.has(body.type)) {
          this.jobMessage(record, body.type, jobId, body, now);
        }
      // Unknown types are ignored.
    }
  }

  /**
   * An `output` message (live output), kept apart from {@link handle}: it never creates a record,
   * moves an address, counts as a heartbeat, sends a node to rehab or changes what the node
   * holds. It goes to the engine only when the node's record says it runs that job (its
   * `ack_run`, or a heartbeat, said so; its `succeeded`/`failed` ended that); anything else
   * (a node not connected, in rehab, without a job id, running another job or none) is dropped,
   * counted in {@link outputDrops} and logged rate-limited at `debug`.
   */
  handleOutput(org: string, node: string, body: MessageBody): void {
    const record = this.get(org, node);
    const jobId = jobIdOf(body);
    let why: OutputDropReason | undefined;
    if (record === undefined) why = 'unknown node';
    else if (record.state === 'rehab') why = 'in rehab';
    else if (typeof jobId !== 'string') why = 'no job id';
    else if (record.job?.jobId !== jobId || record.job.state !== 'running') why = 'not running the job';
    if (why !== undefined || typeof jobId !== 'string') {
      const reason = why ?? 'no job id';
      this.outputDrops[reason]++;
      this.outputLog.write('debug', `${reason}\u0000${org}/${node}`, { org, node, reason }, 'output dropped');
      return;
    }
    this.listener?.jobOutput?.(org, node, jobId, body);
  }

  /**
   * A job message: notes what the node now holds and hands the message to its job. One for a
   * job no state machine knows: an ack (the node holds a job nobody will run or finish) gets
   * the job's abort; a result or a nack is the node saying it is done (a job of a previous
   * server process), so nothing is sent; a message with no valid job id sends it to rehab.
   */
  private jobMessage(
    record: NodeRecord,
    type: string,
    jobId: string | null | undefined,
    body: MessageBody,
    now: number,
  ): void {
    if (typeof jobId === 'string') {
      if (type === 'ack_commit') this.setJob(record, { jobId, state: 'committed' });
      else if (type === 'ack_run') this.setJob(record, { jobId, state: 'running' });
      else if (type !== 'nack_commit' && record.job?.jobId === jobId) this.setJob(record, undefined);
    }
    if (typeof jobId !== 'string') return this.rehab(record.org, record.node);
    if (this.listener?.jobMessage(record.org, record.node, jobId, body) === true) return;
    if (type === 'ack_commit' || type === 'ack_run') this.releaseRecord(record, jobId, now);
  }

  /** A heartbeat of a known node: what it holds, and whether the jobs still want that. */
  private heartbeatJob(record: NodeRecord, body: MessageBody, jobId: string | null, now: number): void {
    const held = heldByHeartbeat(body, jobId);
    this.setJob(record, held);
    // Holding nothing, or another job: a pending release has nothing left to stop.
    if (record.releasing !== undefined && record.releasing !== held?.jobId) this.endRelease(record);
    if (held === undefined || this.listener === undefined) return;
    if (this.listener.jobHeld(record.org, record.node, held.jobId, held.state) === 'release') {
      this.releaseRecord(record, held.jobId, now);
    }
  }

  /**
   * The first message of a new record: `abort` (rehab, as the original), except when a heartbeat
   * says the node holds a job. A job the jobs want stopped gets its own abort; a job they do
   * not know that the node runs (left by a previous server process) is left to finish, and the
   * node gets `ack` to prove the channel works.
   */
  private firstContact(
    record: NodeRecord,
    body: MessageBody,
    jobId: string | null | undefined,
    now: number,
  ): void {
    const held =
      body.type === 'heartbeat' && typeof jobId === 'string' ? heldByHeartbeat(body, jobId) : undefined;
    if (held === undefined || this.listener === undefined) return this.enterRehab(record, now);
    this.setJob(record, held);
    if (this.listener.jobHeld(record.org, record.node, held.jobId, held.state) === 'release') {
      this.releaseRecord(record, held.jobId, now);
    } else {
      this.sender(record, ackMessage());
    }
  }

  private releaseRecord(record: NodeRecord, jobId: string, now: number): void {
    if (record.state === 'rehab' || record.releasing === jobId) return;
    if (record.job !== undefined && record.job.jobId !== jobId) return; // busy with another job
    record.releasing = jobId;
    record.nextAbortAt = now + this.settings.rehab_timer;
    this.awaitingAbort.add(record);
    this.log.debug({ org: record.org, node: record.node, job: jobId }, 'node told to drop a job');
    this.sender(record, abortMessage(jobId));
  }

  /** The release was answered (or is moot): send what waited for it. */
  private endRelease(record: NodeRecord): void {
    if (record.releasing === undefined) return;
    record.releasing = undefined;
    if (record.state !== 'rehab') this.awaitingAbort.delete(record);
    this.flushDeferred(record);
  }

  /** Sends what waited, in order, up to the first message still held back. */
  private flushDeferred(record: NodeRecord): void {
    const deferred = record.deferred;
    if (deferred === undefined) return;
    let sent = 0;
    while (sent < deferred.length && !this.heldBack(record, jobOfMessage(deferred[sent]!))) {
      this.sender(record, deferred[sent++]!);
    }
    if (sent === deferred.length) record.deferred = undefined;
    else if (sent > 0) record.deferred = deferred.slice(sent);
  }

  /** Sets what the node holds, telling {@link LiveNodeTrackerOptions.onChange} when it changed. */
  private setJob(record: NodeRecord, job: HeldJob | undefined): void {
    const old = record.job;
    record.job = job;
    if (old?.jobId !== job?.jobId || old?.state !== job?.state) this.onChange?.(record.org, record.node);
  }

  /** Sends the node to rehab: `abort` now and every `rehab_timer` until it answers `aborted`. */
  rehab(org: string, node: string): void {
    const record = this.get(org, node);
    if (record === undefined || record.state === 'rehab') return;
    this.enterRehab(record, this.now());
  }

  /** Ends a node's record (as if it died). */
  drop(org: string, node: string): void {
    const record = this.get(org, node);
    if (record !== undefined) this.terminate(record, 'dropped');
  }

  listNodeStates(org: string): NodeStateEntry[] {
    const out: NodeStateEntry[] = [];
    for (const r of this.records.values()) if (r.org === org) out.push({ node_name: r.node, ...activity(r) });
    return out.sort((a, b) => (a.node_name < b.node_name ? -1 : a.node_name > b.node_name ? 1 : 0));
  }

  nodeState(org: string, node: string): Omit<NodeState, 'node_name'> {
    const r = this.get(org, node);
    if (r === undefined) return { status: 'offline', availability: 'unavailable' };
    return { status: 'online', ...activity(r) };
  }

  nodeCount(): number {
    return this.records.size;
  }

  /** Advances every record and ends the dead ones (the periodic scan; public for tests). */
  scan(): void {
    const now = this.livenessNow();
    for (const r of [...this.records.values()])
      if (!isAlive(r, this.settings, now)) this.terminate(r, 'dead');
  }

  /** Re-sends `abort` to nodes in rehab or with a release unanswered whose timer is due (public for tests). */
  rehabTick(): void {
    const now = this.now();
    for (const r of this.awaitingAbort) {
      if (r.nextAbortAt <= now) {
        r.nextAbortAt = now + this.settings.rehab_timer;
        if (r.state === 'rehab') this.sender(r, abortMessage());
        else if (r.releasing !== undefined) this.sender(r, abortMessage(r.releasing));
      }
    }
  }

  private create(
    org: string,
    node: string,
    address: Buffer,
    addressKey: string,
    incarnationId: string,
  ): NodeRecord {
    // Another node's record on this address (a reused connection) is ended first.
    const previous = this.byAddress.get(addressKey);
    if (previous !== undefined) this.terminate(previous, 'address reused');
    const record: NodeRecord = {
      org,
      node,
      address,
      addressKey,
      incarnationId,
      state: 'idle',
      job: undefined,
      releasing: undefined,
      votes: undefined,
      deferred: undefined,
      nextAbortAt: 0,
      sendSequence: 0,
      ...initialLiveness(this.settings, this.livenessNow()),
    };
    this.records.set(key(org, node), record);
    this.byAddress.set(addressKey, record);
    this.log.debug({ org, node, incarnation: incarnationId }, 'node connected');
    this.onChange?.(org, node);
    return record;
  }

  private enterRehab(record: NodeRecord, now: number): void {
    record.state = 'rehab';
    record.nextAbortAt = now + this.settings.rehab_timer;
    // The rehab abort stops whatever the node holds: a pending release or vote is moot, and
    // what waited for it goes out behind this abort.
    record.releasing = undefined;
    record.votes = undefined;
    this.awaitingAbort.add(record);
    this.log.debug({ org: record.org, node: record.node }, 'node in rehab');
    this.onChange?.(record.org, record.node);
    this.sender(record, abortMessage());
    this.flushDeferred(record);
  }

  private terminate(record: NodeRecord, reason: EndReason): void {
    if (this.records.get(key(record.org, record.node)) !== record) return;
    this.log.debug({ org: record.org, node: record.node, reason }, 'node down');
    this.records.delete(key(record.org, record.node));
    if (this.byAddress.get(record.addressKey) === record) this.byAddress.delete(record.addressKey);
    this.awaitingAbort.delete(record);
    this.onChange?.(record.org, record.node);
    this.listener?.nodeDown(record.org, record.node);
  }
}
