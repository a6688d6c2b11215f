/**
 * One job's state machine (spec 2): voting → running → complete / quorum_failed / timed_out /
 * aborted, with every node-in-job transition of spec 2.3.
 *
 * Beyond the original: the quorum is decided as soon as it is certain (enough acks, or too many
 * nacks and unavailable nodes to ever reach it). Nodes still voting when the run starts keep
 * their chance: one that acks later is sent `run` at once; the voting timer still ends those
 * that never answer. After an early quorum failure the job is final at once, but it keeps
 * listening to the nodes that had not voted (the "tail"), so their votes are recorded as the
 * original records them: a late nack is `nacked`, a late ack is `was_ready` (and that node gets
 * the job's abort), silence is `unavailable` at the voting timeout.
 *
 * An abort belongs to a job: every abort this machine causes names the job
 * ({@link JobRunContext.release}) and goes only to nodes known to hold it, or that may hold it
 * and are not known to be busy with another job. Nodes that never voted are not sent an abort
 * when the job ends: if they ack later, the late ack earns them one.
 *
 * Events are handled one at a time per job, and every transition is persisted before it is
 * reported (feed events, messages to nodes). A store that is unavailable (database down,
 * failing over, locked) holds the job where it is: the write is retried with back-off until it
 * lands, and inputs wait in order behind it, so the job goes on where it was once the store is
 * back. A write that fails for another reason is retried a few times, logged, and the job goes
 * on in memory: no store failure leaves a job unfinished. A final status in the store is final:
 * when the store refuses a status change because the job already ended (another server ended
 * it), this machine stops and reports the stored status.
 *
 * Any other failure while handling an input (a collaborator that throws, a bug) is logged at
 * `error` and ends the job `crashed`, as a restart would have left it: nodes still voting or
 * running become `crashed`, those that hold the job are told to drop it, and the feed ends with
 * `job_complete` `crashed`. A job never stays unfinished because an input failed, and
 * {@link JobRun.input} never rejects. Status changes are logged at `info`.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  errorMessage,
  isFinalJobState,
  isTerminalNodeJobState,
  runMessage,
  timerDelayMs,
  type BusyWith,
  type CommitBody,
  type FinalJobState,
  type JobEventFields,
  type JobEventName,
  type JobState,
  type MessageBody,
  type NodeJobState,
  type RunBody,
} from '@push-jobs/protocol/internal';
import type { JobEventSink } from '../feeds/types.js';
import { jobCommit } from './commit.js';
import { nodeResultOf } from './node-result.js';
import { Rollout, rolloutLimits } from './rollout.js';
import { eachInTurns } from './turns.js';
import type { JobOutputRecord, JobRecord, NodeRunResult, Store } from '../store/types.js';
import { StoreUnavailableError } from '../store/unavailable.js';

/** Where a job reports status changes, store trouble and failures (a `Logger` of the protocol fits). */
export interface JobRunLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** What a job needs from the rest of the server. */
export interface JobRunContext {
  store: Store;
  events: JobEventSink;
  /** Sends `commit` or `run` to a connected node; false when the node is not connected. */
  send(org: string, node: string, message: CommitBody | RunBody): boolean;
  /**
   * Tells the node to drop job `jobId`: `abort` naming the job, repeated until it answers
   * `aborted`. Not sent to a node known to be busy with another job.
   */
  release(org: string, node: string, jobId: string): void;
  /**
   * The job ended before `node` voted and still expects its vote: other jobs' messages to the
   * node wait until {@link voteDone} (a job posted right after must not be nacked by a node that
   * acks this one first).
   */
  awaitVote(org: string, node: string, jobId: string): void;
  /** The vote expected since {@link awaitVote} arrived, or will not. */
  voteDone(org: string, node: string, jobId: string): void;
  /** Whether the node is connected and not in rehab. */
  isAvailable(org: string, node: string): boolean;
  /** The job the node last said it holds, if any (to say why it nacked). */
  holding(org: string, node: string): { jobId: string; state: 'committed' | 'running' } | undefined;
  /** The advertised server name (the `server` field of `commit`). */
  serverName: string;
  /** This server's id: recorded as the owner of the jobs it runs (see `Store.crashIncompleteJobs`). */
  serverId: string;
  votingTimeoutMs: number;
  now(): Date;
  /** Status changes, store trouble and failures are logged here. @default silent */
  log?: JobRunLog;
  /** Back-off between attempts of a failed store write. @default {@link DEFAULT_STORE_RETRY} */
  storeRetry?: StoreRetryPolicy;
  /** Live output: the per-node cap sent with the commit of a job with capture. @default 0 (off) */
  outputStreamMaxBytes?: number;
  /**
   * Live output: what to store for a node whose final message carried `final` (the streamed
   * output or `final`, see live-output.ts). Never rejects. @default `final`
   */
  settleOutput?(org: string, jobId: string, node: string, final: JobOutputRecord): Promise<JobOutputRecord>;
}

