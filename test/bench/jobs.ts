// What the benchmarks share: one no-op job timed from POST to the org feed's job_complete, the
// fleet's availability, a median, a log line.
import type { JobCreation, PushApiClient } from '@push-jobs/protocol';
import { sleep } from '@push-jobs/testing';

/** The median of `xs` (the lower middle of an even count); NaN for none. */
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
};

/** A progress line on stderr (stdout carries the results). */
export const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** How many nodes `node_states` shows available. */
export async function availableCount(api: PushApiClient): Promise<number> {
  const states = await api.listNodeStates();
  return states.filter((s) => s.availability === 'available').length;
}

/** Counts the job's quorum votes and run results that were not a success, by event and status. */
export async function failureOutcomes(api: PushApiClient, id: string): Promise<Record<string, number>> {
  const events = await api.jobEvents(id);
  const outcomes = new Map<string, number>();
  try {
    for await (const e of events) {
      if (e.event === 'job_complete') break;
      const d = e.data as { status?: string };
      if (e.event !== 'quorum_vote' && e.event !== 'run_complete' && e.event !== 'rehab') continue;
      if (d.status === 'success') continue;
      const key = `${e.event}:${d.status ?? ''}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
  } finally {
    events.close();
  }
  return Object.fromEntries(outcomes);
}

/**
 * Runs one no-op job on `nodes` (with `extra` in its body: a rollout's `max_concurrency`);
 * seconds from POST to the org feed's job_complete.
 */
export async function timedJob(
  api: PushApiClient,
  nodes: string[],
  extra: Partial<JobCreation> = {},
): Promise<number> {
  const feed = await api.orgEvents();
  try {
    const start = performance.now();
    const { id } = await api.startJob({ command: 'noop', nodes, run_timeout: 120, ...extra });
    for await (const event of feed) {
      const data = event.data as { job?: string; job_id?: string; status?: string };
      if (event.event === 'job_complete' && (data.job ?? data.job_id) === id) {
        const seconds = (performance.now() - start) / 1000;
        const job = await api.getJob(id);
        const succeeded = (job.nodes as Record<string, string[]>)['succeeded']?.length ?? 0;
        if (job.status !== 'complete' || succeeded !== nodes.length) {
          const counts = Object.entries(job.nodes as Record<string, string[]>).map(
            ([k, v]) => `${k} ${v.length}`,
          );
          // What the job's feed says happened to the nodes that did not succeed (best effort:
          // the counts above are reported even when this fails).
          try {
            counts.push(`events ${JSON.stringify(await failureOutcomes(api, id))}`);
            const unavailable = (job.nodes as Record<string, string[]>)['unavailable'] ?? [];
            if (unavailable.length > 0 && unavailable.length <= 5) {
              const states = await Promise.all(unavailable.map((n) => api.getNodeState(n)));
              counts.push(`unavailable now: ${JSON.stringify(states)}`);
            }
          } catch (err) {
            counts.push(`(no event summary: ${err instanceof Error ? err.message : String(err)})`);
          }
          throw new Error(`job ${id} ended ${job.status}: ${counts.join(', ')} of ${nodes.length}`);
        }
        return seconds;
      }
    }
    throw new Error('the event feed ended before job_complete');
  } finally {
    feed.close();
  }
}

/** Waits until every node is available; how many were not at first, and for how long. */
export async function waitAllAvailable(
  api: PushApiClient,
  nodes: number,
): Promise<{ missing: number; seconds: number }> {
  const start = performance.now();
  const missing = nodes - (await availableCount(api));
  for (let available = nodes - missing; available < nodes; available = await availableCount(api)) {
    if (performance.now() - start > 120_000) throw new Error(`only ${available}/${nodes} nodes came back`);
    await sleep(500);
  }
  return { missing, seconds: (performance.now() - start) / 1000 };
}
