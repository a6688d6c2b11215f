/**
 * The stand-in engine and tracker used when no ZeroMQ broker runs (API-only tests, tools):
 * jobs stay `new` until aborted, and no node is ever connected.
 *
 * @module
 */
import { isFinalJobState, isTerminalNodeJobState } from '@push-jobs/protocol/internal';
import type { JobRecord, Store } from '../store/types.js';
import type { JobEngine, NodeStateEntry, NodeTracker } from './types.js';

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

/** A {@link NodeTracker} with no nodes. */
export class NoNodes implements NodeTracker {
  listNodeStates(): NodeStateEntry[] {
    return [];
  }

  nodeState(): { status: 'offline'; availability: 'unavailable' } {
    return { status: 'offline', availability: 'unavailable' };
  }

  nodeCount(): number {
    return 0;
  }
}