/** How a job retries store writes; see {@link JobRun}. */
export interface StoreRetryPolicy {
  /** First pause, in ms; doubled after each failure up to {@link maxDelayMs}. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Attempts of a write that failed for another reason than an unavailable store. */
  maxAttemptsOnFault: number;
  /** While the store stays unavailable, how often the job logs that it still waits, in ms. */
  reportEveryMs: number;
}

/** The default {@link StoreRetryPolicy}. */
export const DEFAULT_STORE_RETRY: StoreRetryPolicy = {
  initialDelayMs: 50,
  maxDelayMs: 2000,
  maxAttemptsOnFault: 3,
  reportEveryMs: 30_000,
};

const SILENT: JobRunLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Thrown inside the machine when the store says the job already ended elsewhere. */
class JobEndedElsewhere extends Error {}

/**
 * Nodes handled per event-loop turn in loops over a whole job (commits, runs, releases, node
 * downs): a job on 20,000 nodes signs and queues 20,000 messages.
 */
const NODES_PER_TURN = 1000;

/** An input to the state machine: a node message, the node going down, or a timer. */
export type JobInput =
  | { kind: 'message'; node: string; body: MessageBody }
  | { kind: 'down'; node: string }
  /**
   * The node holds no longer this job although it runs it here (its result was lost): down,
   * if it is still `running` when this input's turn comes (an answer queued before it wins).
   */
  | { kind: 'lost'; node: string }
  | { kind: 'voting_timeout' }
  | { kind: 'run_timeout' }
  | { kind: 'abort'; by: string };

/**
 * `tail`: the job ended `quorum_failed` before every node voted; late votes are still recorded
 * until the voting timer fires. `done`: nothing changes any more.
 */
type Phase = 'voting' | 'running' | 'tail' | 'done';

/** Node state changes kept in memory before a write is forced (see JobRun.setNodes). */
const MAX_PENDING_NODE_WRITES = 1000;

/** A running job. */
export class JobRun {
  readonly id: string;
  readonly org: string;
  /** Each node's state in this job (change it through setNodeState only). */
  readonly nodes = new Map<string, NodeJobState>();
  /** How many nodes are in each state. */
  private readonly counts = new Map<NodeJobState, number>();
  phase: Phase = 'voting';
  status: JobState;
  private queue: Promise<void> = Promise.resolve();
  /** Inputs waiting in {@link queue}. */
  private queued = 0;
  /** Node states changed in memory and not yet written (see {@link setNodes}). */
  private readonly pendingNodes = new Map<string, NodeJobState>();
  private votingTimer: NodeJS.Timeout | undefined;
  private runTimer: NodeJS.Timeout | undefined;
  /** Resolves once the job reached a final state. */
  readonly done: Promise<JobState>;
  private resolveDone!: (s: JobState) => void;
  /** Resolves once nothing about the job can change any more (after the tail, if any). */
  readonly settled: Promise<void>;
  private resolveSettled!: () => void;
  /** The `commit` sent to every node (re-sent to a node that reconnects before it voted). */
  private commit: CommitBody | undefined;
  /** Results reported with `succeeded`/`failed`, not yet written (written with node states). */
  private readonly pendingResults = new Map<string, NodeRunResult>();
  /** A rollout's window and error budget (`max_concurrency`, `max_errors`); see rollout.ts. */
  private readonly rollout: Rollout | undefined;

  constructor(
    private readonly job: JobRecord,
    private readonly ctx: JobRunContext,
  ) {
    this.id = job.id;
    this.org = job.orgName;
    this.status = job.status;
    const limits = rolloutLimits(job.options, job.nodes.length);
    this.rollout = limits === undefined ? undefined : new Rollout(limits);
    for (const n of job.nodes) this.setNodeState(n.name, n.status);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.settled = new Promise((resolve) => (this.resolveSettled = resolve));
  }

