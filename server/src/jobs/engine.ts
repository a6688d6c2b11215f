/**
 * The job engine: one {@link JobRun} per live job, fed by node messages and node deaths from
 * the tracker, kept for `wait_complete_time` after it settles (late feed readers, late
 * messages; a job that failed its quorum early settles once its late votes are in). At start,
 * jobs a previous process of this server left unfinished become `crashed`.
 *
 * A job's path: the route calls {@link PushJobEngine.startJob}; its {@link JobRun} sends
 * `commit` and `run` through the node tracker ({@link JobNodes}, given to the constructor),
 * which hands them to the broker to sign and queue on the command socket. Answers come back
 * the other way: socket → broker → tracker → this engine (the tracker's listener) → the run.
 * Job status changes are logged at `info`, failures of a job at `error`.
 *
 * @module
 */
import { SILENT_LOGGER, errorMessage, type Logger, type MessageBody } from '@push-jobs/protocol/internal';
import type { JobEngine } from './types.js';
import type { JobEventSink } from '../feeds/types.js';
import type { HeldJobVerdict, LiveNodeTracker, NodeEventListener } from '../nodes/tracker.js';
import type { JobRecord, Store } from '../store/types.js';
import { JobRun, type JobInput, type JobRunContext, type StoreRetryPolicy } from './job-run.js';
import type { LiveOutput } from './live-output.js';
import { RateLimitedLog } from '../logging/rate-limited-log.js';

/** `last_updated_by` of jobs crashed by a restart (the original's 32 zeros). */
export const RESTART_UPDATER = '0'.repeat(32);

/** What jobs need of the connected nodes: the node tracker. */
export type JobNodes = Pick<
  LiveNodeTracker,
  'sendTo' | 'release' | 'awaitVote' | 'voteDone' | 'isAvailable' | 'holding' | 'heldJobs'
>;

/** What {@link PushJobEngine} is built from. */
export interface PushJobEngineOptions {
  store: Store;
  /** Where job events go (the feeds). */
  events: JobEventSink;
  /** The connected nodes (the tracker): `commit`, `run` and releases go through it. */
  nodes: JobNodes;
  /** The advertised server name (the `server` field of `commit`). */
  serverName: string;
  /** This server's id, the owner of the jobs it runs. */
  serverId: string;
  votingTimeoutMs: number;
  /** How long a settled job stays live (late feed readers, late messages), ms. */
  waitCompleteMs: number;
  /** Job status changes (`info`), store trouble and job failures. @default silent */
  log?: Logger;
  /** @default () => new Date() */
  now?: () => Date;
  /** @default DEFAULT_STORE_RETRY (job-run.ts) */
  storeRetry?: StoreRetryPolicy;
  /**
   * Live output: where `output` chunks go. With it, the commit of a job with capture carries
   * `output_stream_max_bytes` (its cap), and a node's final output is settled by it. Without
   * it, live output is off. @default none
   */
  output?: LiveOutput;
  /** Called once a job settled (nothing about it changes any more): cluster mode tells the instances holding its nodes. */
  onSettled?: (org: string, jobId: string) => void;
  /**
   * A node a job has `running` that is connected but holds nothing (or another job) this long
   * lost its result (sent to a server that went away as it moved) and is ended `crashed`; checked
   * every half of it. 0 turns the check off. @default 10000
   */
  lostResultMs?: number;
}

/** Why the engine dropped an `output` chunk the tracker passed on. */
export type EngineOutputDrop = 'unknown job' | 'not a node of the job' | 'node not running';

/** The live {@link JobEngine}. */
export class PushJobEngine implements JobEngine, NodeEventListener {
  private readonly runs = new Map<string, JobRun>();
  /** Live runs by `org\0node`, so a node's death reaches only its jobs. */
  private readonly byNode = new Map<string, Set<JobRun>>();
  private readonly ctx: JobRunContext;
  private readonly waitCompleteMs: number;
  private readonly log: Logger;
  private readonly output: LiveOutput | undefined;
  private readonly outputLog: RateLimitedLog;
  private readonly onSettled: ((org: string, jobId: string) => void) | undefined;
  private readonly nodes: JobNodes;
  private readonly lostResultMs: number;
  /** Running nodes seen holding something else, by job, with when that was first seen. */
  private readonly suspects = new Map<string, Map<string, number>>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping = false;
  /** Nodes ended because their result was lost. */
  lostResults = 0;
  /** `output` chunks dropped here, by reason. */
  readonly outputDrops: Record<EngineOutputDrop, number> = {
    'unknown job': 0,
    'not a node of the job': 0,
    'node not running': 0,
  };

