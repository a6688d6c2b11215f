import { readFileSync } from 'node:fs';
import { Args, Flags } from '@oclif/core';
import {
  ERROR_CODES,
  isPushApiError,
  narrowJobFeedEvent,
  parseQuorum,
  parseQuorumSpec,
  type Job,
  type JobCreation,
  type PushApiClient,
} from '@push-jobs/protocol';
import { argValues, BaseCommand } from '../../../base-command.js';
import { CLI_ERROR_CODES, CliError, EXIT_CODES, usageError } from '../../../errors.js';
import { reconnectFlags, secondsFlag } from '../../../flags.js';
import { busyNacks } from '../../../jobs/busy.js';
import { feedOutputChunk, printStoredOutput } from '../../../jobs/live-output.js';
import type { JobTracker } from '../../../jobs/tracker.js';
import { parseRolloutSize } from '../../../jobs/rollout.js';
import { waitForJob } from '../../../jobs/wait.js';
import { searchNodeNames } from '../../../nodes.js';
import { busyLines } from '../../../ui/busy.js';
import {
  jobDetailLines,
  jobSucceeded,
  nodesByState,
  OK_NODE_STATES,
  statusText,
} from '../../../ui/job-format.js';
import { LiveProgress, NO_PROGRESS, PlainProgress, type ProgressView } from '../../../ui/progress.js';
import { confirm } from '../../../ui/prompt.js';
import { nameWidth, OutputPrinter, useColor } from '../../../ui/output-lines.js';

/** `--json` data of `push jobs start --nowait`. */
export interface StartedJob {
  id: string;
  uri: string;
}

/** The `env` of the request: `--with-env` parsed, `{}` without it (as knife-push sends). */
function parseEnv(text: string | undefined): Record<string, string> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw usageError(
      `invalid --with-env: not JSON (${(err as Error).message}); give a JSON object such as '{"NAME":"value"}'`,
      ERROR_CODES.INVALID_ARGUMENT,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw usageError(
      `invalid --with-env: expected a JSON object such as '{"NAME":"value"}'`,
      ERROR_CODES.INVALID_ARGUMENT,
    );
  }
  const bad = Object.entries(value)
    .filter(([, v]) => typeof v !== 'string')
    .map(([k]) => k);
  if (bad.length > 0) {
    throw usageError(
      `invalid --with-env: the value of ${bad.map((k) => `'${k}'`).join(', ')} is not a string; quote every value`,
      ERROR_CODES.INVALID_ARGUMENT,
    );
  }
  return value as Record<string, string>;
}

/** The `file` of the request: `raw:` and the text, or `base64:` for bytes that are not UTF-8. */
function readJobFile(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw usageError(
      code === 'ENOENT'
        ? `${path} not found; check --file`
        : `cannot read ${path} (${code ?? (err as Error).message}); check --file`,
      ERROR_CODES.INVALID_ARGUMENT,
    );
  }
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? `raw:${text}` : `base64:${bytes.toString('base64')}`;
}

/** A 400 `invalid key supplied`: the server does not know a field of the body (spec 1.5). */
function isInvalidKey(err: unknown): boolean {
  return isPushApiError(err) && err.status === 400 && err.serverMessage === 'invalid key supplied';
}

/** The names of a job's nodes, in every state. */
function jobNodeNames(job: Job): string[] {
  return nodesByState(job.nodes).flatMap(([, names]) => names);
}

/** Why a finished job counts as failed, in one line. */
function failureSummary(job: Job): string {
  const bad = nodesByState(job.nodes)
    .filter(([state]) => !OK_NODE_STATES.includes(state))
    .map(([state, names]) => `${state}: ${names.join(', ')}`);
  return `status ${job.status}${bad.length > 0 ? `; ${bad.join('; ')}` : ''}`;
}

export default class PushJobsStart extends BaseCommand<typeof PushJobsStart> {
  static override args = {
    command: Args.string({ description: 'Job name: a key of the nodes’ whitelist.', required: true }),
    nodes: Args.string({
      description: 'Nodes to run the job on (with --search, added to the nodes the search finds).',
      multiple: true,
    }),
  };

