import { Flags } from '@oclif/core';
import { JOB_STATES, type JobList } from '@push-jobs/protocol';
import { BaseCommand } from '../../../base-command.js';
import { colorState, shortDate } from '../../../ui/job-format.js';
import { renderTable } from '../../../ui/table.js';

/** Newest first: by `created_at`, ties in reverse server order (the server lists oldest first). */
function newestFirst(jobs: JobList, serverNewestFirst: boolean): JobList {
  const ordered = serverNewestFirst ? [...jobs] : [...jobs].reverse();
  const time = (s: string): number => {
    const t = Date.parse(s);
    return Number.isFinite(t) ? t : 0;
  };
  return ordered
    .map((job, index) => ({ job, index }))
    .sort((a, b) => time(b.job.created_at) - time(a.job.created_at) || a.index - b.index)
    .map(({ job }) => job);
}

export default class PushJobsList extends BaseCommand<typeof PushJobsList> {
  static override description =
    'Lists the jobs of the organization, newest first, optionally only those of one status.';

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --status running',
    '<%= config.bin %> <%= command.id %> --limit 10 --json',
  ];

  static override flags = {
    limit: Flags.integer({ min: 1, summary: 'Show at most this many jobs (the newest).' }),
    status: Flags.option({ options: JOB_STATES, summary: 'Only jobs with this status.' })(),
  };

  static override summary = 'List jobs (knife job list).';

  override async run(): Promise<JobList> {
    const { limit, status } = this.flags;
    const page = await this.client().listJobs({ status, limit });
    // An original server ignores ?status and ?limit: filter and cut here too.
    let jobs = page.jobs.filter((j) => status === undefined || j.status === status);
    jobs = newestFirst(jobs, limit !== undefined);
    if (limit !== undefined) jobs = jobs.slice(0, limit);
    if (jobs.length === 0) {
      this.log(status === undefined ? 'No jobs.' : `No jobs with status ${status}.`);
      return jobs;
    }
    const lines = renderTable(
      jobs,
      [
        { header: 'ID', get: (j) => j.id },
        { header: 'STATUS', get: (j) => j.status, style: (text, j) => colorState(text, j.status) },
        { header: 'CREATED', get: (j) => shortDate(j.created_at) },
        { header: 'COMMAND', get: (j) => j.command, shrink: true },
      ],
      this.terminalWidth(),
    );
    for (const line of lines) this.log(line);
    if (page.total !== undefined && page.total > jobs.length) {
      this.log(`(${jobs.length} of ${page.total} jobs; raise --limit to see more)`);
    }
    return jobs;
  }
}
