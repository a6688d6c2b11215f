// Waits of the end-to-end tests on the REST API (deadlines, never timed assertions), on the
// shared polling of @push-jobs/testing; they poll the server every 50 ms.
import { isFinalJobState, type Job, type PushApiClient } from '@push-jobs/protocol';
import { until, waitForValue } from '@push-jobs/testing';

/** Waits until the job reaches a final state and returns it. */
export async function waitForJob(api: PushApiClient, id: string, timeoutMs = 30_000): Promise<Job> {
  return waitForValue(
    `job ${id} to finish`,
    async () => {
      const job = await api.getJob(id);
      return isFinalJobState(job.status) ? job : undefined;
    },
    { timeoutMs, intervalMs: 50 },
  );
}

/** A job's nodes by their state in it (`{ succeeded: ['web1'], ... }`). */
export function nodesByState(job: Job): Record<string, string[]> {
  return job.nodes as Record<string, string[]>;
}

/** Waits until the job reaches a final state; returns it and its nodes by state. */
export async function waitForJobNodes(
  api: PushApiClient,
  id: string,
  timeoutMs?: number,
): Promise<{ job: Job; nodes: Record<string, string[]> }> {
  const job = await waitForJob(api, id, timeoutMs);
  return { job, nodes: nodesByState(job) };
}

/** Waits until every node in `nodes` has the availability wanted. */
export async function waitForAvailability(
  api: PushApiClient,
  nodes: readonly string[],
  availability: 'available' | 'unavailable',
  timeoutMs = 20_000,
): Promise<void> {
  await until(
    async () => {
      const states = await api.listNodeStates();
      const of = new Map(states.map((s) => [s.node_name, s.availability]));
      return nodes.every((n) => (of.get(n) ?? 'unavailable') === availability);
    },
    `${nodes.join(', ')} ${availability}`,
    { timeoutMs, intervalMs: 50 },
  );
}
