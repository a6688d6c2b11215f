/**
 * Reading live output: `output` events of a job feed, a node's output stream
 * (`GET pushy/jobs/ID/output/NODE/stream`: the output stored so far as `output` events, then
 * the live chunks, then an `end` event once the node finished), and the stored output of the
 * nodes that streamed nothing (an original server, live output turned off, an agent that
 * does not stream), read once the job ended.
 *
 * Everything a server sends is checked before use: an event whose data is not what its name
 * promises is skipped.
 *
 * @module
 */
import {
  isPushApiError,
  narrowJobFeedEvent,
  narrowNodeOutputEvent,
  type FeedStream,
  type ParsedFeedEvent,
  type PushApiClient,
} from '@push-jobs/protocol';
import { mapLimit, NODE_CONCURRENCY } from '../nodes.js';
import type { Channel, OutputChunk, OutputPrinter } from '../ui/output-lines.js';
import { FEED_IDLE_TIMEOUT_MS } from './wait.js';

/** The chunk of an `output` event of a job feed, or `undefined` for any other event. */
export function feedOutputChunk(event: ParsedFeedEvent): OutputChunk | undefined {
  const known = narrowJobFeedEvent(event);
  if (known?.event !== 'output') return undefined;
  const { node, channel, data, sequence, truncated } = known.data;
  return { node, channel, data, sequence, ...(truncated === true ? { truncated } : {}) };
}

/** The `end` event of a node's output stream. */
export interface NodeStreamEnd {
  status: string | undefined;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

/**
 * An event of `node`'s output stream: an `output` chunk, the `end`, or `undefined` (another
 * event, one of another node, or one whose data is malformed).
 */
export function nodeStreamEvent(
  event: ParsedFeedEvent,
  node: string,
): { chunk: OutputChunk } | { end: NodeStreamEnd } | undefined {
  const known = narrowNodeOutputEvent(event);
  if (known === undefined || known.data.node !== node) return undefined;
  if (known.event === 'output') {
    const { channel, data, sequence, truncated } = known.data;
    return { chunk: { node, channel, data, sequence, ...(truncated === true ? { truncated } : {}) } };
  }
  const { status, stdout_truncated: stdoutTruncated, stderr_truncated: stderrTruncated } = known.data;
  return { end: { status, stdoutTruncated, stderrTruncated } };
}

/** `pushy/jobs/ID/output/NODE/stream`, relative to the organization. */
export function nodeStreamPath(jobId: string, node: string): string {
  return `pushy/jobs/${encodeURIComponent(jobId)}/output/${encodeURIComponent(node)}/stream`;
}

/**
 * Opens `node`'s output stream. A 404 (a server without the endpoint, or no such job or
 * node) and other errors reject.
 */
export function openNodeStream(
  client: PushApiClient,
  jobId: string,
  node: string,
  signal: AbortSignal,
): Promise<FeedStream> {
  return client.events(nodeStreamPath(jobId, node), { signal, idleTimeoutMs: FEED_IDLE_TIMEOUT_MS });
}

/** How a node's output stream ended. */
export type NodeStreamOutcome = 'end' | 'closed';

/**
 * Prints an open node stream until its `end` event (`'end'`: the node's partial lines are then
 * printed) or until the server or `signal` closes it (`'closed'`). Connection errors reject.
 */
export async function printNodeStream(
  feed: FeedStream,
  node: string,
  printer: OutputPrinter,
  debug?: (message: string) => void,
): Promise<NodeStreamOutcome> {
  try {
    for await (const event of feed) {
      debug?.(`${node} stream: ${event.event} ${event.id ?? ''} ${event.rawData.slice(0, 200)}`);
      const e = nodeStreamEvent(event, node);
      if (e === undefined) continue;
      if ('chunk' in e) {
        printer.chunk(e.chunk, 'stream');
      } else {
        printer.nodeEnd(node, e.end.stdoutTruncated || e.end.stderrTruncated);
        return 'end';
      }
    }
    return 'closed';
  } finally {
    feed.close();
  }
}

/**
 * Prints the stored output (stdout, then stderr) of each of `nodes` that streamed nothing;
 * returns the nodes printed. A node without output (404: it did not run, or the job does not
 * capture) is skipped. `before` runs once, before the first node printed (to say why).
 */
export async function printStoredOutput(opts: {
  client: PushApiClient;
  jobId: string;
  nodes: readonly string[];
  printer: OutputPrinter;
  before?: () => void;
}): Promise<string[]> {
  const { client, jobId, printer } = opts;
  const pending = opts.nodes.filter((n) => !printer.seen(n));
  const read = async (node: string, channel: Channel) => {
    try {
      return await client.getJobOutput(jobId, node, channel);
    } catch (err) {
      if (isPushApiError(err) && err.status === 404) return undefined;
      throw err;
    }
  };
  const outputs = await mapLimit(pending, NODE_CONCURRENCY, async (node) => ({
    node,
    stdout: await read(node, 'stdout'),
    stderr: await read(node, 'stderr'),
  }));
  const printed: string[] = [];
  for (const { node, stdout, stderr } of outputs) {
    if ((stdout?.output ?? '') === '' && (stderr?.output ?? '') === '') continue;
    if (printed.length === 0) opts.before?.();
    printed.push(node);
    printer.stored(node, 'stdout', stdout?.output ?? '', stdout?.truncated === true);
    printer.stored(node, 'stderr', stderr?.output ?? '', stderr?.truncated === true);
  }
  return printed;
}
