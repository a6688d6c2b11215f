/**
 * The job engine: one {@link JobRun} per live job, fed by node messages and node deaths from
 * the tracker, kept for `wait_complete_time` after it settles (late feed readers, late
 * messages; a job that failed its quorum early settles once its late votes are in). At start,
 * jobs a previous process of this server left unfinished become `crashed`.
 *
 * @module
 */
import type { MessageBody } from '@push-jobs/protocol';
import type { JobEngine } from '../engine/types.js';
import type { HeldJobVerdict, NodeEventListener } from '../nodes/tracker.js';
import type { JobRecord } from '../store/types.js';
import { JobRun, type JobRunContext } from './job-run.js';

/** `last_updated_by` of jobs crashed by a restart (the original's 32 zeros). */
export const RESTART_UPDATER = '0'.repeat(32);

/** The live {@link JobEngine}. */
export class PushJobEngine implements JobEngine, NodeEventListener {
  private readonly runs = new Map<string, JobRun>();
  /** Live runs by `org\0node`, so a node's death reaches only its jobs. */
  private readonly byNode = new Map<string, Set<JobRun>>();

  constructor(
    private readonly ctx: JobRunContext,
    private readonly waitCompleteMs: number,
  ) {}

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
    for (const run of runs) void run.input({ kind: 'down', node });
  }

  jobMessage(org: string, node: string, jobId: string, body: MessageBody): boolean {
    const run = this.runs.get(jobId);
    if (run === undefined || run.org !== org) return false;
    // A node that is not part of the job is ignored (the original crashed the job).
    if (run.has(node)) void run.input({ kind: 'message', node, body });
    return true;
  }

  jobHeld(org: string, node: string, jobId: string, state: 'committed' | 'running'): HeldJobVerdict {
    const run = this.runs.get(jobId);
    if (run === undefined || run.org !== org) return state === 'running' ? 'orphan' : 'release';
    return run.wants(node, state) ? 'ok' : 'release';
  }

  nodeReconnected(org: string, node: string): void {
    const runs = this.byNode.get(`${org}\u0000${node}`);
    if (runs === undefined) return;
    for (const run of runs) void run.resendOwed(node);
  }

  private retire(run: JobRun): void {
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
