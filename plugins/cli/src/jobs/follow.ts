/**
 * `push jobs output --follow`: a job's output as it comes, for one node or all of them, then the
 * job.
 *
 * Up to {@link STREAM_NODES} nodes are read from their output streams (one connection each):
 * a stream starts with the output stored so far, each chunk carrying its sequence number, so
 * what was printed before the command started and what comes live join without a duplicate or
 * a hole. The job's feed tells when the job ends. More nodes are read from the job's feed alone, which
 * carries output live only (a server does not replay it): a node that printed before following
 * began shows a notice saying how many chunks are not shown (`push jobs output` has them).
 *
 * A server without live output (an original server: no stream endpoint, no `output` events;
 * ours with `output_stream_max_bytes` 0; an agent that does not stream) gives nothing live: the
 * stored output of each node that streamed nothing is printed once the job ended, and a line
 * on stderr says so.
 *
 * @module
 */
import { setTimeout as delay } from 'node:timers/promises';
import {
  isPushApiError,
  narrowJobFeedEvent,
  type FeedStream,
  type Job,
  type PushApiClient,
} from '@push-jobs/protocol';
import type { OutputPrinter } from '../ui/output-lines.js';
import { feedOutputChunk, openNodeStream, printNodeStream, printStoredOutput } from './live-output.js';
import type { Reconnector } from './reconnect.js';
import { waitForJob } from './wait.js';

/** Up to this many nodes are followed through their output streams; more through the job feed. */
export const STREAM_NODES = 8;

/** After the job ended, how long node streams get to send their `end` before they are closed. */
export const STREAM_GRACE_MS = 5000;

/** Options of {@link followOutput}. */
export interface FollowOptions {
  client: PushApiClient;
  jobId: string;
  /** The nodes to follow (one, or every node of the job). */
  nodes: readonly string[];
  /** One node named: following ends when that node ends, not the job. */
  single: boolean;
  printer: OutputPrinter;
  signal: AbortSignal;
  retry: Reconnector;
  /** Prints a line on stderr. */
  notice: (line: string) => void;
  debug?: (message: string) => void;
  /** @default STREAM_NODES */
  streamNodes?: number;
  /** @default STREAM_GRACE_MS */
  graceMs?: number;
}

/** What following gave. */
export interface FollowOutcome {
  /** The job when following ended (final, unless one node was followed). */
  job: Job;
  /** How the output was read. */
  source: 'streams' | 'feed';
  /** Nodes whose output came live. */
  streamed: string[];
  /** Nodes whose output was printed from the store at the end (nothing came live). */
  stored: string[];
}

const STORED_NOTICE =
  'no live output came (an original server, live output turned off on the server, or an agent that does not stream); the output as stored once the job ended:';

/** Opens the node streams; `undefined` when the server has no stream endpoint (every one 404). */
async function openStreams(
  opts: FollowOptions,
  signal: AbortSignal,
): Promise<Map<string, FeedStream> | undefined> {
  const settled = await Promise.allSettled(
    opts.nodes.map((n) => openNodeStream(opts.client, opts.jobId, n, signal)),
  );
  const streams = new Map<string, FeedStream>();
  let failure: unknown;
  let notFound = 0;
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') streams.set(opts.nodes[i]!, s.value);
    else if (isPushApiError(s.reason) && s.reason.status === 404) notFound++;
    else failure ??= s.reason;
  });
  if (failure !== undefined) {
    for (const f of streams.values()) f.close();
    throw failure;
  }
  if (notFound === opts.nodes.length) {
    opts.debug?.('no node output stream (404): following the job feed');
    return undefined;
  }
  return streams;
}

/** Waits for the job to end, printing the `output` events of `nodes` when `printer` is given. */
async function waitJob(opts: FollowOptions, printer: OutputPrinter | undefined): Promise<Job> {
  const targets = new Set(opts.nodes);
  const job = await waitForJob({
    client: opts.client,
    jobId: opts.jobId,
    nodes: opts.nodes,
    pollIntervalMs: 1000,
    useFeed: true,
    signal: opts.signal,
    retry: opts.retry,
    onChange: () => undefined,
    ...(printer === undefined
      ? {}
      : {
          onEvent: (event) => {
            const chunk = feedOutputChunk(event);
            if (chunk !== undefined && targets.has(chunk.node)) printer.chunk(chunk, 'joined');
            const known = event.event === 'run_complete' ? narrowJobFeedEvent(event) : undefined;
            if (known?.event === 'run_complete' && targets.has(known.data.node))
              printer.nodeEnd(known.data.node);
          },
          onFeedLost: (reason: string) =>
            opts.notice(
              `live output stopped (${reason}); waiting for the job goes on, and the output of the nodes that showed none is printed at the end`,
            ),
        }),
    ...(opts.debug === undefined ? {} : { debug: opts.debug }),
  });
  if (job === undefined) throw Object.assign(new Error('following was interrupted'), { name: 'AbortError' });
  return job;
}

/** Follows the node streams until their nodes end (or, for all nodes, the job ends). */
async function followStreams(opts: FollowOptions, streams: Map<string, FeedStream>): Promise<Job> {
  const { printer } = opts;
  const endings = [...streams].map(async ([node, feed]) => {
    try {
      if ((await printNodeStream(feed, node, printer, opts.debug)) === 'end') return;
      if (!opts.signal.aborted) opts.notice(`the output stream of ${node} closed before the node finished`);
    } catch (err) {
      opts.notice(`the output stream of ${node} broke off (${(err as Error).message})`);
    }
    printer.nodeEnd(node);
  });
  const all = Promise.all(endings);
  if (opts.single) {
    await all;
    return opts.retry.call(() => opts.client.getJob(opts.jobId, { signal: opts.signal }));
  }
  const job = await waitJob(opts, undefined);
  // Every node finished: their streams end on their own; one that does not (a node that never
  // ran, on a server that keeps its stream open) is closed after a grace period.
  const grace = new AbortController();
  const timer = delay(opts.graceMs ?? STREAM_GRACE_MS, undefined, { signal: grace.signal }).then(
    () => true,
    () => false,
  );
  const expired = await Promise.race([all.then(() => false), timer]);
  grace.abort();
  if (expired) {
    opts.debug?.('closing the node streams still open after the job ended');
    for (const f of streams.values()) f.close();
  }
  await all;
  return job;
}

/** See the module notes. */
export async function followOutput(opts: FollowOptions): Promise<FollowOutcome> {
  const { printer } = opts;
  const useStreams = opts.single || opts.nodes.length <= (opts.streamNodes ?? STREAM_NODES);
  const streams = useStreams ? await openStreams(opts, opts.signal) : undefined;
  const job = streams === undefined ? await waitJob(opts, printer) : await followStreams(opts, streams);
  printer.finish();
  const streamed = opts.nodes.filter((n) => printer.seen(n));
  const stored = await printStoredOutput({
    client: opts.client,
    jobId: opts.jobId,
    nodes: opts.nodes,
    printer,
    before: () => opts.notice(STORED_NOTICE),
  });
  return { job, source: streams === undefined ? 'feed' : 'streams', streamed, stored };
}
