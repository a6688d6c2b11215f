/**
 * How jobs read on a terminal: the knife-push status words, the job detail block, nodes grouped
 * by state, and knife-push's success rule.
 *
 * @module
 */
import { ux } from '@oclif/core';
import { NODE_JOB_STATES, type Job, type JobSummary } from '@push-jobs/protocol';

/** Node states that count as success for knife-push's exit code (QUIRK kept: intended). */
export const OK_NODE_STATES: readonly string[] = ['succeeded', 'nacked', 'unavailable'];

/**
 * knife-push's rule (spec B.2 step 10): a job succeeded when its status is `complete` and
 * every node is `succeeded`, `nacked` or `unavailable`.
 */
export function jobSucceeded(job: Pick<Job, 'status' | 'nodes'>): boolean {
  if (job.status !== 'complete') return false;
  return Object.entries(job.nodes ?? {}).every(
    ([state, nodes]) => OK_NODE_STATES.includes(state) || (nodes ?? []).length === 0,
  );
}

/**
 * knife-push's status words: `Initialized.`, `Voting.`, `Running.`, and for a finished job
 * the status with its first letter capitalised and a full stop (`Complete.`, `Quorum_failed.`).
 */
export function statusText(status: string): string {
  if (status === 'new') return 'Initialized.';
  return `${status.charAt(0).toUpperCase()}${status.slice(1)}.`;
}

/** The colour of a job or node state (or node activity: idle, committed, rehab) on a terminal; none for `-`. */
export function stateColor(state: string): string | undefined {
  if (state === '-') return undefined;
  if (
    state === 'complete' ||
    state === 'succeeded' ||
    state === 'available' ||
    state === 'online' ||
    state === 'idle'
  )
    return 'green';
  if (
    state === 'running' ||
    state === 'voting' ||
    state === 'ready' ||
    state === 'new' ||
    state === 'committed'
  )
    return 'cyan';
  if (
    state === 'nacked' ||
    state === 'unavailable' ||
    state === 'was_ready' ||
    state === 'offline' ||
    state === 'rehab'
  )
    return 'yellow';
  return 'red';
}

/** `text` coloured for `state` (only where colour is supported). */
export function colorState(text: string, state: string): string {
  return ux.colorize(stateColor(state), text);
}

/** The nodes of a job as `[state, names]`, in the order of {@link NODE_JOB_STATES}, empty states left out. */
export function nodesByState(nodes: Job['nodes'] | undefined): [string, string[]][] {
  const map = (nodes ?? {}) as Record<string, string[] | undefined>;
  const known: string[] = [...NODE_JOB_STATES];
  const states = [
    ...known.filter((s) => s in map),
    ...Object.keys(map)
      .filter((s) => !known.includes(s))
      .sort(),
  ];
  return states
    .map((s) => [s, [...(map[s] ?? [])]] as [string, string[]])
    .filter(([, names]) => names.length > 0);
}

/** How many nodes a job has. */
export function nodeCount(nodes: Job['nodes'] | undefined): number {
  return nodesByState(nodes).reduce((n, [, names]) => n + names.length, 0);
}

/** An RFC 1123 date as `YYYY-MM-DD HH:MM:SS` (UTC); anything unparseable as given. */
export function shortDate(text: string): string {
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) return text;
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

function field(name: string, value: string): string {
  return `${`${name}:`.padEnd(16)}${value}`;
}

/** The detail block of `push jobs status` (and of a finished `push jobs start`). */
export function jobDetailLines(job: Job | JobSummary): string[] {
  const lines = [
    field('id', job.id),
    field('command', job.command),
    field('status', colorState(job.status, job.status)),
  ];
  const nodes = 'nodes' in job ? job.nodes : undefined;
  const count = nodeCount(nodes);
  if (job.quorum !== undefined) {
    lines.push(
      field(
        'quorum',
        count > 0 ? `${job.quorum} of ${count} node${count === 1 ? '' : 's'}` : String(job.quorum),
      ),
    );
  }
  lines.push(field('run_timeout', `${job.run_timeout} s`));
  if (job.user !== undefined) lines.push(field('user', job.user));
  if (job.dir !== undefined) lines.push(field('dir', job.dir));
  if (job.env !== undefined && Object.keys(job.env).length > 0)
    lines.push(field('env', JSON.stringify(job.env)));
  if (job.capture_output === true) lines.push(field('capture_output', 'true'));
  if (job.file_specified === true) lines.push(field('file_specified', 'true'));
  lines.push(field('created_at', job.created_at), field('updated_at', job.updated_at));
  if (nodes !== undefined) {
    lines.push(`nodes (${count}):`);
    const groups = nodesByState(nodes);
    const width = Math.max(0, ...groups.map(([s, n]) => `${s} (${n.length}):`.length));
    for (const [state, names] of groups) {
      lines.push(`  ${colorState(`${state} (${names.length}):`.padEnd(width), state)} ${names.join(', ')}`);
    }
  }
  return lines;
}
