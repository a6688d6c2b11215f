/**
 * The stand-in job engine used when no ZeroMQ broker runs (API-only tests, tools): jobs stay
 * `new` until aborted.
 *
 * @module
 */
import { isFinalJobState, isTerminalNodeJobState } from '@push-jobs/protocol/internal';
import type { JobRecord, Store } from '../store/types.js';
import type { JobEngine } from './types.js';

/** A {@link JobEngine} that only records aborts. */
export class IdleEngine implements JobEngine {
  constructor(private readonly store: Store) {}

  async startJob(): Promise<void> {
    // Nothing runs jobs here; they stay `new`.
  }

  async abortJob(org: string, id: string, requestor: string): Promise<JobRecord | undefined> {
    const job = await this.store.getJob(org, id);
    if (job === undefined || isFinalJobState(job.status)) return job;
    const now = new Date();
    const open = job.nodes.filter((n) => !isTerminalNodeJobState(n.status)).map((n) => n.name);
    if (open.length > 0) await this.store.updateJobNodes(org, id, open, 'aborted', now);
    await this.store.updateJobStatus(org, id, 'aborted', now, requestor);
    return this.store.getJob(org, id);
  }

  liveJobIds(): string[] {
    return [];
  }
}
