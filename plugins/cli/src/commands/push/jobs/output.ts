import { Args, Flags } from '@oclif/core';
import { isPushApiError } from '@push-jobs/protocol';
import { BaseCommand } from '../../../base-command.js';
import { usageError } from '../../../errors.js';
import { mapLimit, NODE_CONCURRENCY } from '../../../nodes.js';
import { nodesByState } from '../../../ui/job-format.js';

/** One node's output. */
export interface NodeOutput {
  node: string;
  output: string;
  truncated: boolean;
}

/** `--json` data of `push jobs output JOB NODE`. */
export interface OutputResult extends NodeOutput {
  job: string;
  channel: 'stdout' | 'stderr';
}

/** `--json` data of `push jobs output JOB --all-nodes`. */
export interface AllOutputResult {
  job: string;
  channel: 'stdout' | 'stderr';
  /** Nodes that have output, sorted by name. */
  outputs: NodeOutput[];
  /** Nodes of the job without output (not finished, or no --capture). */
  without_output: string[];
}

const NO_OUTPUT_HINT = 'output exists only for nodes that finished a job started with --capture';

export default class PushJobsOutput extends BaseCommand<typeof PushJobsOutput> {
  static override args = {
    id: Args.string({ description: 'Job ID.', required: true }),
    node: Args.string({ description: 'Node whose output to print.' }),
  };

  static override description = `Prints what a node's command wrote to stdout (or stderr), exactly as captured. The job must have been started with --capture, and the node must have finished.

With --all-nodes, prints the output of every node of the job, each line prefixed with the node name.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> 5d6d1f6e2a8c4a4e9b0c1d2e3f405162 web1',
    '<%= config.bin %> <%= command.id %> JOB_ID web1 --channel stderr',
    '<%= config.bin %> <%= command.id %> JOB_ID --all-nodes',
  ];

  static override flags = {
    'all-nodes': Flags.boolean({ summary: 'Print the output of every node, lines prefixed with "NODE: ".' }),
    channel: Flags.option({
      default: 'stdout' as const,
      options: ['stdout', 'stderr'] as const,
      summary: 'Which output to print.',
    })(),
  };

  static override summary = 'Print the output of a job on a node (knife job output).';

  override async run(): Promise<OutputResult | AllOutputResult> {
    const { id, node } = this.args;
    const { channel } = this.flags;
    const all = this.flags['all-nodes'] === true;
    if (all && node !== undefined) throw usageError('give either NODE or --all-nodes, not both');
    if (!all && node === undefined) throw usageError('give the NODE whose output to print, or --all-nodes');
    const client = this.client();
    if (!all) {
      this.errorContext = {
        subject: `output of node '${node}' in job '${id}'`,
        notFoundHint: NO_OUTPUT_HINT,
      };
      const out = await client.getJobOutput(id, node!, channel);
      if (!this.jsonEnabled()) process.stdout.write(out.output);
      if (out.truncated) this.warning(`the ${channel} of ${node} was cut by the agent at its size limit`);
      return { job: id, node: node!, channel, ...out };
    }

    this.errorContext = { subject: `job '${id}'` };
    const job = await client.getJob(id);
    const nodes = nodesByState(job.nodes)
      .flatMap(([, names]) => names)
      .sort();
    const results = await mapLimit(nodes, NODE_CONCURRENCY, async (name) => {
      try {
        return { node: name, ...(await client.getJobOutput(id, name, channel)) };
      } catch (err) {
        if (isPushApiError(err) && err.status === 404) return undefined;
        throw err;
      }
    });
    const outputs = results.filter((r): r is NodeOutput => r !== undefined);
    const without = nodes.filter((n) => !outputs.some((o) => o.node === n));
    const width = Math.max(0, ...outputs.map((o) => o.node.length));
    for (const o of outputs) {
      const lines = o.output.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      for (const line of lines) this.log(`${`${o.node}:`.padEnd(width + 1)} ${line}`);
      if (o.truncated) this.warning(`the ${channel} of ${o.node} was cut by the agent at its size limit`);
    }
    if (without.length > 0) this.logToStderr(`No ${channel} from: ${without.join(', ')} (${NO_OUTPUT_HINT})`);
    return { job: id, channel, outputs, without_output: without };
  }
}