  /** Starts voting: the `start` event, status `voting`, `commit` to every available node. */
  begin(requestor: string): Promise<void> {
    return this.enqueue(async () => {
      const { job } = this;
      const o = job.options;
      this.emit('start', {
        command: job.command,
        run_timeout: job.runTimeout,
        quorum: job.quorum,
        node_count: job.nodes.length,
        user: requestor,
        ...(o.user === undefined ? {} : { job_user: o.user }),
        ...(o.dir === undefined ? {} : { dir: o.dir }),
        ...(o.env === undefined ? {} : { env: o.env }),
        ...(o.file === undefined ? {} : { file_specified: true as const }),
        capture: o.capture === true,
        ...(job.search === undefined ? {} : { search: job.search }),
        ...this.rolloutFields(),
      });
      await this.setStatus('voting');
      const commit = jobCommit(
        job,
        this.ctx.serverName,
        Math.ceil(this.ctx.votingTimeoutMs / 1000),
        this.ctx.outputStreamMaxBytes,
      );
      this.commit = commit;
      const down: string[] = [];
      await eachInTurns(this.nodes.keys(), NODES_PER_TURN, (node) => {
        if (!this.ctx.isAvailable(this.org, node) || !this.ctx.send(this.org, node, commit)) down.push(node);
      });
      this.votingTimer = setTimeout(
        () => void this.input({ kind: 'voting_timeout' }),
        timerDelayMs(this.ctx.votingTimeoutMs),
      );
      this.votingTimer.unref();
      await eachInTurns(down, NODES_PER_TURN, (node) => this.handle({ kind: 'down', node }));
      await this.evaluate();
    });
  }

  /**
   * Feeds an input to the machine (serialised with every other input of this job). Never
   * rejects: a failure ends the job `crashed` (see the module documentation).
   */
  input(input: JobInput): Promise<void> {
    return this.enqueue(async () => {
      if (this.phase === 'done') return this.afterEnd(input);
      if (this.phase === 'tail') return this.tailInput(input);
      await this.handle(input);
      // handle() may have finished the job.
      if (this.phase === 'voting' || this.phase === 'running') await this.evaluate();
    });
  }

  /**
   * Whether this job still wants `node` to hold it in `agentState` (a node heartbeat names the
   * job): true while the node may be voting for it or running it, false when the node should
   * drop it.
   */
  wants(node: string, agentState: 'committed' | 'running'): boolean {
    const state = this.nodes.get(node);
    switch (this.phase) {
      case 'voting':
        return agentState === 'committed' && (state === 'new' || state === 'ready');
      case 'running':
        // `new`/`ready` with an answer on its way, or running.
        return state === 'new' || state === 'ready' || state === 'running';
      case 'tail':
        // Ended: only an ack on its way from a node that had not voted is still expected.
        return agentState === 'committed' && state === 'new';
      case 'done':
        return false;
    }
  }

  /**
   * The node reconnected from a new address: what was sent to the old one may be lost, so send
   * again what the node is owed, `commit` while it has not voted, `run` when it is ready for a
   * running job. Our agent takes both again without harm (a second `commit` of the job it holds
   * is acked again, a second `run` of the job it runs is ignored).
   */
  resendOwed(node: string): Promise<void> {
    return this.enqueue(async () => {
      const state = this.nodes.get(node);
      if (state === 'new' && (this.phase === 'voting' || this.phase === 'running')) {
        if (this.commit !== undefined) this.ctx.send(this.org, node, this.commit);
      } else if (state === 'ready' && this.phase === 'running') {
        // A rollout's node waiting for its turn is owed nothing yet.
        if (this.rollout === undefined || this.rollout.isStarted(node)) this.sendRun([node]);
      }
    });
  }

  /** Whether `node` is part of this job. */
  has(node: string): boolean {
    return this.nodes.has(node);
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    this.queued++;
    const next = this.queue.then(async () => {
      this.queued--;
      try {
        await fn();
      } catch (error) {
        if (error instanceof JobEndedElsewhere) await this.endedElsewhere();
        else await this.crash(error);
      } finally {
        // Node states are written once the burst of inputs is handled (see setNodes).
        if (this.queued === 0) await this.flushNodes();
      }
    });
    // The last guard: crash() ends the job; a failure past it must still not wedge later inputs
    // (store writes never get here: they are retried, then logged and skipped, see persist).
    this.queue = next.catch((error: unknown) => {
      this.log.error({ job: this.id, org: this.org, err: errorMessage(error) }, 'job input failed');
    });
    return this.queue;
  }