  constructor(options: PushJobEngineOptions) {
    const { nodes } = options;
    this.waitCompleteMs = options.waitCompleteMs;
    this.onSettled = options.onSettled;
    this.nodes = nodes;
    this.lostResultMs = options.lostResultMs ?? 10_000;
    this.log = options.log ?? SILENT_LOGGER;
    this.output = options.output;
    this.outputLog = new RateLimitedLog(this.log);
    const output = options.output;
    this.ctx = {
      store: options.store,
      events: options.events,
      serverName: options.serverName,
      serverId: options.serverId,
      votingTimeoutMs: options.votingTimeoutMs,
      now: options.now ?? (() => new Date()),
      log: this.log,
      ...(options.storeRetry === undefined ? {} : { storeRetry: options.storeRetry }),
      send: (org, node, message) => nodes.sendTo(org, node, message),
      release: (org, node, jobId) => nodes.release(org, node, jobId),
      awaitVote: (org, node, jobId) => nodes.awaitVote(org, node, jobId),
      voteDone: (org, node, jobId) => nodes.voteDone(org, node, jobId),
      isAvailable: (org, node) => nodes.isAvailable(org, node),
      holding: (org, node) => nodes.holding(org, node),
      ...(output === undefined
        ? {}
        : {
            outputStreamMaxBytes: output.capBytes,
            settleOutput: (org, jobId, node, final) => output.settle(org, jobId, node, final),
          }),
    };
  }

  /** Starts the periodic check for running nodes whose result was lost (see `lostResultMs`). */
  startSweeps(): void {
    if (this.lostResultMs <= 0 || this.sweepTimer !== undefined) return;
    this.sweepTimer = setInterval(() => void this.sweep(), Math.max(10, this.lostResultMs / 2));
    this.sweepTimer.unref();
  }

