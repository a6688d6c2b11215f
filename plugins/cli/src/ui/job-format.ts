/**
 * How jobs read on a terminal: the knife-push status words, the job detail block, nodes grouped
 * by state, and knife-push's success rule.
 *
 * @module
 */
import { ux } from '@oclif/core';
import {
  EXIT_CODE_OF_JOB_STATUS,
  EXIT_CODES,
  isFinalJobState,
  NODE_JOB_STATES,
  type Job,
  type JobSummary,
  type NodeResult,
} from '@push-jobs/protocol';
import { renderTable } from './table.js';

/** Node states that count as success for knife-push's exit code (QUIRK kept: intended). */
export const OK_NODE_STATES: readonly string[] = ['succeeded', 'nacked', 'unavailable'];

/**
 * knife-push's rule (spec B.2 step 10): a job succeeded when its status is `complete` and
 * every node is `succeeded`, `nacked` or `unavailable` (so a `skipped` node, or a rollout that
 * ended `max_errors_exceeded`, did not). The statuses come from the protocol's
 * `EXIT_CODE_OF_JOB_STATUS`.
 */
export function jobSucceeded(job: Pick<Job, 'status' | 'nodes'>): boolean {
  if (!isFinalJobState(job.status) || EXIT_CODE_OF_JOB_STATUS[job.status] !== EXIT_CODES.OK) return false;
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
  const label = `${name}:`;
  return `${label.padEnd(16)}${label.length >= 16 ? ' ' : ''}${value}`;
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
  if (job.search !== undefined) lines.push(field('search', job.search));
  if (job.max_concurrency !== undefined) lines.push(field('max_concurrency', String(job.max_concurrency)));
  if (job.max_errors !== undefined) lines.push(field('max_errors', String(job.max_errors)));
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

/** `1.234 s`, `2m05s` or `-`: the time between two ISO 8601 dates (`-` when one is missing). */
export function durationText(start: string | null | undefined, end: string | null | undefined): string {
  if (typeof start !== 'string' || typeof end !== 'string') return '-';
  const ms = Date.parse(end) - Date.parse(start);
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 60_000) return `${(ms / 1000).toFixed(3)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The EXIT cell: the exit status, else the signal, else `-`. */
export function exitText(result: Partial<NodeResult> | undefined): string {
  if (typeof result?.exit_status === 'number') return String(result.exit_status);
  if (typeof result?.signal === 'string') return result.signal;
  return '-';
}

/**
 * The per-node table of a job that reports `results` (ours): NODE, STATUS, EXIT (exit status or
 * signal) and DURATION, `-` where a node did not say (the original client says nothing), in the
 * order of the node states, then by name. Empty for a job without `results`.
 */
export function jobResultLines(job: Job, width?: number): string[] {
  const results = (job.results ?? undefined) as Record<string, Partial<NodeResult> | undefined> | undefined;
  if (results === undefined || typeof results !== 'object') return [];
  const rows = nodesByState(job.nodes).flatMap(([state, names]) =>
    [...names].sort().map((node) => ({ node, state, result: results[node] })),
  );
  if (rows.length === 0) return [];
  return renderTable(
    rows,
    [
      { header: 'NODE', get: (r) => r.node, shrink: true },
      { header: 'STATUS', get: (r) => r.state, style: (t, r) => colorState(t, r.state) },
      { header: 'EXIT', get: (r) => exitText(r.result) },
      { header: 'DURATION', get: (r) => durationText(r.result?.started_at, r.result?.ended_at) },
    ],
    width,
  );
}

/** `Job ID complete: 2 succeeded, 1 failed.`: a job's status and its nodes per state, in one line. */
export function jobSummaryLine(job: Pick<Job, 'id' | 'status' | 'nodes'>): string {
  const groups = nodesByState(job.nodes).map(([state, names]) => `${names.length} ${state}`);
  return `Job ${job.id} ${colorState(job.status, job.status)}${groups.length > 0 ? `: ${groups.join(', ')}` : ''}.`;
}
