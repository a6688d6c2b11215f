import { Args } from '@oclif/core';
import { API_ERROR_CODES, isPushApiError, type Job } from '@push-jobs/protocol';
import { BaseCommand } from '../../../base-command.js';
import { CliError, EXIT_CODES } from '../../../errors.js';
import { jobDetailLines, statusText } from '../../../ui/job-format.js';

export default class PushJobsAbort extends BaseCommand<typeof PushJobsAbort> {
  static override args = {
    id: Args.string({ description: 'Job ID.', required: true }),
  };

  static override description =
    'Aborts an unfinished job: nodes still voting, ready or running are told to abort (the agent stops the command) and the job ends aborted. Aborting a finished job is an error (exit 7).';

  static override examples = ['<%= config.bin %> <%= command.id %> 5d6d1f6e2a8c4a4e9b0c1d2e3f405162'];

  static override summary = 'Abort a job.';

  override async run(): Promise<Job> {
    const { id } = this.args;
    this.errorContext = { subject: `job '${id}'`, notFoundHint: 'check the job ID' };
    let job: Job;
    try {
      job = await this.client().abortJob(id);
    } catch (err) {
      if (!(isPushApiError(err) && err.status === 409)) throw err;
      throw new CliError(
        API_ERROR_CODES.CONFLICT,
        `${err.serverMessage ?? `job '${id}' already finished`}; there is nothing to abort`,
        EXIT_CODES.CONFLICT,
      );
    }
    this.log(statusText(job.status));
    for (const line of jobDetailLines(job)) this.log(line);
    return job;
  }
}
