/**
 * The per-node output stream (ours, live output):
 * `GET /organizations/ORG/pushy/jobs/ID/output/NODE/stream`, an SSE stream of one node's output
 * in one job. Same authorization as `GET .../output/NODE/CHANNEL` (the read group; the job
 * looked up in the request's org).
 *
 * It sends what is stored so far as `output` events (id `output-SEQ`, data as the job feed's
 * `output` event: `node`, `channel`, `data`, `sequence`, `truncated`), then the chunks not yet
 * written and the live ones as they come, each `seq` once and in order; when the node finished
 * (its `run_complete`, or the job's end), one `end` event (id `end`) with the node's `status`,
 * `stdout_truncated` and `stderr_truncated`, and the response ends. A node that streamed nothing
 * (an agent that does not stream, as the Ruby client) gets its stored output at the end as
 * `output` events (stdout, then stderr, in pieces of at most 16 KiB), then `end`. A
 * `Last-Event-ID` of `output-N` resumes after chunk N. Keepalives as the feeds'.
 *
 * Live chunks come only from the server running the job: on another server sharing the
 * database, or once the job's feed log is gone, the stream sends what is stored and ends.
 *
 * @module
 */
import {
  MAX_OUTPUT_CHUNK_BYTES,
  type JobEventFields,
  type NodeJobState,
  type NodeOutputData,
  type RunCompleteStatus,
} from '@push-jobs/protocol/internal';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../../http/errors.js';
import { defineRoute } from '../../http/routes.js';
import { cutUtf8 } from '../../jobs/live-output.js';
import { eventData, type SseEvent } from '../../feeds/event-format.js';
import type { UnwrittenOutput } from '../../jobs/output-so-far.js';
import type { JobOutputChunk } from '../../store/types.js';
import type { FeedHub } from '../../feeds/feed-hub.js';
import type { RouteDeps } from '../deps.js';
import { EVENT_STREAM, SseConnection } from './sse-connection.js';

/** What the output stream needs: the feeds' deps. */
export type OutputStreamDeps = Pick<RouteDeps, 'config' | 'store'> & {
  feeds: FeedHub;
  output?: UnwrittenOutput;
};

/** Stored chunks read per query while replaying. */
const REPLAY_PAGE = 500;

/** What a node's `run_complete` status says its state is (when the event alone tells). */
const STATE_OF_RUN_COMPLETE: Partial<Record<RunCompleteStatus, NodeJobState>> = {
  success: 'succeeded',
  failure: 'failed',
  run_nacked: 'failed',
  run_nacked_while_running: 'failed',
  crashed: 'crashed',
};

type OutputFields = JobEventFields['output'];

function resumeAfter(request: FastifyRequest): number {
  const value = request.headers['last-event-id'];
  const id = (Array.isArray(value) ? value[0] : value)?.trim() ?? '';
  const m = /^output-(\d{1,10})$/.exec(id);
  return m === null ? -1 : Number(m[1]);
}

