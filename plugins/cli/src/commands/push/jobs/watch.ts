import { Args, Flags } from '@oclif/core';
import { narrowJobFeedEvent, type ParsedFeedEvent } from '@push-jobs/protocol';
import { BaseCommand } from '../../../base-command.js';
import { reconnectFlags } from '../../../flags.js';
import { busyNacks, busyOfVote, type Busy } from '../../../jobs/busy.js';
import { feedOutputChunk } from '../../../jobs/live-output.js';
import { FeedClosedError } from '../../../jobs/reconnect.js';
import { budgetText } from '../../../jobs/rollout.js';
import { activityText, busyLines } from '../../../ui/busy.js';
import { colorState } from '../../../ui/job-format.js';
import { OutputPrinter, useColor } from '../../../ui/output-lines.js';

/** One event as `--json` reports it. */
export interface WatchedEvent {
  event: string;
  id: string | undefined;
  data: unknown;
}

/** `--json` data of `push jobs watch`. */
export interface WatchResult {
  /** The job followed, or `null` for the organization feed. */
  job: string | null;
  /** The events; left out with `--output`, whose events were the JSON lines before. */
  events?: WatchedEvent[];
  /** With `--output --json`: how many events were printed as JSON lines. */
  count?: number;
  /** Why watching stopped. */
  ended: 'job_complete' | 'feed_end' | 'count' | 'interrupted';
}

