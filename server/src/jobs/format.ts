/**
 * The job JSON of the REST API (spec 1.6 and 1.7): fields in the original's order, options only
 * when set, RFC 1123 timestamps. We also return `quorum`, which the original left out.
 *
 * @module
 */
import { formatHttpDate, type Job, type JobSummary } from '@push-jobs/protocol';
import type { JobRecord, JobSummaryRecord } from '../store/types.js';

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
  return out as JobSummary;
}

/** A job with its nodes grouped by status, as `GET jobs/ID` returns it. */
export function formatJob(job: JobRecord, opts: { includeFile?: boolean } = {}): Job {
  const nodes: Record<string, string[]> = {};
  for (const n of job.nodes) (nodes[n.status] ??= []).push(n.name);
  for (const list of Object.values(nodes)) list.sort();
  return { ...formatJobSummary(job, opts), nodes } as Job;
}