async function outputStream(
  deps: OutputStreamDeps,
  open: Set<SseConnection>,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const org = request.org!.name;
  const { id, node } = request.params as { id: string; node: string };
  const job = await deps.store.getJob(org, id);
  if (job === undefined) throw notFound(`job '${id}' does not exist in organization '${org}'`);
  if (!job.nodes.some((n) => n.name === node)) throw notFound(`node '${node}' is not in job '${id}'`);

  const conn = new SseConnection(request, reply, deps.config.keep_alive_time, open);
  if (request.method === 'HEAD') return conn.end();

  let lastSeq = resumeAfter(request);
  let sentAny = lastSeq >= 0;
  let replaying = true;
  const held: SseEvent[] = [];
  /** Set when the node finished: the state the event told, or null (read it from the store). */
  let finished: NodeJobState | null | undefined;

  const sendChunk = (fields: OutputFields): void => {
    if (fields.sequence <= lastSeq) return;
    lastSeq = fields.sequence;
    sentAny = true;
    const data = eventData(deps.feeds.nextTimestamp(), fields);
    conn.send([{ event: 'output', id: `output-${fields.sequence}`, data }]);
  };
  const chunkFields = (c: JobOutputChunk): OutputFields => ({
    node,
    channel: c.channel,
    data: c.data.toString('utf8'),
    sequence: c.seq,
    ...(c.truncated ? { truncated: true as const } : {}),
  });
  const nodeEnded = (event: SseEvent): NodeJobState | null | undefined => {
    if (event.event === 'job_complete') return null;
    if (event.event === 'run_complete' && event.data.node === node) {
      return STATE_OF_RUN_COMPLETE[event.data.status] ?? null;
    }
    return undefined;
  };

  const end = async (known: NodeJobState | null): Promise<void> => {
    if (conn.closed) return;
    const [stored, final] = await Promise.all([
      deps.store.getJob(org, id),
      deps.store.getJobOutput(org, id, node),
    ]);
    if (!sentAny && final !== undefined) {
      sendWhole(final.stdout, 'stdout', final.stdoutTruncated);
      sendWhole(final.stderr, 'stderr', final.stderrTruncated);
    }
    const streamed = final ?? (await deps.store.getStreamedOutput(org, id, node));
    const status = known ?? stored?.nodes.find((n) => n.name === node)?.status ?? 'new';
    const fields: Omit<NodeOutputData['end'], 'timestamp'> = {
      node,
      status,
      stdout_truncated: streamed?.stdoutTruncated ?? false,
      stderr_truncated: streamed?.stderrTruncated ?? false,
    };
    const data = eventData(deps.feeds.nextTimestamp(), fields);
    // `end` is this stream's own event (not a job feed event).
    conn.send([{ event: 'end', id: 'end', data } as unknown as SseEvent]);
    conn.end();
  };
  /** A stored final output sent as chunks, numbered after what was sent. */
  const sendWhole = (bytes: Buffer, channel: 'stdout' | 'stderr', truncated: boolean): void => {
    let rest = bytes;
    while (rest.length > 0) {
      const piece = cutUtf8(rest, MAX_OUTPUT_CHUNK_BYTES);
      const take = piece.length > 0 ? piece : rest.subarray(0, MAX_OUTPUT_CHUNK_BYTES);
      rest = rest.subarray(take.length);
      const last = rest.length === 0;
      sendChunk({
        node,
        channel,
        data: take.toString('utf8'),
        sequence: lastSeq + 1,
        ...(truncated && last ? { truncated: true as const } : {}),
      });
    }
  };

  const sub = deps.feeds.subscribeJob(org, id, undefined, {
    onEvent: (event) => {
      if (event.event === 'output') {
        if (event.data.node !== node) return;
        if (replaying) held.push(event);
        else sendChunk(event.data);
        return;
      }
      const ended = nodeEnded(event);
      if (ended === undefined || finished !== undefined) return;
      finished = ended;
      if (!replaying) void end(ended).catch(() => conn.end());
    },
    onEnd: () => {
      if (finished !== undefined) return;
      finished = null;
      if (!replaying) void end(null).catch(() => conn.end());
    },
  });
  if (sub !== undefined) {
    conn.onClose(sub.unsubscribe);
    if (sub.finished) finished ??= null;
    for (const event of sub.events) {
      const ended = nodeEnded(event);
      if (ended !== undefined && finished === undefined) finished = ended;
    }
  } else {
    finished = null; // nothing live here: what is stored, then the end
  }

  try {
    // What is stored, page by page, then what is taken and not yet written, then what came live.
    for (;;) {
      const page = await deps.store.getJobOutputChunks(org, id, node, lastSeq, REPLAY_PAGE);
      for (const chunk of page) sendChunk(chunkFields(chunk));
      if (page.length < REPLAY_PAGE || conn.closed) break;
    }
    for (const chunk of deps.output?.unwritten(org, id, node) ?? []) sendChunk(chunkFields(chunk));
    for (const event of held.splice(0)) if (event.event === 'output') sendChunk(event.data);
    replaying = false;
    if (finished !== undefined) await end(finished);
  } catch (error) {
    // The response is the stream's: the client sees it end; the error is the request's log's.
    request.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'output stream failed');
    conn.end();
  }
}

/** Registers the per-node output stream (with the feeds: it shares their open connections). */
export function registerOutputStreamRoute(
  app: FastifyInstance,
  deps: OutputStreamDeps,
  open: Set<SseConnection>,
): void {
  defineRoute(app, '/organizations/:org/pushy/jobs/:id/output/:node/stream', {
    GET: {
      access: 'read',
      produces: EVENT_STREAM,
      handler: (request, reply) => outputStream(deps, open, request, reply),
    },
  });
}