function value(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** `(error budget spent: 2 failed > max errors 1; 6 nodes skipped)` for a `max_errors_exceeded` event. */
function budgetSuffix(e: ParsedFeedEvent): string {
  const known = narrowJobFeedEvent(e);
  if (known?.event !== 'max_errors_exceeded') return '';
  return ` (${budgetText(known.data.failed, known.data.max_errors, known.data.skipped)})`;
}

/**
 * An event as one line: `TIMESTAMP  EVENT  key=value ...`; a vote of a node busy with another
 * job ends with `(busy running job ID)`, a spent error budget with what it means.
 */
export function eventLine(e: ParsedFeedEvent): string {
  const data =
    typeof e.data === 'object' && e.data !== null ? (e.data as Record<string, unknown>) : { data: e.data };
  const { timestamp, ...rest } = data;
  const busy = e.event === 'quorum_vote' ? busyOfVote(data) : undefined;
  if (busy !== undefined) delete rest.busy;
  const status = typeof rest.status === 'string' ? rest.status : undefined;
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${k === 'status' && status !== undefined ? colorState(status, status) : value(v)}`)
    .join(' ');
  const suffix = busy === undefined ? budgetSuffix(e) : ` (busy ${activityText(busy.state, busy.job_id)})`;
  return `${typeof timestamp === 'string' ? timestamp : '-'}  ${e.event.padEnd(16)} ${fields}${suffix}`.trimEnd();
}

/** The node of a `quorum_vote` failure (a nack). */
function nackedNode(e: ParsedFeedEvent): string | undefined {
  const known = narrowJobFeedEvent(e);
  return known?.event === 'quorum_vote' && known.data.status === 'failure' ? known.data.node : undefined;
}

export default class PushJobsWatch extends BaseCommand<typeof PushJobsWatch> {
  static override args = {
    id: Args.string({ description: 'Job ID; without it, the organization feed (job starts and ends).' }),
  };

  static override description = `Prints the events of a job as they happen (votes, runs, completion) until it ends, or, without a job ID, the start and end of every job of the organization until Ctrl-C or --count events. Ctrl-C ends watching normally (exit 0).

A vote of a node that nacked because it is busy with another job ends with "(busy running job ID)". A rollout's start event carries its search, max_concurrency and max_errors; run_start shows each node as its turn comes; max_errors_exceeded says when the error budget was spent ("error budget spent: 2 failed > max errors 1; 6 nodes skipped"), after which no node starts and the job ends max_errors_exceeded. When a job's nacks did not say why, one look at the node states after the job names the nodes busy with another job.

If the server becomes unreachable (a restart) or closes the feed early, watching retries for --reconnect-timeout seconds (a notice on stderr says so) and resumes after the last event seen; after that it fails with exit 6.

A job's output events (live output, from a job started with --capture on a server and agents that stream it) are left out unless --output: then each is shown as the lines it completes, "web1 | text" for stdout and "web1 ! text" for stderr (a line still open is printed when its node finishes), with notices for chunks the server dropped under load and for output cut at the job's size limit ("web1 * ..."). Node names are coloured on a terminal.

With --json, the events are printed as one envelope when watching ends. With --json and --output, each event is printed as it arrives, one JSON object per line ({"event","id","data"}, as the server sent it), and the last line is the envelope, without the events.`;

  static override examples = [
    '<%= config.bin %> <%= command.id %> 5d6d1f6e2a8c4a4e9b0c1d2e3f405162',
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --count 2 --json',
    '<%= config.bin %> <%= command.id %> 5d6d1f6e2a8c4a4e9b0c1d2e3f405162 --output',
    '<%= config.bin %> <%= command.id %> 5d6d1f6e2a8c4a4e9b0c1d2e3f405162 --reconnect-timeout 0',
  ];

  static override flags = {
    count: Flags.integer({ min: 1, summary: 'Stop after this many events.' }),
    'last-event-id': Flags.string({ summary: 'Resume after this event id (job-N, org-N).' }),
    output: Flags.boolean({
      summary:
        "Show the job's output events (live output) as lines prefixed with the node; with --json, print every event as a JSON line as it arrives.",
    }),
    ...reconnectFlags,
  };

  static override summary = 'Follow the event feed of a job or of the organization.';

  override async run(): Promise<WatchResult> {
    const { id } = this.args;
    const { count } = this.flags;
    const client = this.client();
    const controller = new AbortController();
    const { signal } = controller;
    const onSigint = (): void => controller.abort();
    this.errorContext = id === undefined ? {} : { subject: `job '${id}'`, notFoundHint: 'check the job ID' };
    const retry = this.reconnector(
      id === undefined ? 'following the organization feed' : `following job ${id}`,
      id,
      signal,
    );
    const withOutput = this.flags.output === true;
    const json = this.jsonEnabled();
    this.jsonLines = json && withOutput;
    const printer = new OutputPrinter({
      json: false,
      color: useColor(process.stdout),
      nameWidth: 0,
      write: (text) => {
        process.stdout.write(text);
      },
    });
    const events: WatchedEvent[] = [];
    let seen = 0;
    const nacks: string[] = [];
    const known = new Map<string, Busy>();
    let lastEventId = this.flags['last-event-id'];
    let ended: WatchResult['ended'] | undefined;
    process.on('SIGINT', onSigint);
    try {
      for (;;) {
        let failure: unknown;
        try {
          const options = { signal, ...(lastEventId === undefined ? {} : { lastEventId }) };
          const feed =
            id === undefined ? await client.orgEvents(options) : await client.jobEvents(id, options);
          retry.recovered();
          try {
            for await (const e of feed) {
              lastEventId = feed.lastEventId ?? lastEventId;
              if (e.event === 'output' && !withOutput) continue;
              seen++;
              const watched = { event: e.event, id: e.id, data: e.data };
              if (this.jsonLines) process.stdout.write(`${JSON.stringify(watched)}\n`);
              else if (json) events.push(watched);
              const chunk = withOutput && !json ? feedOutputChunk(e) : undefined;
              if (chunk !== undefined) printer.chunk(chunk, 'feed');
              else if (!json && e.event !== 'output') this.log(eventLine(e));
              if (withOutput && e.event === 'run_complete') {
                const node = (e.data as { node?: unknown } | null)?.node;
                if (typeof node === 'string') printer.nodeEnd(node);
              }
              const nacked = nackedNode(e);
              if (nacked !== undefined) {
                nacks.push(nacked);
                const busy = busyOfVote(e.data);
                if (busy !== undefined) known.set(nacked, busy);
              }
              if (id !== undefined && (e.event === 'job_complete' || e.event === 'summary')) {
                ended = 'job_complete';
                break;
              }
              if (count !== undefined && seen >= count) {
                ended = 'count';
                break;
              }
            }
          } finally {
            feed.close();
          }
        } catch (err) {
          failure = err;
        }
        if (signal.aborted) ended = 'interrupted';
        if (ended !== undefined) break;
        if (failure === undefined) {
          // The server closed the feed early (shutting down), or a proxy did: reconnect and
          // resume after the last event, unless told not to retry (then watching ends).
          if (!retry.enabled) {
            ended = 'feed_end';
            break;
          }
          failure = new FeedClosedError(
            id === undefined ? 'the organization feed' : `the event feed of job ${id}`,
          );
        }
        // Returns after the backoff delay, or throws: not a connection error, or time is up.
        await retry.failed(failure);
      }
    } catch (err) {
      if (!signal.aborted) throw err;
      ended = 'interrupted';
    } finally {
      process.off('SIGINT', onSigint);
    }
    printer.finish();
    if (id !== undefined && ended === 'job_complete' && nacks.length > 0 && !this.jsonEnabled()) {
      // The event lines showed the busy nodes the votes named; name the others if node states can.
      const busy = await busyNacks({
        client,
        jobId: id,
        nacked: nacks,
        known,
        shown: true,
        debug: (message) => {
          if (this.debugEnabled()) this.logToStderr(`debug: ${message}`);
        },
      });
      for (const line of busyLines(busy)) this.log(line);
    }
    return {
      job: id ?? null,
      ...(this.jsonLines ? { count: seen } : { events }),
      ended: ended ?? 'feed_end',
    };
  }
}
