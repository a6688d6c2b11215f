import { Args } from '@oclif/core';
import type { Job } from '@push-jobs/protocol';
import { BaseCommand } from '../../../base-command.js';
import { jobDetailLines } from '../../../ui/job-format.js';

export default class PushJobsStatus extends BaseCommand<typeof PushJobsStatus> {
  static override args = {
    id: Args.string({ description: 'Job ID.', required: true }),
  };

  static override description =
    'Shows a job: its command, status, quorum, options, and its nodes grouped by state.';

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
    return job;
  }
}