  /**
   * An input failed (not the store: see {@link persist}): logs it and ends the job `crashed`
   * (see the module documentation). After an early quorum failure (the tail) the job's status
   * is final already: the votes still expected are given up, as `crashed`.
   */
  private async crash(error: unknown): Promise<void> {
    const { phase } = this;
    this.log.error(
      { job: this.id, org: this.org, phase, err: errorMessage(error) },
      'job input failed; the job ends crashed',
    );
    if (phase === 'done') return;
    // First, so that nothing below can run the machine again.
    this.phase = 'done';
    clearTimeout(this.votingTimer);
    clearTimeout(this.runTimer);
    try {
      const waiting = this.nodesIn('new');
      for (const n of this.nodesIn('ready', 'running')) this.ctx.release(this.org, n, this.id);
      await this.setNodes(this.nodesIn('new', 'ready', 'running'), 'crashed');
      await this.flushNodes();
      if (phase === 'tail') {
        for (const n of waiting) this.ctx.voteDone(this.org, n, this.id);
        return;
      }
      const { store, serverId } = this.ctx;
      const written = await this.persist('status crashed', () =>
        store.updateJobStatus(this.org, this.id, 'crashed', this.ctx.now(), this.id, serverId),
      );
      let status: FinalJobState = 'crashed';
      if (written === false) {
        // Ended elsewhere meanwhile: the stored status stands.
        status = finalStatusOf(await this.persist('read status', () => store.getJob(this.org, this.id)));
      }
      this.status = status;
      this.log.info({ job: this.id, org: this.org, status }, 'job status changed');
      this.emit('job_complete', { status });
      this.ctx.events.finish(this.org, this.id);
    } catch (again) {
      this.log.error(
        { job: this.id, org: this.org, err: errorMessage(again) },
        'ending the crashed job failed',
      );
    } finally {
      this.resolveDone(this.status);
      this.settle();
    }
  }

  private get log(): JobRunLog {
    return this.ctx.log ?? SILENT;
  }

  /**
   * Runs a store write until it lands: while the store is unavailable, for as long as it takes
   * (logging when it starts, every `reportEveryMs`, and when it ends); after another failure,
   * up to `maxAttemptsOnFault` times. Resolves to the write's result, or `undefined` when it
   * gave up (logged as an error).
   */
  private async persist<T>(what: string, write: () => Promise<T>): Promise<T | undefined> {
    const policy = this.ctx.storeRetry ?? DEFAULT_STORE_RETRY;
    let faults = 0;
    let unavailableSince: number | undefined;
    let reported = 0;
    for (let delay = policy.initialDelayMs; ; delay = Math.min(delay * 2, policy.maxDelayMs)) {
      try {
        const result = await write();
        if (unavailableSince !== undefined) {
          const waitedMs = Date.now() - unavailableSince;
          this.log.info({ job: this.id, write: what, waitedMs }, 'store available again; job goes on');
        }
        return result;
      } catch (error) {
        const now = Date.now();
        if (error instanceof StoreUnavailableError) {
          if (unavailableSince === undefined) {
            unavailableSince = reported = now;
            this.log.warn(
              { job: this.id, write: what, err: errorMessage(error) },
              'store unavailable; retrying',
            );
          } else if (now - reported >= policy.reportEveryMs) {
            reported = now;
            const waitedMs = now - unavailableSince;
            this.log.error(
              { job: this.id, write: what, waitedMs, err: errorMessage(error) },
              'store still unavailable',
            );
          }
        } else if (++faults >= policy.maxAttemptsOnFault) {
          this.log.error(
            { job: this.id, write: what, attempts: faults, err: errorMessage(error) },
            'store write failed; skipped',
          );
          return undefined;
        }
      }
      await sleep(delay, undefined, { ref: false });
    }
  }

  private emit<K extends JobEventName>(event: K, fields: JobEventFields[K]): void {
    this.ctx.events.emit(this.org, this.id, event, fields);
  }

  /**
   * Writes the pending node states, then the job's status (and this server as its owner).
   * @throws JobEndedElsewhere when the store already holds a final status for the job.
   */
  private async setStatus(status: JobState): Promise<void> {
    await this.flushNodes();
    const { store, serverId } = this.ctx;
    const written = await this.persist(`status ${status}`, () =>
      store.updateJobStatus(this.org, this.id, status, this.ctx.now(), this.id, serverId),
    );
    if (written === false) throw new JobEndedElsewhere(this.id);
    this.status = status;
    this.log.info({ job: this.id, org: this.org, status }, 'job status changed');
  }

