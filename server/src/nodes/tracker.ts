/**
 * The node tracker (spec 3): one record per (org, node) connected over ZeroMQ, indexed by its
 * ROUTER address; `abort` on first contact and rehab until `aborted`; `ack` on an address
 * change; a new incarnation replaces the record; heartbeat liveness with a periodic scan.
 *
 * Scale: no timer per node (one tick drives rehab re-sends, one the liveness scan), and a
 * heartbeat allocates nothing that grows with the fleet.
 *
 * @module
 */
import type { Availability, MessageBody, NodeStatus } from '@push-jobs/protocol';
import type { NodeStateEntry, NodeTracker } from '../engine/types.js';
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
  /** When the next `abort` is due while in rehab, ms. */
  nextAbortAt: number;
  /** Sequence of the messages the server sends this node (1, 2, ...). */
  sendSequence: number;
}

/** Server → node message types. */
export type ServerCommand = 'abort' | 'ack' | 'commit' | 'run';

/** Sends a message to a node (the broker signs and queues it). */
export type NodeSender = (record: NodeRecord, type: ServerCommand, fields?: Record<string, unknown>) => void;

/** What the tracker tells the job engine. */
export interface NodeEventListener {
  /** The node's record ended (dead, or replaced by a new incarnation): jobs treat it as down. */
  nodeDown(org: string, node: string): void;
  /**
   * A job message (`ack_commit`, `nack_commit`, `ack_run`, `nack_run`, `succeeded`, `failed`,
   * or `aborted` with a job id). Returns false when no live job has that id.
   */
  jobMessage(org: string, node: string, jobId: string, body: MessageBody): boolean;
  /** Whether a live job has this id (heartbeats naming a dead job send the node to rehab). */
  jobExists(jobId: string): boolean;
}

/** Settings, named as the original's. */
export interface TrackerSettings extends LivenessSettings {
  /** Scan period in heartbeat intervals. */
  detect_offline_nodes_interval: number;
  /** ms between `abort`s in rehab. */
  rehab_timer: number;
}

const JOB_MESSAGES = new Set(['ack_commit', 'nack_commit', 'ack_run', 'nack_run', 'succeeded', 'failed']);
const MAX_JOB_ID_BYTES = 64;

