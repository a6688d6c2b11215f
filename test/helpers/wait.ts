// Polling helpers for the end-to-end tests (deadlines, never timed assertions).
import type { Job, PushApiClient } from '@push-jobs/protocol';

export const FINAL_JOB_STATES = new Set(['complete', 'quorum_failed', 'aborted', 'timed_out', 'crashed']);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` returns true (it may be async). */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Waits until the job reaches a final state and returns it. */
export async function waitForJob(api: PushApiClient, id: string, timeoutMs = 30_000): Promise<Job> {
  let job: Job | undefined;
  await until(
    async () => {
      job = await api.getJob(id);
      return FINAL_JOB_STATES.has(job.status);
    },
    `job ${id} to finish`,
    timeoutMs,
  );
  return job!;
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
    timeoutMs,
  );
}

/** True when a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