  /**
   * The store refused a status change: the job already has a final status (another server
   * ended it, e.g. crash recovery of a server that wrongly thought it owned the job). Stop here:
   * drop what the nodes hold, end the feed with the stored status.
   */
  private async endedElsewhere(): Promise<void> {
    if (this.phase === 'done') return;
    const stored = await this.persist('read status', () => this.ctx.store.getJob(this.org, this.id));
    // The store refused the change because the status is final.
    const status = finalStatusOf(stored);
    this.log.warn({ job: this.id, status }, 'job already ended in the store; this server stops running it');
    for (const n of this.nodesIn('ready', 'running')) this.ctx.release(this.org, n, this.id);
    for (const n of this.nodesIn('new')) this.ctx.voteDone(this.org, n, this.id);
    this.pendingNodes.clear();
    clearTimeout(this.runTimer);
    this.status = status;
    this.phase = 'done';
    this.emit('job_complete', { status });
    this.ctx.events.finish(this.org, this.id);
    this.resolveDone(status);
    this.settle();
  }

  /**
   * Changes node states in memory at once and writes them behind: when no more input is queued,
   * before any job status change, or when {@link MAX_PENDING_NODE_WRITES} are waiting. A job on
   * thousands of nodes gets thousands of answers in a burst; one UPDATE per state instead of
   * one per answer keeps the engine ahead of them. The database is up to date whenever the job
   * is idle and whenever its status changes.
   */
  private async setNodes(names: string[], state: NodeJobState): Promise<void> {
    if (names.length === 0) return;
    for (const n of names) {
      this.setNodeState(n, state);
      this.pendingNodes.set(n, state);
    }
    if (this.pendingNodes.size >= MAX_PENDING_NODE_WRITES) await this.flushNodes();
  }

  /**
   * Writes the pending node states, one UPDATE per state. A state leaves the pending set only
   * once written (and only if it did not change meanwhile), so a failed write is not lost.
   */
  private async flushNodes(): Promise<void> {
    if (this.pendingNodes.size === 0) return this.flushResults();
    const byState = new Map<NodeJobState, string[]>();
    for (const [node, state] of this.pendingNodes) {
      const list = byState.get(state);
      if (list === undefined) byState.set(state, [node]);
      else list.push(node);
    }
    const now = this.ctx.now();
    for (const [state, names] of byState) {
      await this.persist(`nodes ${state}`, () =>
        this.ctx.store.updateJobNodes(this.org, this.id, names, state, now),
      );
      // Written, or given up on (logged): either way not retried at every flush.
      for (const n of names) if (this.pendingNodes.get(n) === state) this.pendingNodes.delete(n);
    }
    await this.flushResults();
  }

  /** Writes the node results reported since the last flush (given up on after retries, logged). */
  private async flushResults(): Promise<void> {
    if (this.pendingResults.size === 0) return;
    const results = new Map(this.pendingResults);
    this.pendingResults.clear();
    await this.persist('node results', () => this.ctx.store.updateJobNodeResults(this.org, this.id, results));
  }

  /** The spec's "rehab": the node is told to drop this job (see {@link JobRunContext.release}). */
  private rehab(node: string, withEvent: boolean): void {
    this.ctx.release(this.org, node, this.id);
    if (withEvent) this.emit('rehab', { node });
  }

  /** Sets a node's state in {@link nodes}, keeping {@link counts} in step. */
  private setNodeState(node: string, state: NodeJobState): void {
    const before = this.nodes.get(node);
    if (before !== undefined) this.counts.set(before, (this.counts.get(before) ?? 1) - 1);
    if (this.rollout !== undefined && isTerminalNodeJobState(state) && !isTerminalNodeJobState(before)) {
      this.rollout.ended(node, state === 'succeeded');
    }
    this.counts.set(state, (this.counts.get(state) ?? 0) + 1);
    this.nodes.set(node, state);
  }

  /** How many nodes are in any of `states` (O(1): evaluated after every answer). */
  private countIn(...states: NodeJobState[]): number {
    let n = 0;
    for (const s of states) n += this.counts.get(s) ?? 0;
    return n;
  }

  /** Whether inputs wait in the queue (the machine is behind what the nodes said). */
  get behind(): boolean {
    return this.queued > 0;
  }

  /** The nodes in any of `states`. */
  nodesIn(...states: NodeJobState[]): string[] {
    const out: string[] = [];
    for (const [name, s] of this.nodes) if (states.includes(s)) out.push(name);
    return out;
  }

