import { Args, Flags } from '@oclif/core';
import { isPushApiError, type Job, type PushApiClient } from '@push-jobs/protocol';
import { BaseCommand } from '../../../base-command.js';
import { notFoundError, usageError } from '../../../errors.js';
import { reconnectFlags } from '../../../flags.js';
import { followOutput, STREAM_NODES } from '../../../jobs/follow.js';
import { mapLimit, NODE_CONCURRENCY } from '../../../nodes.js';
import { jobSummaryLine, nodesByState } from '../../../ui/job-format.js';
import { nameWidth, OutputPrinter, useColor } from '../../../ui/output-lines.js';

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

/** `--json` data of `push jobs output --follow` (the last JSON line, in its envelope). */
export interface FollowResult {
  /** The job when following ended. */
  job: Job;
  /** The nodes followed. */
  nodes: string[];
  /** How the output was read: the nodes' output streams, or the job's feed. */
  source: 'streams' | 'feed';
  /** Nodes whose output came live. */
  streamed: string[];
  /** Nodes whose output was printed as stored once the job ended (nothing came live). */
  stored: string[];
}

const NO_OUTPUT_HINT =
  'output exists only for jobs started with --capture, once the node printed something (on an original server: once it finished)';

export default class PushJobsOutput extends BaseCommand<typeof PushJobsOutput> {
  static override args = {
    id: Args.string({ description: 'Job ID.', required: true }),
    node: Args.string({ description: 'Node whose output to print.' }),
  };

  static override description = `Prints what a node's command wrote to stdout (or stderr), exactly as captured. The job must have been started with --capture (or --tail). While the node runs, a server with live output returns what it printed so far; an original server has output only once the node finished.

With --all-nodes, prints the output of every node of the job, each line prefixed with the node name.

With --follow (-f), prints the output as it comes, while the job runs, both channels, one line at a time with the node name in front: "web1 | text" for stdout, "web1 ! text" for stderr, and "web1 * ..." for a notice (chunks the server dropped under load; output cut at the job's size limit). Output printed before the command started comes first, then the rest live, each line once. With NODE, following ends when that node finishes; without NODE (or with --all-nodes), when the job ends. It ends with the job's summary line ("Job ID complete: 2 succeeded, 1 failed."); the exit code is 0 whatever the job's outcome (push jobs status tells it). On a terminal each node name has its own colour (always the same for a name); on a pipe the lines are plain. With --json, each line and notice is a JSON object on its own line ({"node","channel","line"}, {"node","notice":"gap","first_missing","last_missing"}, {"node","notice":"truncated"}, {"node","notice":"earlier","chunks"}), and the last line is the envelope {"ok":true,"data":{"job","nodes","source","streamed","stored"}}.

Up to ${STREAM_NODES} nodes are read through their output streams (GET .../output/NODE/stream), which start with the output stored so far; more are read from the job's event feed, which carries output live only: a node that printed before following began then shows "web9 * N output chunks printed before following began, not shown" (push jobs output prints everything stored). A line still open when its node finishes is printed then. A server without live output (an original Push Jobs server, or ours with output_stream_max_bytes 0) or an agent that does not stream gives nothing live: the command then waits for the job and prints each node's stored output at the end, and a line on stderr says so.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> 5d6d1f6e2a8c4a4e9b0c1d2e3f405162 web1',
    '<%= config.bin %> <%= command.id %> JOB_ID web1 --channel stderr',
    '<%= config.bin %> <%= command.id %> JOB_ID --all-nodes',
    '<%= config.bin %> <%= command.id %> JOB_ID web1 --follow',
    '<%= config.bin %> <%= command.id %> JOB_ID --follow',
    '<%= config.bin %> <%= command.id %> JOB_ID --follow --json | jq -r \'select(.line) | .node + ": " + .line\'',
  ];

  static override flags = {
    'all-nodes': Flags.boolean({ summary: 'Print the output of every node, lines prefixed with "NODE: ".' }),
    channel: Flags.option({
      default: 'stdout' as const,
      options: ['stdout', 'stderr'] as const,
      summary: 'Which output to print (not with --follow, which prints both).',
    })(),
    follow: Flags.boolean({
      char: 'f',
      summary:
        'Print the output live while the job runs, both channels, lines prefixed with the node; ends when the node (or, without NODE, the job) ends.',
    }),
    ...reconnectFlags,
  };

  static override summary = 'Print the output of a job on a node (knife job output).';

  override async run(): Promise<OutputResult | AllOutputResult | FollowResult> {
    const { id, node } = this.args;
    const { channel } = this.flags;
    const all = this.flags['all-nodes'] === true;
    if (all && node !== undefined) throw usageError('give either NODE or --all-nodes, not both');
    if (this.flags.follow === true) return this.#follow(this.client(), id, node);
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

  async #follow(client: PushApiClient, id: string, node: string | undefined): Promise<FollowResult> {
    if (this.argv.some((a) => a === '--channel' || a.startsWith('--channel='))) {
      throw usageError('--follow prints both stdout and stderr; leave out --channel');
    }
    this.jsonLines = this.jsonEnabled();
    this.errorContext = { subject: `job '${id}'`, notFoundHint: 'check the job ID' };
    const job = await client.getJob(id);
    const jobNodes = nodesByState(job.nodes)
      .flatMap(([, names]) => names)
      .sort();
    if (node !== undefined && !jobNodes.includes(node)) {
      throw notFoundError(
        `node '${node}' is not a node of job ${id} (its nodes: ${jobNodes.join(', ') || 'none'})`,
      );
    }
    const nodes = node === undefined ? jobNodes : [node];
    const json = this.jsonEnabled();
    const printer = new OutputPrinter({
      json,
      color: !json && useColor(process.stdout),
      nameWidth: nameWidth(nodes),
      write: (text) => {
        process.stdout.write(text);
      },
    });
    const notice = (line: string): void => {
      process.stderr.write(`${line}\n`);
    };
    const controller = new AbortController();
    const outcome = await followOutput({
      client,
      jobId: id,
      nodes,
      single: node !== undefined,
      printer,
      signal: controller.signal,
      retry: this.reconnector(`following the output of job ${id}`, id, controller.signal),
      notice,
      debug: (message) => {
        if (this.debugEnabled()) notice(`debug: ${message}`);
      },
    });
    if (!json) this.log(jobSummaryLine(outcome.job));
    return {
      job: outcome.job,
      nodes,
      source: outcome.source,
      streamed: outcome.streamed,
      stored: outcome.stored,
    };
  }
}