function jobIdOf(body: MessageBody): string | null | undefined {
  const v = body.job_id;
  if (v === undefined || v === null || v === 'null') return null;
  if (typeof v !== 'string' || Buffer.byteLength(v) > MAX_JOB_ID_BYTES) return undefined; // invalid
  return v;
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
  private readonly inRehab = new Set<NodeRecord>();
  private sender: NodeSender = () => undefined;
  private listener: NodeEventListener | undefined;
  private timers: NodeJS.Timeout[] = [];

  /**
   * @param receiveLag how long the command socket has been reading a backlog, ms (0 when it is
   *   caught up); see {@link livenessNow}. @default always 0
   */
  constructor(
    private readonly settings: TrackerSettings,
    private readonly now: () => number = Date.now,
    private readonly receiveLag: () => number = () => 0,
  ) {}

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

  /** Where outgoing messages go. */
  setSender(sender: NodeSender): void {
    this.sender = sender;
  }

  /** Who hears about node deaths and job messages. */
  setListener(listener: NodeEventListener): void {
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

  /** Whether the node is connected and idle (usable for a job). */
  isAvailable(org: string, node: string): boolean {
    return this.get(org, node)?.state === 'idle';
  }

  /**
   * Handles a verified message from `org`/`node` arriving on `address` (spec 3.5): creates the
   * record on first contact, follows address changes, counts heartbeats, drives rehab, and
   * forwards job messages.
   */
  handle(org: string, node: string, address: Buffer, addressKey: string, body: MessageBody): void {
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
      this.terminate(record);
      record = undefined;
    }
    const created = record === undefined;
    if (record === undefined) {
      // The new liveness record counts this message as its first heartbeat.
      record = this.create(org, node, address, addressKey, incarnation, now);
    } else if (record.addressKey !== addressKey) {
      this.byAddress.delete(record.addressKey);
      record.address = address;
      record.addressKey = addressKey;
      this.byAddress.set(addressKey, record);
      this.sender(record, 'ack');
    }

    const jobId = jobIdOf(body);
    switch (body.type) {
      case 'heartbeat':
        if (jobId !== null && (jobId === undefined || !this.listener?.jobExists(jobId)))
          this.rehab(org, node);
        if (!created && !countHeartbeat(record, this.settings, this.livenessNow())) this.terminate(record);
        return;
      case 'aborted':
        if (record.state === 'rehab') {
          record.state = 'idle';
          this.inRehab.delete(record);
        }
        if (typeof jobId === 'string') this.listener?.jobMessage(org, node, jobId, body);
        return;
      default:
        if (typeof body.type === 'string' && JOB_MESSAGES.has(body.type)) {
          const delivered =
            typeof jobId === 'string' && this.listener?.jobMessage(org, node, jobId, body) === true;
          if (!delivered) this.rehab(org, node);
        }
      // Unknown types are ignored.
    }
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
    if (record !== undefined) this.terminate(record);
  }

  listNodeStates(org: string): NodeStateEntry[] {
    const out: NodeStateEntry[] = [];
    for (const r of this.records.values()) {
      if (r.org === org)
        out.push({ node_name: r.node, availability: r.state === 'idle' ? 'available' : 'unavailable' });
    }
    return out.sort((a, b) => (a.node_name < b.node_name ? -1 : a.node_name > b.node_name ? 1 : 0));
  }

  nodeState(org: string, node: string): { status: NodeStatus; availability: Availability } {
    const r = this.get(org, node);
    if (r === undefined) return { status: 'offline', availability: 'unavailable' };
    return { status: 'online', availability: r.state === 'idle' ? 'available' : 'unavailable' };
  }

  nodeCount(): number {
    return this.records.size;
  }

  /** Advances every record and ends the dead ones (the periodic scan; public for tests). */
  scan(): void {
    const now = this.livenessNow();
    for (const r of [...this.records.values()]) if (!isAlive(r, this.settings, now)) this.terminate(r);
  }

  /** Re-sends `abort` to nodes in rehab whose timer is due (public for tests). */
  rehabTick(): void {
    const now = this.now();
    for (const r of this.inRehab) {
      if (r.nextAbortAt <= now) {
        r.nextAbortAt = now + this.settings.rehab_timer;
        this.sender(r, 'abort');
      }
    }
  }

  private create(
    org: string,
    node: string,
    address: Buffer,
    addressKey: string,
    incarnationId: string,
    now: number,
  ): NodeRecord {
    // Another node's record on this address (a reused connection) is ended first.
    const previous = this.byAddress.get(addressKey);
    if (previous !== undefined) this.terminate(previous);
    const record: NodeRecord = {
      org,
      node,
      address,
      addressKey,
      incarnationId,
      state: 'rehab',
      nextAbortAt: 0,
      sendSequence: 0,
      ...initialLiveness(this.settings, this.livenessNow()),
    };
    this.records.set(key(org, node), record);
    this.byAddress.set(addressKey, record);
    this.enterRehab(record, now);
    return record;
  }

  private enterRehab(record: NodeRecord, now: number): void {
    record.state = 'rehab';
    record.nextAbortAt = now + this.settings.rehab_timer;
    this.inRehab.add(record);
    this.sender(record, 'abort');
  }

  private terminate(record: NodeRecord): void {
    if (this.records.get(key(record.org, record.node)) !== record) return;
    this.records.delete(key(record.org, record.node));
    if (this.byAddress.get(record.addressKey) === record) this.byAddress.delete(record.addressKey);
    this.inRehab.delete(record);
    this.listener?.nodeDown(record.org, record.node);
  }
}