  /**
   * Stores a node's output (as its UTF-8 bytes: any text survives, NUL included). A write that
   * fails for good is logged and skipped: output never holds up the node's state change.
   */
  private async captureOutput(node: string, body: MessageBody): Promise<void> {
    const { stdout, stderr } = body;
    if (typeof stdout !== 'string' && typeof stderr !== 'string') return;
    const final = {
      stdout: Buffer.from(typeof stdout === 'string' ? stdout : '', 'utf8'),
      stderr: Buffer.from(typeof stderr === 'string' ? stderr : '', 'utf8'),
      stdoutTruncated: body.stdout_truncated === true,
      stderrTruncated: body.stderr_truncated === true,
    };
    // Live output: the streamed output may be the better record (see live-output.ts).
    const settle = this.ctx.settleOutput;
    const output = settle === undefined ? final : await settle(this.org, this.id, node, final);
    await this.persist(`output of ${node}`, () =>
      this.ctx.store.putJobOutput(this.org, this.id, node, output),
    );
  }

  private async handle(input: JobInput): Promise<void> {
    switch (input.kind) {
      case 'voting_timeout':
        return this.votingTimedOut();
      case 'run_timeout':
        return this.runTimedOut();
      case 'abort':
        return this.abort();
      case 'lost':
        if (this.nodes.get(input.node) !== 'running' || this.phase !== 'running') return;
        return this.nodeEvent(input.node, 'running', 'down');
      case 'message':
      case 'down': {
        const state = this.nodes.get(input.node);
        if (state === undefined) return; // not a node of this job: ignored (the original crashed)
        const type = input.kind === 'down' ? 'down' : String(input.body.type);
        if (input.kind === 'message' && (type === 'succeeded' || type === 'failed')) {
          await this.captureOutput(input.node, input.body);
          this.noteResult(input.node, state, input.body);
        }
        return this.nodeEvent(input.node, state, type);
      }
    }
  }

  /** Spec 2.3, both tables, plus `new` nodes while running (our early start). */
  private async nodeEvent(node: string, state: NodeJobState, type: string): Promise<void> {
    if (state === 'new') {
      if (type === 'ack_commit') {
        await this.setNodes([node], 'ready');
        this.emit('quorum_vote', { node, status: 'success' });
        if (this.phase === 'running') await this.readyWhileRunning(node);
      } else if (type === 'nack_commit') {
        await this.setNodes([node], 'nacked');
        this.emit('quorum_vote', { node, status: 'failure', ...this.busyWith(node) });
      } else if (type === 'down') {
        await this.setNodes([node], 'unavailable');
        this.emit('quorum_vote', { node, status: 'down' });
        this.rehab(node, true);
      } else {
        await this.setNodes([node], 'unavailable');
        this.rehab(node, true);
      }
      return;
    }
    if (this.phase === 'voting') {
      if (state === 'ready') {
        if (type === 'ack_commit') {
          this.emit('quorum_vote', { node, status: 'unexpected_commit' });
        } else {
          await this.setNodes([node], 'unavailable');
          if (type === 'nack_commit') this.emit('quorum_vote', { node, status: 'lost_availibility' });
          else if (type === 'down') this.emit('quorum_vote', { node, status: 'down' });
          this.rehab(node, true);
        }
        return;
      }
      // Terminal while voting.
      if (type === 'ack_commit' || type === 'nack_commit') {
        this.rehab(node, true);
        this.emit('quorum_vote', { node, status: 'client_died_while_voting' });
      } else if (type === 'down') {
        this.emit('quorum_vote', { node, status: 'down' });
        this.rehab(node, true);
      } else {
        this.rehab(node, true);
      }
      return;
    }
    // Running.
    // A skipped node answers the abort that released it: expected, nothing to do.
    if (state === 'skipped' && type === 'aborted') return;
    if (isTerminalNodeJobState(state)) {
      this.rehab(node, true);
      this.emit('run_complete', { node, status: 'client_died_while_running' });
      return;
    }
    if (type === 'ack_run') {
      if (state === 'ready') {
        await this.setNodes([node], 'running');
        this.emit('run_start', { node });
      }
      return;
    }
    if (type === 'nack_run') {
      await this.setNodes([node], 'failed');
      this.rehab(node, true);
      this.emit('run_complete', {
        node,
        status: state === 'ready' ? 'run_nacked' : 'run_nacked_while_running',
      });
      return;
    }
    if (state === 'running' && (type === 'succeeded' || type === 'failed')) {
      await this.setNodes([node], type);
      this.emit('run_complete', { node, status: type === 'succeeded' ? 'success' : 'failure' });
      return;
    }
    // succeeded/failed while only ready, down, aborted, a late commit answer: the node crashed.
    await this.setNodes([node], 'crashed');
    this.rehab(node, true);
    this.emit('run_complete', { node, status: 'crashed' });
  }

