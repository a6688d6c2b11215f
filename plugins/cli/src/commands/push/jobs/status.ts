import { Args } from '@oclif/core';
import type { Job } from '@push-jobs/protocol';
import { BaseCommand } from '../../../base-command.js';
import { jobDetailLines, jobResultLines } from '../../../ui/job-format.js';

export default class PushJobsStatus extends BaseCommand<typeof PushJobsStatus> {
  static override args = {
    id: Args.string({ description: 'Job ID.', required: true }),
  };

  static override description = `Shows a job: its command, status, quorum, options (with the search its nodes were chosen by, and a rollout's max_concurrency and max_errors, when set), and its nodes grouped by state.

From a server that reports how the command ended on each node (results), a table follows: NODE, STATUS, EXIT (the exit status, or the signal that ended the command) and DURATION (from the node's own start and end times); "-" where a node did not say (the original Ruby client reports neither, and nodes that never ran have none).

A rollout stopped by its error budget has status max_errors_exceeded; its nodes that never started are skipped. --json prints the job as the server sent it.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> 5d6d1f6e2a8c4a4e9b0c1d2e3f405162',
    '<%= config.bin %> <%= command.id %> JOB_ID --json',
  ];

  static override summary = 'Show a job and the state of its nodes (knife job status).';

  override async run(): Promise<Job> {
    const { id } = this.args;
    this.errorContext = {
      subject: `job '${id}'`,
      notFoundHint: `list jobs with "${this.config.bin} ${['push', 'jobs', 'list'].join(this.config.topicSeparator ?? ':')}"`,
    };
    const job = await this.client().getJob(id);
    for (const line of jobDetailLines(job)) this.log(line);
    const results = jobResultLines(job, this.terminalWidth());
    if (results.length > 0) {
      this.log('');
      for (const line of results) this.log(line);
    }
    return job;
  }
}