  /** Stops the periodic check. */
  stopSweeps(): void {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /**
   * One check (public for tests): each node a running job has `running` that is connected and
   * holds nothing or another job, on two checks at least `lostResultMs` apart, is down for the
   * job. Its result went to a server that went away (it moved meanwhile); the original waited
   * for the run timeout.
   */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (const run of [...this.runs.values()]) {
        // A machine behind its inputs may hold a node's answer in its queue: not judged now.
        if (run.behind) continue;
        const running = run.phase === 'running' ? run.nodesIn('running') : [];
        if (running.length === 0) {
          this.suspects.delete(run.id);
          continue;
        }
        const held = await this.nodes.heldJobs(run.org, running);
        const now = Date.now();
        let seen = this.suspects.get(run.id);
        for (const node of running) {
          const h = held.get(node);
          const lost = h === null || (h !== undefined && h.jobId !== run.id);
          if (!lost) {
            seen?.delete(node);
            continue;
          }
          if (seen === undefined) this.suspects.set(run.id, (seen = new Map()));
          const since = seen.get(node);
          if (since === undefined) seen.set(node, now);
          else if (now - since >= this.lostResultMs) {
            seen.delete(node);
            this.lostResults += 1;
            this.log.warn(
              { job: run.id, org: run.org, node },
              'node holds no longer the job it ran: its result was lost',
            );
            this.deliver(run, { kind: 'lost', node });
          }
        }
      }
    } catch (error) {
      this.log.warn({ err: errorMessage(error) }, 'lost-result check failed');
    } finally {
      this.sweeping = false;
    }
  }

  /** This server's id, the owner of the jobs it runs. */
  get serverId(): string {
    return this.ctx.serverId;
  }

  /**
   * Marks jobs this server left unfinished in a previous process `crashed`; returns their ids.
   * Jobs of other servers sharing the database are theirs.
   */
  recover(): Promise<string[]> {
    return this.ctx.store.crashIncompleteJobs(this.ctx.now(), RESTART_UPDATER, this.ctx.serverId);
  }

  async startJob(job: JobRecord, requestor: string): Promise<void> {
    const run = new JobRun(job, this.ctx);
    this.runs.set(job.id, run);
    for (const node of run.nodes.keys()) {
      const k = `${job.orgName}\u0000${node}`;
      let set = this.byNode.get(k);
      if (set === undefined) this.byNode.set(k, (set = new Set()));
      set.add(run);
    }
    void run.settled.then(() => this.retire(run));
    await run.begin(requestor);
  }

  async abortJob(org: string, id: string, requestor: string): Promise<JobRecord | undefined> {
    const run = this.runs.get(id);
    if (run !== undefined && run.org === org) {
      await run.input({ kind: 'abort', by: requestor });
      return this.ctx.store.getJob(org, id);
    }
    // Not live here (e.g. left `new` by an API-only server): record the abort directly.
    const job = await this.ctx.store.getJob(org, id);
    if (job === undefined) return undefined;
    const orphan = new JobRun(job, this.ctx);
    await orphan.input({ kind: 'abort', by: requestor });
    return this.ctx.store.getJob(org, id);
  }

  liveJobIds(): string[] {
    return [...this.runs.keys()];
  }

  /** The live run of a job, for tests and the status endpoint. */
  run(id: string): JobRun | undefined {
    return this.runs.get(id);
  }

  nodeDown(org: string, node: string): void {
    const runs = this.byNode.get(`${org}\u0000${node}`);
    if (runs === undefined) return;
    for (const run of runs) this.deliver(run, { kind: 'down', node });
  }

  jobMessage(org: string, node: string, jobId: string, body: MessageBody): boolean {
    const run = this.runs.get(jobId);
    if (run === undefined || run.org !== org) return false;
    // A node that is not part of the job is ignored (the original crashed the job).
    if (run.has(node)) this.deliver(run, { kind: 'message', node, body });
    return true;
  }

  /**
   * A chunk of live output: handed to the output collector when the node runs the job (it is
   * `ready` with its `ack_run` on the way to the machine, or `running`), never to the job's
   * machine. Anything else is dropped, counted and logged rate-limited at `debug`.
   */
  jobOutput(org: string, node: string, jobId: string, body: MessageBody): void {
    if (this.output === undefined) return;
    const run = this.runs.get(jobId);
    const state = run?.org === org ? run.nodes.get(node) : undefined;
    let why: EngineOutputDrop | undefined;
    if (run === undefined || run.org !== org) why = 'unknown job';
    else if (state === undefined) why = 'not a node of the job';
    else if (run.phase !== 'running' || (state !== 'ready' && state !== 'running')) why = 'node not running';
    if (why !== undefined) {
      this.outputDrops[why]++;
      this.outputLog.write(
        'debug',
        `${why}\u0000${org}/${node}`,
        { org, node, job: jobId, reason: why },
        'output dropped',
      );
      return;
    }
    this.output.accept(org, jobId, node, body);
  }

  jobHeld(org: string, node: string, jobId: string, state: 'committed' | 'running'): HeldJobVerdict {
    const run = this.runs.get(jobId);
    if (run === undefined || run.org !== org) return state === 'running' ? 'orphan' : 'release';
    return run.wants(node, state) ? 'ok' : 'release';
  }

  nodeReconnected(org: string, node: string): void {
    const runs = this.byNode.get(`${org}\u0000${node}`);
    if (runs === undefined) return;
    for (const run of runs) {
      run.resendOwed(node).catch((error: unknown) => this.unexpected(run, error));
    }
  }

  /**
   * Feeds a node's input to a run without waiting for it. A run handles its own failures (it
   * logs them and ends the job `crashed`, see {@link JobRun.input}); anything still escaping is
   * logged here, never left as an unhandled rejection.
   */
  private deliver(run: JobRun, input: JobInput): void {
    run.input(input).catch((error: unknown) => this.unexpected(run, error));
  }

  private unexpected(run: JobRun, error: unknown): void {
    this.log.error({ job: run.id, org: run.org, err: errorMessage(error) }, 'job input failed');
  }

  private retire(run: JobRun): void {
    this.suspects.delete(run.id);
    this.output?.jobEnded(run.org, run.id);
    this.onSettled?.(run.org, run.id);
    for (const node of run.nodes.keys()) {
      const k = `${run.org}\u0000${node}`;
      const set = this.byNode.get(k);
      set?.delete(run);
      if (set?.size === 0) this.byNode.delete(k);
    }
    const timer = setTimeout(() => this.runs.delete(run.id), this.waitCompleteMs);
    timer.unref();
  }
}
