/**
 * The job engine as the routes see it in cluster mode: jobs posted here run here (this instance
 * owns them); an abort of a job another live instance owns is relayed to that owner and answered
 * once the job's stored status is final (or after {@link ABORT_WAIT_MS}, with the job as it is).
 * A draining instance takes no new job (503: the load balancer sends the request elsewhere).
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isFinalJobState } from '@push-jobs/protocol/internal';
import type { PushJobEngine } from '../jobs/engine.js';
import type { JobEngine } from '../jobs/types.js';
import type { JobRecord, Store } from '../store/types.js';
import type { RelayOutbox } from './relay.js';

/** How long an abort relayed to the job's owner is waited for, ms. */
export const ABORT_WAIT_MS = 10_000;
/** How often the stored status is read while waiting, ms. */
const ABORT_POLL_MS = 100;

/** Thrown by {@link ClusterJobs.startJob} on a draining instance. */
export class InstanceDrainingError extends Error {
  readonly statusCode = 503;
}

/** The routes' {@link JobEngine} in cluster mode. */
export class ClusterJobs implements JobEngine {
  constructor(
    private readonly engine: PushJobEngine,
    private readonly store: Store,
    private readonly outbox: RelayOutbox,
    private readonly isLive: (instance: string) => boolean,
    private readonly draining: () => boolean,
    /** The instance that owns a job (the `owner` column). */
    private readonly ownerOf: (id: string) => Promise<string | undefined>,
  ) {}

  get serverId(): string {
    return this.engine.serverId;
  }

  /** Whether this instance takes new jobs (checked by the route before it stores one). */
  acceptsJobs(): boolean {
    return !this.draining();
  }

  startJob(job: JobRecord, requestor: string): Promise<void> {
    return this.engine.startJob(job, requestor);
  }

  async abortJob(org: string, id: string, requestor: string): Promise<JobRecord | undefined> {
    if (this.engine.run(id)?.org === org) return this.engine.abortJob(org, id, requestor);
    const job = await this.store.getJob(org, id);
    if (job === undefined) return undefined;
    const owner = await this.ownerOf(id);
    if (
      isFinalJobState(job.status) ||
      owner === undefined ||
      owner === this.serverId ||
      !this.isLive(owner)
    ) {
      // No live instance runs it: recorded here (as a single server does for an orphan).
      return this.engine.abortJob(org, id, requestor);
    }
    this.outbox.send(owner, { t: 'abort', o: org, j: id, by: requestor });
    const deadline = Date.now() + ABORT_WAIT_MS;
    let current: JobRecord | undefined = job;
    while (current !== undefined && !isFinalJobState(current.status) && Date.now() < deadline) {
      await sleep(ABORT_POLL_MS);
      current = await this.store.getJob(org, id);
    }
    return current;
  }

  liveJobIds(): string[] {
    return this.engine.liveJobIds();
  }
}