  /** `{ busy: { job_id, state } }` when the node holds another job (why it nacked), else `{}`. */
  private busyWith(node: string): { busy?: BusyWith } {
    const held = this.ctx.holding(this.org, node);
    if (held === undefined || held.jobId === this.id) return {};
    return { busy: { job_id: held.jobId, state: held.state } };
  }

  private sendRun(nodes: string[]): void {
    for (const node of nodes) this.ctx.send(this.org, node, runMessage(this.id));
  }

  /** Decides the quorum as soon as it is certain, and finishes a run with nothing left to do. */
  private async evaluate(): Promise<void> {
    if (this.phase === 'voting') {
      const ready = this.countIn('ready');
      const undecided = this.countIn('new');
      if (ready >= this.job.quorum) await this.startRunning();
      else if (ready + undecided < this.job.quorum) return this.quorumFailed();
      else return;
    }
    if (this.phase !== 'running') return;
    if (this.rollout !== undefined) await this.advanceRollout(this.rollout);
    if (this.countIn('new', 'ready', 'running') === 0) {
      await this.finish(this.rollout?.spent === true ? 'max_errors_exceeded' : 'complete');
    }
  }

  /** The `start` event's rollout fields: the limits resolved to counts. */
  private rolloutFields(): { max_concurrency?: number; max_errors?: number } {
    const limits = this.rollout?.limits;
    if (limits === undefined) return {};
    return {
      ...(Number.isFinite(limits.window) ? { max_concurrency: limits.window } : {}),
      ...(Number.isFinite(limits.budget) ? { max_errors: limits.budget } : {}),
    };
  }

  /** A node acked after the run began: it runs now, or (a rollout) when its turn comes. */
  private async readyWhileRunning(node: string): Promise<void> {
    if (this.rollout === undefined) return this.sendRun([node]);
    if (!this.rollout.spent) return this.rollout.enqueue(node);
    // The budget is spent: it will never start.
    await this.setNodes([node], 'skipped');
    this.ctx.release(this.org, node, this.id);
  }

  /**
   * A rollout after every input while running: spends the budget once failures exceed it (the
   * waiting nodes are `skipped` and released), else starts waiting nodes while the window has
   * room.
   */
  private async advanceRollout(rollout: Rollout): Promise<void> {
    const ready = (n: string): boolean => this.nodes.get(n) === 'ready';
    if (rollout.checkBudget()) {
      const skipped = rollout.drain(ready);
      await this.setNodes(skipped, 'skipped');
      await eachInTurns(skipped, NODES_PER_TURN, (n) => this.ctx.release(this.org, n, this.id));
      this.log.info(
        { job: this.id, org: this.org, failed: rollout.failures, skipped: skipped.length },
        'error budget spent; no node starts any more',
      );
      this.emit('max_errors_exceeded', {
        failed: rollout.failures,
        max_errors: rollout.limits.budget,
        skipped: skipped.length,
      });
      return;
    }
    const next = rollout.take(ready);
    await eachInTurns(next, NODES_PER_TURN, (node) => this.sendRun([node]));
  }

  /**
   * Keeps the result a `succeeded`/`failed` reports, when the node was running (a result from
   * a node in any other state is a crash, see {@link nodeEvent}). Written with the node states.
   */
  private noteResult(node: string, state: NodeJobState, body: MessageBody): void {
    if (this.phase !== 'running' || state !== 'running') return;
    const result = nodeResultOf(body);
    if (result !== undefined) this.pendingResults.set(node, result);
  }

  private async startRunning(): Promise<void> {
    this.emit('quorum_succeeded', {});
    await this.setStatus('running');
    this.phase = 'running';
    if (this.rollout === undefined) {
      await eachInTurns(this.nodesIn('ready'), NODES_PER_TURN, (node) => this.sendRun([node]));
    } else {
      // The window is filled by evaluate(), which runs next.
      for (const node of this.nodesIn('ready')) this.rollout.enqueue(node);
    }
    // A run_timeout beyond what a timer can wait (24.8 days) is that long.
    this.runTimer = setTimeout(
      () => void this.input({ kind: 'run_timeout' }),
      timerDelayMs(this.job.runTimeout * 1000),
    );
    this.runTimer.unref();
  }

