/**
 * The job JSON of the REST API (spec 1.6 and 1.7): fields in the original's order, options only
 * when set, RFC 1123 timestamps. We also return `quorum`, which the original left out.
 *
 * @module
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { formatHttpDate, type Job, type JobSummary, type NodeResult } from '@push-jobs/protocol/internal';
import type { JobNodeRecord, JobRecord, JobSummaryRecord } from '../store/types.js';
import { eachInTurns } from './turns.js';

/** A job as `GET jobs` lists it. */
export function formatJobSummary(job: JobSummaryRecord, opts: { includeFile?: boolean } = {}): JobSummary {
  const out: Record<string, unknown> = {
    id: job.id,
    command: job.command,
    status: job.status,
    run_timeout: job.runTimeout,
    quorum: job.quorum,
    created_at: formatHttpDate(job.createdAt),
    updated_at: formatHttpDate(job.updatedAt),
  };
  const o = job.options;
  if (o.user !== undefined) out.user = o.user;
  if (o.dir !== undefined) out.dir = o.dir;
  if (o.env !== undefined) out.env = o.env;
  if (o.capture === true) out.capture_output = true;
  if (o.file !== undefined) {
    if (opts.includeFile === true) out.file = o.file;
    else out.file_specified = true;
  }
  if (job.search !== undefined) out.search = job.search;
  if (o.maxConcurrency !== undefined) out.max_concurrency = o.maxConcurrency;
  if (o.maxErrors !== undefined) out.max_errors = o.maxErrors;
  return out as JobSummary;
}

/** Nodes handled between two yields to the event loop when a job document is built. */
export const FORMAT_CHUNK_NODES = 2_000;

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A page of a job's nodes: `offset` nodes skipped and at most `limit` kept, in name order. */
export interface NodesPage {
  offset: number;
  limit: number;
}

/**
 * A job with its nodes grouped by status, as `GET jobs/ID` returns it, names sorted in each
 * group. With `page`, only that slice of the job's nodes (sorted by name) is grouped.
 *
 * Big jobs do not block the event loop: the nodes are grouped {@link FORMAT_CHUNK_NODES} at a
 * time with a yield between chunks, and sorted only when the store's order is not already
 * ours (a check in one pass).
 */
export async function formatJobChunked(
  job: JobRecord,
  opts: { includeFile?: boolean; page?: NodesPage } = {},
): Promise<Job> {
  const sorted = isSortedByName(job.nodes);
  if (!sorted && job.nodes.length > FORMAT_CHUNK_NODES) await nextTurn();
  const all = sorted ? job.nodes : sortByName(job.nodes);
  const list =
    opts.page === undefined ? all : all.slice(opts.page.offset, opts.page.offset + opts.page.limit);
  const groups = new StatusGroups();
  await eachInTurns(list, FORMAT_CHUNK_NODES, groups.add);
  return { ...formatJobSummary(job, opts), nodes: groups.nodes, ...groups.resultsField() } as Job;
}

/**
 * {@link formatJobChunked} in one go, for callers that cannot wait (a feed's summary event);
 * linear when the store's order is ours.
 */
export function formatJob(job: JobRecord, opts: { includeFile?: boolean } = {}): Job {
  const groups = new StatusGroups();
  for (const n of inNameOrder(job.nodes)) groups.add(n);
  return { ...formatJobSummary(job, opts), nodes: groups.nodes, ...groups.resultsField() } as Job;
}

/** Statuses whose nodes have an entry in `results` (they reported how the command ended). */
const REPORTED: ReadonlySet<string> = new Set(['succeeded', 'failed']);

/**
 * Node names grouped by status, in the order they are added, and the `results` of the nodes
 * that reported (null fields for a node that did not say, as the original client).
 */
class StatusGroups {
  readonly nodes: Record<string, string[]> = {};
  private readonly results: Record<string, NodeResult> = {};
  private hasResults = false;
  readonly add = (n: JobNodeRecord): void => {
    (this.nodes[n.status] ??= []).push(n.name);
    if (n.result === undefined && !REPORTED.has(n.status)) return;
    const r = n.result;
    this.results[n.name] = {
      exit_status: r?.exitStatus ?? null,
      signal: r?.signal ?? null,
      started_at: r?.startedAt?.toISOString() ?? null,
      ended_at: r?.endedAt?.toISOString() ?? null,
    };
    this.hasResults = true;
  };

  /** `{ results }` when any node reported, else nothing (a job that ran nowhere has none). */
  resultsField(): { results?: Record<string, NodeResult> } {
    return this.hasResults ? { results: this.results } : {};
  }
}

/** `nodes` sorted by name (code units), copied only when the store's order is not already ours. */
function inNameOrder<T extends { name: string }>(nodes: readonly T[]): readonly T[] {
  return isSortedByName(nodes) ? nodes : sortByName(nodes);
}

function sortByName<T extends { name: string }>(nodes: readonly T[]): T[] {
  return [...nodes].sort((a, b) => byCodeUnits(a.name, b.name));
}

function isSortedByName(nodes: readonly { name: string }[]): boolean {
  for (let i = 1; i < nodes.length; i++) if (nodes[i - 1]!.name > nodes[i]!.name) return false;
  return true;
}
