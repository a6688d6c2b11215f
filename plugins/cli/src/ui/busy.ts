/**
 * How busy nodes read: `running job ID` (also the STATE column of `push node status`), one line
 * per nacked node for a few, a summary grouped by job for many.
 *
 * @module
 */
import type { Busy } from '../jobs/busy.js';

/** Busy nodes listed one per line up to this many; more are summarised by job. */
export const BUSY_LINES_LIMIT = 5;

/** Jobs listed in the summary; the rest are counted. */
const SUMMARY_JOBS = 5;

/** Node names shown per job in the summary; the rest are counted. */
const SUMMARY_NAMES = 3;

/** A node's activity in words: `running job ID`, `committed job ID`, `idle`, `rehab`. */
export function activityText(state: string, jobId?: string): string {
  return jobId === undefined || jobId === '' ? state : `${state} job ${jobId}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * What to say about nodes that nacked because they were busy: `web1 nacked: busy running job
 * ID` for each of up to {@link BUSY_LINES_LIMIT} nodes; beyond that a header and one line per
 * job (the largest first) with a few of its nodes.
 */
export function busyLines(busy: ReadonlyMap<string, Busy>, limit = BUSY_LINES_LIMIT): string[] {
  const nodes = [...busy.keys()].sort();
  if (nodes.length === 0) return [];
  if (nodes.length <= limit) {
    return nodes.map((n) => {
      const b = busy.get(n)!;
      return `${n} nacked: busy ${activityText(b.state, b.job_id)}`;
    });
  }
  const groups = new Map<string, string[]>();
  for (const n of nodes) {
    const b = busy.get(n)!;
    const key = activityText(b.state, b.job_id);
    const names = groups.get(key) ?? [];
    names.push(n);
    groups.set(key, names);
  }
  const ordered = [...groups.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
  const lines = [`${plural(nodes.length, 'node')} nacked: busy with other jobs`];
  for (const [what, names] of ordered.slice(0, SUMMARY_JOBS)) {
    const shown = names.slice(0, SUMMARY_NAMES).join(', ');
    const more = names.length > SUMMARY_NAMES ? `, ... ${names.length - SUMMARY_NAMES} more` : '';
    lines.push(`  ${what}: ${plural(names.length, 'node')} (${shown}${more})`);
  }
  const rest = ordered.slice(SUMMARY_JOBS);
  if (rest.length > 0) {
    const count = rest.reduce((n, [, names]) => n + names.length, 0);
    lines.push(`  ... ${plural(rest.length, 'more job')} (${plural(count, 'node')})`);
  }
  return lines;
}