  /**
   * Ready nodes become `was_ready` and get the job's abort (spec 2.4). Nodes that have not voted
   * yet keep their vote (the tail, see {@link tailInput}): they are not sent an abort, since they
   * may be busy with another job (the original client ignores the job id of an abort).
   */
  private async quorumFailed(): Promise<void> {
    const ready = this.nodesIn('ready');
    await this.setNodes(ready, 'was_ready');
    await eachInTurns(ready, NODES_PER_TURN, (n) => this.rehab(n, false));
    const undecided = this.nodesIn('new');
    await eachInTurns(undecided, NODES_PER_TURN, (n) => this.ctx.awaitVote(this.org, n, this.id));
    await this.finish('quorum_failed', undecided.length > 0);
  }

  private async votingTimedOut(): Promise<void> {
    const undecided = this.nodesIn('new');
    await this.setNodes(undecided, 'unavailable');
    await eachInTurns(undecided, NODES_PER_TURN, (node) => {
      this.emit('quorum_vote', { node, status: 'voting_timeout' });
      this.rehab(node, false);
    });
  }

  /**
   * Running nodes are `timed_out` and get the job's abort. Nodes that have not voted are
   * `aborted` without one (they may be busy elsewhere; a late ack earns one, see
   * {@link afterEnd}).
   */
  private async runTimedOut(): Promise<void> {
    if (this.phase !== 'running') return;
    const active = this.nodesIn('ready', 'running');
    await this.setNodes(active, 'timed_out');
    await this.setNodes(this.nodesIn('new'), 'aborted');
    await eachInTurns(active, NODES_PER_TURN, (n) => this.rehab(n, false));
    await this.finish('timed_out');
  }

  /** As {@link runTimedOut}, for a user's abort: every unfinished node is `aborted`. */
  private async abort(): Promise<void> {
    const holding = this.nodesIn('ready', 'running');
    await this.setNodes([...holding, ...this.nodesIn('new')], 'aborted');
    await eachInTurns(holding, NODES_PER_TURN, (n) => this.rehab(n, false));
    await this.finish('aborted');
  }

  /**
   * After an early quorum failure: votes of nodes still `new` are recorded as the original would
   * have (it waited for every vote). No feed events: the feed ended with `job_complete`.
   */
  private async tailInput(input: JobInput): Promise<void> {
    if (input.kind === 'voting_timeout') {
      const undecided = this.nodesIn('new');
      await this.setNodes(undecided, 'unavailable');
      for (const n of undecided) {
        this.ctx.release(this.org, n, this.id);
        this.ctx.voteDone(this.org, n, this.id);
      }
    } else if (input.kind === 'message' || input.kind === 'down') {
      const { node } = input;
      const state = this.nodes.get(node);
      const type = input.kind === 'down' ? 'down' : String(input.body.type);
      if (state !== 'new') return this.afterEnd(input);
      if (type === 'nack_commit') {
        await this.setNodes([node], 'nacked');
      } else if (type === 'ack_commit') {
        await this.setNodes([node], 'was_ready');
        this.ctx.release(this.org, node, this.id);
      } else {
        await this.setNodes([node], 'unavailable');
        if (type !== 'down') this.ctx.release(this.org, node, this.id);
      }
      // After the release (if any): what waited goes out behind its abort.
      this.ctx.voteDone(this.org, node, this.id);
    }
    if (this.countIn('new') === 0) {
      await this.flushNodes();
      this.settle();
    }
  }

  /** After the end, a node that says it holds the job (a late ack) is told to drop it. */
  private afterEnd(input: JobInput): void {
    if (input.kind !== 'message' || !this.nodes.has(input.node)) return;
    const type = input.body.type;
    if (type === 'ack_commit' || type === 'ack_run') this.ctx.release(this.org, input.node, this.id);
  }

  /**
   * Ends the job. With `tail`, votes still expected are recorded until the voting timer fires
   * (its timer stays armed); the job's status and feed are final either way. setStatus writes
   * every node state first, so a settled job is fully persisted.
   */
  private async finish(status: FinalJobState, tail = false): Promise<void> {
    await this.setStatus(status);
    if (!tail) clearTimeout(this.votingTimer);
    clearTimeout(this.runTimer);
    this.phase = tail ? 'tail' : 'done';
    this.emit('job_complete', { status });
    this.ctx.events.finish(this.org, this.id);
    this.resolveDone(status);
    if (!tail) this.settle();
  }

  private settle(): void {
    clearTimeout(this.votingTimer);
    this.phase = 'done';
    this.resolveSettled();
  }
}

/** A job's stored status when it is final; `crashed` when the store cannot say. */
function finalStatusOf(stored: JobRecord | undefined): FinalJobState {
  const status = stored?.status;
  return isFinalJobState(status) ? status : 'crashed';
}