  static override description = `Creates a job on the named nodes (or the nodes a search finds) and, unless --nowait, waits for it to finish, following the job's event feed (or polling). On a terminal it shows the time, the number of nodes in each state and each node as it finishes; otherwise it prints one line per change.

With --search, the server resolves the query when it creates the job and records it (push jobs status shows it); node arguments are added to its matches, each node once. A search that matches no node is refused unless --allow-empty. An original Push Jobs server does not know server-side search: it refuses the field, and the CLI then runs the search itself (every page) and says so on stderr.

Rollouts (--concurrency, --max-errors): every node still votes and the quorum applies as usual; then at most --concurrency nodes run at once (the window), and the next node starts when one finishes. --max-errors is the error budget: once more nodes failed than it allows, no new node starts, the running ones finish, the nodes that never started end "skipped", and the job ends with status max_errors_exceeded (exit 1). Both take a count or a percentage of the job's nodes (a window rounds up, to at least 1; a budget rounds down). While waiting, the progress shows the window: "running 2/2 (window 2), done 5/10, failed 1 (max errors 1)", each node as it starts, and the moment the budget is spent. A server that does not know rollouts refuses them (exit 2); the job is never run without its window.

A node that nacks because it is busy with another job is named with that job ("web1 nacked: busy running job ID"), from the vote event or, for older servers, from one look at the node states after the job ends.

If the server becomes unreachable while waiting (a restart), the wait retries for --reconnect-timeout seconds (a notice on stderr says so), then reads the job again: a job the restarted server marked crashed ends as crashed (exit 1). When the server stays away longer, the command fails with exit 6 and names the job to check later with push jobs status.

With --tail (which implies --capture), the nodes' output is printed as it comes, one line at a time with the node name in front: "web1 | text" for stdout, "web1 ! text" for stderr, "web1 * ..." for a notice (chunks the server dropped under load, output cut at the job's size limit). On a terminal each node name has its own colour (always the same for a name), and the live progress line stays below the output; on a pipe the lines are plain. With --json, each line is a JSON object on its own line ({"node","channel","line"}, or {"node","notice":"gap"|"truncated",...}) and the last line is the usual envelope with the job. A line still open when its node finishes is printed then. A server without live output (an original Push Jobs server, or ours with output_stream_max_bytes 0) or an agent that does not stream sends none: then each node's stored output is printed when the job ends, and a line on stderr says so.

Exit code 0 only when the job completed and every node succeeded, nacked or was unavailable (as knife-push); 1 otherwise (a skipped node, or max_errors_exceeded, included). Ctrl-C while waiting asks whether to abort the job (--abort-on-interrupt aborts without asking) and exits 130.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> chef-client web1 web2',
    '<%= config.bin %> <%= command.id %> chef-client --search "role:web" --quorum 80%',
    '<%= config.bin %> <%= command.id %> chef-client --search "role:web" --concurrency 10% --max-errors 2',
    `<%= config.bin %> <%= command.id %> deploy web1 --capture --with-env '{"RELEASE":"42"}' --as-user deploy --in-dir /srv/app`,
    '<%= config.bin %> <%= command.id %> chef-client web1 --nowait --json',
    '<%= config.bin %> <%= command.id %> chef-client --search "role:web" --tail',
    '<%= config.bin %> <%= command.id %> chef-client web1 web2 --tail --json | jq -r \'select(.line) | .node + ": " + .line\'',
    '<%= config.bin %> <%= command.id %> chef-client web1 --reconnect-timeout 300',
  ];

  static override flags = {
    'abort-on-interrupt': Flags.boolean({ summary: 'On Ctrl-C, abort the job without asking.' }),
    'allow-empty': Flags.boolean({
      dependsOn: ['search'],
      summary:
        'With --search: a search that matches no node starts an empty job (complete at once) instead of failing.',
    }),
    concurrency: Flags.string({
      summary:
        'Rollout window: at most N nodes (or N% of them) run at once; the next starts when one finishes.',
      helpValue: 'N|N%',
    }),
    'max-errors': Flags.string({
      summary:
        'Rollout error budget: once more than N nodes (or N%) failed, no new node starts; unstarted nodes end skipped, the job max_errors_exceeded.',
      helpValue: 'N|N%',
    }),
    'as-user': Flags.string({ summary: 'User to run the command as on the nodes.' }),
    capture: Flags.boolean({ summary: 'Capture stdout and stderr of the nodes (see push jobs output).' }),
    feed: Flags.boolean({
      allowNo: true,
      default: true,
      summary: 'Follow the job event feed while waiting (--no-feed: poll only).',
    }),
    file: Flags.string({ summary: 'Local file to send to the nodes.' }),
    'in-dir': Flags.string({ summary: 'Working directory of the command on the nodes.' }),
    nowait: Flags.boolean({ char: 'b', summary: 'Exit right after the job is created.' }),
    'poll-interval': secondsFlag({ default: 1, min: 0.01, summary: 'Seconds between status polls.' }),
    progress: Flags.option({
      default: 'auto' as const,
      options: ['auto', 'live', 'plain', 'none'] as const,
      summary: 'Progress display: live on a terminal, plain lines otherwise (auto).',
    })(),
    ...reconnectFlags,
    quorum: Flags.string({
      char: 'q',
      default: '100%',
      summary: 'Nodes that must commit: a count (N) or a percentage (N%).',
    }),
    search: Flags.string({
      char: 's',
      summary:
        'Chef search query over nodes, resolved by the server; node arguments are added to its matches.',
    }),
    tail: Flags.boolean({
      exclusive: ['nowait'],
      summary:
        "Print the nodes' output live, each line prefixed with its node (implies --capture); see the description.",
    }),
    timeout: Flags.integer({ min: 0, summary: 'Maximum run time in seconds (run_timeout).' }),
    'with-env': Flags.string({ summary: 'Environment of the command: a JSON object of strings.' }),
  };

  static override summary = 'Start a job on nodes and wait for it (knife job start).';

  /** Whether the progress view printed the nodes as they finished (busy ones with their job). */
  #shownProgress = false;

  override async run(): Promise<Job | StartedJob> {
    const { flags } = this;
    const command = this.args.command;
    const client = this.client();

    const named = [...new Set(argValues(this.args.nodes))];
    const { search } = flags;
    if (named.length === 0 && search === undefined) {
      throw usageError(
        'No nodes to run job on. Specify nodes as arguments or use -s to specify a search query.',
      );
    }
    const maxConcurrency =
      flags.concurrency === undefined ? undefined : parseRolloutSize('concurrency', flags.concurrency, 1);
    const maxErrors =
      flags['max-errors'] === undefined ? undefined : parseRolloutSize('max-errors', flags['max-errors'], 0);
    const env = parseEnv(flags['with-env']);
    const body: JobCreation = { command };
    if (named.length > 0) body.nodes = named;
    if (search === undefined) {
      body.quorum = parseQuorum(flags.quorum, named.length);
    } else {
      body.search = search;
      if (flags['allow-empty'] === true) body.allow_empty_search = true;
      const quorum = await this.#searchQuorum(client, search, named);
      if (quorum !== undefined) body.quorum = quorum;
    }
    if (maxConcurrency !== undefined) body.max_concurrency = maxConcurrency;
    if (maxErrors !== undefined) body.max_errors = maxErrors;
    if (flags.timeout !== undefined) body.run_timeout = flags.timeout;
    if (flags.file !== undefined) body.file = readJobFile(flags.file);
    const tail = flags.tail === true;
    body.capture_output = flags.capture === true || tail;
    if (tail) this.jsonLines = this.jsonEnabled();
    body.env = env;
    if (flags['in-dir'] !== undefined) body.dir = flags['in-dir'];
    if (flags['as-user'] !== undefined) body.user = flags['as-user'];

    const { started, nodes: knownNodes } = await this.#create(client, body);
    this.errorContext = { subject: `job '${started.id}'` };
    this.log(`Started.  Job ID: ${started.id}`);
    if (flags.nowait === true) return started;

    // Nodes the server chose (a search) are learnt from the job itself.
    const nodes = knownNodes ?? jobNodeNames(await client.getJob(started.id));
    const { job, tracker } = await this.#wait(client, started.id, nodes, tail);
    if (!this.jsonEnabled()) {
      this.log('');
      for (const line of jobDetailLines(job)) this.log(line);
      const busy = await busyNacks({
        client,
        jobId: job.id,
        nacked: (job.nodes as Record<string, string[] | undefined> | undefined)?.nacked ?? [],
        known: tracker.busy,
        shown: this.#shownProgress,
        debug: (message) => this.#debug(message),
      });
      for (const line of busyLines(busy)) this.log(line);
    }
    if (!jobSucceeded(job)) {
      throw new CliError(
        CLI_ERROR_CODES.JOB_FAILED,
        `job ${job.id} did not fully succeed (${failureSummary(job)})`,
        EXIT_CODES.JOB_FAILED,
        { data: job },
      );
    }
    return job;
  }

  /**
   * The quorum of a job whose nodes a search chooses: a count as given; none for 100% (the
   * server's default is every node); another percentage of the nodes the search finds now (one
   * search from here, every page), with the node arguments.
   */
  async #searchQuorum(client: PushApiClient, search: string, named: string[]): Promise<number | undefined> {
    const spec = parseQuorumSpec(this.flags.quorum);
    if (spec.kind === 'count') return spec.count;
    if (spec.percent === 100) return undefined;
    const found = new Set([...named, ...(await searchNodeNames(client, search))]);
    if (found.size === 0) return undefined;
    const quorum = parseQuorum(this.flags.quorum, found.size);
    this.#debug(`quorum ${this.flags.quorum} of the ${found.size} nodes the search finds now: ${quorum}`);
    return quorum;
  }

  /**
   * POSTs the job; `nodes` when they are known here (named, or searched here). A server that
   * refuses our fields (`invalid key supplied`: an original server) gets, for a search, the nodes
   * the CLI finds itself (a notice on stderr says so); a rollout is refused, never run without
   * its window or error budget.
   */
  async #create(
    client: PushApiClient,
    body: JobCreation,
  ): Promise<{ started: StartedJob; nodes?: string[] }> {
    const {
      search,
      allow_empty_search: allowEmpty,
      max_concurrency: window,
      max_errors: budget,
      ...rest
    } = body;
    if (search === undefined && allowEmpty === undefined && window === undefined && budget === undefined) {
      return { started: await this.#submit(client, body), nodes: body.nodes ?? [] };
    }
    try {
      return search === undefined
        ? { started: await client.startJob(body), nodes: body.nodes ?? [] }
        : { started: await client.startJob(body) };
    } catch (err) {
      if (!isInvalidKey(err)) throw err;
    }
    if (window !== undefined || budget !== undefined) {
      throw usageError(
        'the server does not support rollouts (--concurrency, --max-errors): it refused them as unknown fields (an original Push Jobs server); nothing was started',
      );
    }
    const named = body.nodes ?? [];
    const found = await searchNodeNames(client, search!);
    const nodes = [...new Set([...named, ...found])].sort();
    this.warning(
      `the server does not resolve searches (an original Push Jobs server); the CLI ran the search itself: ${found.length} node${found.length === 1 ? '' : 's'} found`,
    );
    if (nodes.length === 0) {
      throw usageError(`No nodes to run job on: the search '${search!}' matched no node.`);
    }
    const fallback: JobCreation = {
      command: rest.command,
      nodes,
      quorum: parseQuorum(this.flags.quorum, nodes.length),
    };
    const { command: _command, nodes: _nodes, quorum: _quorum, ...options } = rest;
    return { started: await this.#submit(client, { ...fallback, ...options }), nodes };
  }

  /**
   * POSTs the job. A 400 `invalid key supplied` is what a Push Jobs 1.0 server answers to the
   * 2.0 fields: then, like knife-push, fall back to the 1.0 body, refusing the 2.0-only options
   * (knife-push checked the wrong keys for `--in-dir` and `--as-user`; we check them).
   */
  async #submit(client: PushApiClient, body: JobCreation): Promise<StartedJob> {
    try {
      return await client.startJob(body);
    } catch (err) {
      if (!isInvalidKey(err)) throw err;
    }
    this.warning('Falling back to Push Jobs v1 mode.');
    if (body.env !== undefined && Object.keys(body.env).length > 0) {
      throw usageError("Sending Environment attributes isn't possible for Push Jobs 1.0");
    }
    const v2Only: [string, unknown][] = [
      ['send_file', body.file],
      ['in_dir', body.dir],
      ['as_user', body.user],
    ];
    for (const [key, value] of v2Only) {
      if (value !== undefined) throw usageError(`Can't use a 2.0 feature (${key}) with a 1.0 server`);
    }
    const v1: JobCreation = { command: body.command, nodes: body.nodes };
    if (body.quorum !== undefined) v1.quorum = body.quorum;
    if (body.run_timeout !== undefined) v1.run_timeout = body.run_timeout;
    return client.startJob(v1);
  }

  #debug(message: string): void {
    if (this.debugEnabled()) this.logToStderr(`debug: ${message}`);
  }

  #progressView(): ProgressView {
    if (this.jsonEnabled()) return NO_PROGRESS;
    const mode = this.flags.progress === 'auto' ? (this.isTty() ? 'live' : 'plain') : this.flags.progress;
    const write = (text: string): void => {
      process.stdout.write(text);
    };
    if (mode === 'none') return NO_PROGRESS;
    if (mode === 'plain') return new PlainProgress(write);
    return new LiveProgress(write, () => process.stdout.columns ?? 80);
  }

  /** The printer of `--tail`: output lines above the live progress line, on stdout. */
  #outputPrinter(view: ProgressView, nodes: readonly string[]): OutputPrinter {
    return new OutputPrinter({
      json: this.jsonEnabled(),
      color: !this.jsonEnabled() && useColor(process.stdout),
      nameWidth: nameWidth(nodes),
      write: (text) => view.aside(() => process.stdout.write(text)),
    });
  }

  /** A line on stderr, also under `--json` (whose lines stay alone on stdout), around the view. */
  #notice(view: ProgressView, line: string): void {
    view.aside(() => process.stderr.write(`${line}\n`));
  }

  async #wait(
    client: PushApiClient,
    id: string,
    nodes: string[],
    tail: boolean,
  ): Promise<{ job: Job; tracker: JobTracker }> {
    const view = this.#progressView();
    const printer = tail ? this.#outputPrinter(view, nodes) : undefined;
    this.#shownProgress = view !== NO_PROGRESS;
    const controller = new AbortController();
    const onSigint = (): void => controller.abort();
    process.on('SIGINT', onSigint);
    const retry = this.reconnector(`waiting for job ${id}`, id, controller.signal, (print) =>
      view.aside(print),
    );
    let job: Job | undefined;
    let tracker: JobTracker | undefined;
    try {
      job = await waitForJob({
        client,
        jobId: id,
        nodes,
        pollIntervalMs: Math.max(10, Math.round(this.flags['poll-interval'] * 1000)),
        useFeed: this.flags.feed,
        signal: controller.signal,
        retry,
        // The live view redraws its line (elapsed time) on a timer from here on.
        onStart: (t) => {
          tracker = t;
          view.start(t);
        },
        onChange: (changes, t) => {
          if (changes.length > 0) view.update(changes, t);
        },
        ...(printer === undefined
          ? {}
          : {
              onEvent: (event) => {
                const chunk = feedOutputChunk(event);
                if (chunk !== undefined) printer.chunk(chunk, 'feed');
                const known = event.event === 'run_complete' ? narrowJobFeedEvent(event) : undefined;
                if (known?.event === 'run_complete') printer.nodeEnd(known.data.node);
              },
              onFeedLost: (reason) =>
                this.#notice(
                  view,
                  `live output stopped (${reason}); waiting goes on by polling, and the output of the nodes that showed none is printed at the end`,
                ),
            }),
        debug: (message) => this.#debug(message),
      });
      if (printer !== undefined && job !== undefined) {
        printer.finish();
        await printStoredOutput({
          client,
          jobId: id,
          nodes: jobNodeNames(job),
          printer,
          before: () =>
            this.#notice(
              view,
              'no live output came from some nodes (an original server, live output turned off on the server, or an agent that does not stream); their output as stored:',
            ),
        });
      }
    } finally {
      view.stop();
      process.off('SIGINT', onSigint);
    }
    if (job !== undefined && tracker !== undefined) return { job, tracker };
    return this.#interrupted(client, id);
  }

  /** Ctrl-C while waiting: abort the job if asked to (or told to), then exit 130. */
  async #interrupted(client: PushApiClient, id: string): Promise<never> {
    let abort = this.flags['abort-on-interrupt'] === true;
    if (!abort && !this.jsonEnabled() && process.stdin.isTTY === true) {
      abort = await confirm(`\nAbort job ${id}? [y/N] `);
    }
    if (!abort) {
      const watch = ['push', 'jobs', 'watch'].join(this.config.topicSeparator ?? ':');
      this.logToStderr(`Job ${id} was not aborted; follow it with: ${this.config.bin} ${watch} ${id}`);
      throw new CliError(
        CLI_ERROR_CODES.INTERRUPTED,
        `interrupted; job ${id} continues`,
        EXIT_CODES.INTERRUPTED,
      );
    }
    let job: Job;
    try {
      job = await client.abortJob(id);
    } catch (err) {
      if (!(isPushApiError(err) && err.status === 409)) throw err;
      job = await client.getJob(id);
    }
    this.log(statusText(job.status));
    throw new CliError(
      CLI_ERROR_CODES.INTERRUPTED,
      job.status === 'aborted'
        ? `interrupted; job ${id} aborted`
        : `interrupted; job ${id} had already finished (${job.status})`,
      EXIT_CODES.INTERRUPTED,
      { data: job },
    );
  }
}
