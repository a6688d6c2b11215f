/**
 * Live output: the chunks of `output` messages nodes stream while a job with capture runs
 * (issue 24). Kept apart from the job state machine: a chunk is never an input of a
 * {@link JobRun}, so output can neither change a job's outcome nor wait behind its inputs.
 *
 * {@link LiveOutput.accept} (synchronous, cheap) validates a chunk's fields, de-duplicates and
 * orders by `seq` (a chunk at or below the node's last accepted `seq` is a repeat, ignored),
 * enforces the per-node, per-job cap (`output_stream_max_bytes`: never more than the cap is
 * taken; the chunk that crosses it is cut on a character boundary and marked truncated, later
 * ones are refused) and queues the chunk. The queue is drained on later event-loop turns, a slice
 * at a time, so control messages read in the same batch are handled first: each chunk is
 * published on the job's feed (an `output` event) and buffered for the store. Buffers are written
 * per job every {@link LiveOutputOptions.flushMs} or {@link LiveOutputOptions.flushChunks}
 * chunks, one write in flight per job.
 *
 * Bounds: the publish queue holds at most `maxQueuedChunks` (beyond, a chunk is shed); chunks
 * not yet written hold at most `maxBufferedBytes` over all jobs (beyond, the oldest unwritten
 * chunks of the job being appended to are dropped). Every loss (shed, dropped, a failed write, a
 * `seq` skipped by the node's own stream) counts as a gap of that node, and is counted in
 * {@link LiveOutput.stats} and logged rate-limited. A write that fails is logged and not retried:
 * it never holds up or fails the job.
 *
 * The final `succeeded`/`failed` still carries the whole output (capped by the agent). What is
 * stored as the node's output then ({@link LiveOutput.settle}): the streamed output when the
 * stream is complete (every `seq` from 0 to the last written, no loss) and at least as long on
 * both channels as the final message's; otherwise the final message's (an agent that does not
 * stream, the Ruby client, or a stream with gaps).
 *
 * @module
 */
import {
  MAX_OUTPUT_CHUNK_BYTES,
  SILENT_LOGGER,
  errorMessage,
  type Logger,
  type MessageBody,
} from '@push-jobs/protocol/internal';
import type { JobEventSink } from '../feeds/types.js';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import type { JobOutputChunk, JobOutputRecord, Store } from '../store/types.js';

/** What {@link LiveOutput} is built from. */
export interface LiveOutputOptions {
  store: Pick<Store, 'appendJobOutputChunks' | 'getStreamedOutput'>;
  /** Where `output` events go (the feed hub). */
  events: JobEventSink;
  /** The most bytes one node may stream for one job (`output_stream_max_bytes`). */
  capBytes: number;
  /** Losses and write failures (warn, rate-limited). @default silent */
  log?: Logger;
  /** A job's buffered chunks are written at least this often, ms. @default 200 */
  flushMs?: number;
  /** ... or as soon as this many are buffered (a write is a store transaction: few and large keeps the jobs' own writes from waiting behind them). @default 4096 */
  flushChunks?: number;
  /** Chunks accepted and not yet published, over all jobs; beyond, chunks are shed. @default 8192 */
  maxQueuedChunks?: number;
  /** Bytes of chunks not yet written, over all jobs; beyond, the oldest are dropped. @default 16 MiB */
  maxBufferedBytes?: number;
  /** Chunks published per event-loop turn. @default 256 */
  publishPerTurn?: number;
  /** How long {@link LiveOutput.settle} waits for a node's chunks to be written, ms. @default 2000 */
  settleWaitMs?: number;
}

/** Counters of the output path (see the module documentation). */
export interface LiveOutputStats {
  /** Chunks taken (published and buffered for the store). */
  accepted: number;
  /** Bytes of the chunks taken. */
  acceptedBytes: number;
  /** Repeats (a `seq` at or below the last accepted). */
  duplicates: number;
  /** Messages of the wrong shape. */
  invalid: number;
  /** Chunks refused or cut at the cap. */
  capped: number;
  /** Chunks shed because the publish queue was full. */
  shed: number;
  /** Chunks dropped unwritten because the store fell behind. */
  droppedUnwritten: number;
  /** Chunks whose write failed. */
  writeFailures: number;
  /** Chunks written. */
  written: number;
  /** Writes (statements batches) made. */
  writes: number;
}

/** Why {@link LiveOutput.accept} did not take a chunk, or `accepted`. */
export type ChunkVerdict = 'accepted' | 'duplicate' | 'invalid' | 'capped' | 'shed';

interface NodeStream {
  /** Highest `seq` accepted; -1 before the first. */
  lastSeq: number;
  /** Bytes taken (both channels). */
  bytes: number;
  /** The cap was reached: nothing more is taken. */
  truncated: boolean;
  /** Chunks of this node known lost (skipped `seq`s, shed, dropped, failed writes). */
  lost: number;
  /** Chunks written to the store. */
  written: number;
}

interface QueuedChunk {
  job: JobStreams;
  chunk: JobOutputChunk;
  text: string;
}

interface JobStreams {
  readonly org: string;
  readonly id: string;
  readonly nodes: Map<string, NodeStream>;
  /** Published, not yet handed to the store. */
  buffer: JobOutputChunk[];
  /** Handed to the store, not yet answered. */
  inFlight: JobOutputChunk[];
  timer: NodeJS.Timeout | undefined;
  /** The write in flight, if any. */
  writing: Promise<void> | undefined;
  /** The job ended: state goes once the last write is done. */
  ended: boolean;
}

/** Cuts UTF-8 `bytes` to at most `max` bytes without splitting a character. */
export function cutUtf8(bytes: Buffer, max: number): Buffer {
  if (bytes.length <= max) return bytes;
  let end = Math.max(0, max);
  // Back off over continuation bytes (10xxxxxx) to the start of the character cut in two.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/** The fields of a valid `output` message, or undefined. */
function chunkFields(
  body: MessageBody,
): { seq: number; channel: 'stdout' | 'stderr'; data: string; truncated: boolean } | undefined {
  const { seq, channel, data, truncated } = body;
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0 || seq > 2147483647) return undefined;
  if (channel !== 'stdout' && channel !== 'stderr') return undefined;
  if (typeof data !== 'string') return undefined;
  if (truncated !== undefined && typeof truncated !== 'boolean') return undefined;
  return { seq, channel, data, truncated: truncated === true };
}

/** See the module documentation. */
export class LiveOutput {
  readonly stats: LiveOutputStats = {
    accepted: 0,
    acceptedBytes: 0,
    duplicates: 0,
    invalid: 0,
    capped: 0,
    shed: 0,
    droppedUnwritten: 0,
    writeFailures: 0,
    written: 0,
    writes: 0,
  };
  private readonly jobs = new Map<string, JobStreams>();
  private readonly queue: QueuedChunk[] = [];
  private queueHead = 0;
  private draining = false;
  private bufferedBytes = 0;
  private readonly log: Logger;
  private readonly drops: RateLimitedLog;
  private readonly flushMs: number;
  private readonly flushChunks: number;
  private readonly maxQueued: number;
  private readonly maxBuffered: number;
  private readonly perTurn: number;
  private readonly settleWaitMs: number;

  constructor(private readonly opts: LiveOutputOptions) {
    this.log = opts.log ?? SILENT_LOGGER;
    this.drops = new RateLimitedLog(this.log);
    this.flushMs = opts.flushMs ?? 200;
    this.flushChunks = opts.flushChunks ?? 4096;
    this.maxQueued = opts.maxQueuedChunks ?? 8192;
    this.maxBuffered = opts.maxBufferedBytes ?? 16 * 1024 * 1024;
    this.perTurn = opts.publishPerTurn ?? 256;
    this.settleWaitMs = opts.settleWaitMs ?? 2000;
  }

  /** The cap this collector enforces, bytes per node and job. */
  get capBytes(): number {
    return this.opts.capBytes;
  }

  /** Chunks accepted and waiting to be published (the shedding gauge). */
  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  /**
   * Takes one `output` message of `node` in job `jobId` (the caller checked the node runs the
   * job). Synchronous; publishing and writing happen on later turns.
   */
  accept(org: string, jobId: string, node: string, body: MessageBody): ChunkVerdict {
    const fields = chunkFields(body);
    const bytes = fields === undefined ? undefined : Buffer.from(fields.data, 'utf8');
    if (fields === undefined || bytes === undefined || bytes.length > MAX_OUTPUT_CHUNK_BYTES) {
      this.stats.invalid++;
      this.warn('invalid', org, node, jobId, 'not a valid output chunk');
      return 'invalid';
    }
    const job = this.job(org, jobId);
    let stream = job.nodes.get(node);
    if (stream === undefined) {
      stream = { lastSeq: -1, bytes: 0, truncated: false, lost: 0, written: 0 };
      job.nodes.set(node, stream);
    }
    if (fields.seq <= stream.lastSeq) {
      this.stats.duplicates++;
      return 'duplicate';
    }
    if (stream.truncated) {
      this.stats.capped++;
      return 'capped';
    }
    stream.lost += fields.seq - stream.lastSeq - 1;
    stream.lastSeq = fields.seq;
    if (this.queued >= this.maxQueued) {
      stream.lost++;
      this.stats.shed++;
      this.warn('shed', org, node, jobId, 'output queue full: chunk shed');
      return 'shed';
    }
    let data: Buffer = bytes;
    let text = fields.data;
    let truncated = fields.truncated;
    const room = this.opts.capBytes - stream.bytes;
    if (data.length > room) {
      data = cutUtf8(data, room);
      text = data.toString('utf8');
      truncated = true;
      this.stats.capped++;
    }
    stream.bytes += data.length;
    if (truncated) stream.truncated = true;
    this.stats.accepted++;
    this.stats.acceptedBytes += data.length;
    this.queue.push({
      job,
      text,
      chunk: { node, seq: fields.seq, channel: fields.channel, data, truncated },
    });
    this.scheduleDrain();
    return 'accepted';
  }

  /**
   * The chunks of `node` in job `jobId` published and not yet written (the per-node stream joins
   * them to what the store has), in `seq` order.
   */
  unwritten(org: string, jobId: string, node: string): JobOutputChunk[] {
    const job = this.jobs.get(jobId);
    if (job === undefined || job.org !== org) return [];
    return [...job.inFlight, ...job.buffer].filter((c) => c.node === node).sort((a, b) => a.seq - b.seq);
  }

  /**
   * The output to store for `node` once its final message came with `final` (see the module
   * documentation). Waits at most `settleWaitMs` for the node's chunks to be written; never
   * rejects (on any trouble, `final`).
   */
  async settle(org: string, jobId: string, node: string, final: JobOutputRecord): Promise<JobOutputRecord> {
    const job = this.jobs.get(jobId);
    const stream = job?.nodes.get(node);
    if (job === undefined || job.org !== org || stream === undefined) return final;
    try {
      this.drainAll();
      const written = await this.writtenWithin(job, this.settleWaitMs);
      if (!written || stream.lost > 0 || stream.written !== stream.lastSeq + 1) return final;
      // A complete stream holds what the command printed, as the final message does unless that
      // was cut: not longer, it is the same bytes (or fewer), so it is not read back.
      if (stream.bytes <= final.stdout.length + final.stderr.length) return final;
      const streamed = await this.opts.store.getStreamedOutput(org, jobId, node);
      if (streamed === undefined) return final;
      if (streamed.stdout.length < final.stdout.length || streamed.stderr.length < final.stderr.length) {
        return final;
      }
      return streamed;
    } catch (error) {
      this.warn('settle', org, node, jobId, errorMessage(error));
      return final;
    }
  }

  /** The job ended: its remaining chunks are written, then its state goes. */
  jobEnded(org: string, jobId: string): void {
    const job = this.jobs.get(jobId);
    if (job === undefined || job.org !== org) return;
    job.ended = true;
    this.drainAll();
    this.flush(job);
  }

  /** Publishes what is queued and writes every buffer now (shutdown, tests). */
  async flushAll(): Promise<void> {
    this.drainAll();
    await Promise.all(
      [...this.jobs.values()].map((job) => this.writtenWithin(job, Number.POSITIVE_INFINITY)),
    );
  }

  /** Stops the timers; unwritten chunks are dropped (the final messages still carry the output). */
  close(): void {
    for (const job of this.jobs.values()) clearTimeout(job.timer);
    this.jobs.clear();
    this.queue.length = 0;
    this.queueHead = 0;
  }

  private job(org: string, id: string): JobStreams {
    let job = this.jobs.get(id);
    if (job === undefined || job.org !== org) {
      job = {
        org,
        id,
        nodes: new Map(),
        buffer: [],
        inFlight: [],
        timer: undefined,
        writing: undefined,
        ended: false,
      };
      this.jobs.set(id, job);
    }
    return job;
  }

  private scheduleDrain(): void {
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => this.drainSlice());
  }

  /** Publishes one slice of the queue, then yields to the event loop until it is empty. */
  private drainSlice(): void {
    this.publish(this.perTurn);
    if (this.queued > 0) setImmediate(() => this.drainSlice());
    else this.draining = false;
  }

  private drainAll(): void {
    this.publish(Number.POSITIVE_INFINITY);
  }

  private publish(max: number): void {
    let n = 0;
    while (this.queueHead < this.queue.length && n < max) {
      const item = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined as unknown as QueuedChunk;
      n++;
      const { job, chunk, text } = item;
      this.opts.events.emit(job.org, job.id, 'output', {
        node: chunk.node,
        channel: chunk.channel,
        data: text,
        sequence: chunk.seq,
        ...(chunk.truncated ? { truncated: true as const } : {}),
      });
      this.buffer(job, chunk);
    }
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 4096) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  private buffer(job: JobStreams, chunk: JobOutputChunk): void {
    job.buffer.push(chunk);
    this.bufferedBytes += chunk.data.length;
    while (this.bufferedBytes > this.maxBuffered && job.buffer.length > 0) {
      const oldest = job.buffer.shift()!;
      this.bufferedBytes -= oldest.data.length;
      this.lose(job, oldest.node, 1);
      this.stats.droppedUnwritten++;
      this.warn('behind', job.org, oldest.node, job.id, 'store behind: unwritten output dropped');
    }
    if (job.buffer.length >= this.flushChunks) this.flush(job);
    else if (job.timer === undefined) {
      job.timer = setTimeout(() => {
        job.timer = undefined;
        this.flush(job);
      }, this.flushMs);
      job.timer.unref();
    }
  }

  private lose(job: JobStreams, node: string, n: number): void {
    const stream = job.nodes.get(node);
    if (stream !== undefined) stream.lost += n;
  }

  /** Writes the job's buffer unless a write is in flight (that write's end flushes again). */
  private flush(job: JobStreams): void {
    if (job.timer !== undefined) {
      clearTimeout(job.timer);
      job.timer = undefined;
    }
    if (job.writing !== undefined) return;
    if (job.buffer.length === 0) {
      if (job.ended && this.jobs.get(job.id) === job) this.jobs.delete(job.id);
      return;
    }
    const chunks = job.buffer;
    job.buffer = [];
    job.inFlight = chunks;
    const bytes = chunks.reduce((sum, c) => sum + c.data.length, 0);
    this.stats.writes++;
    job.writing = this.opts.store
      .appendJobOutputChunks(job.org, job.id, chunks)
      .then(
        () => {
          this.stats.written += chunks.length;
          for (const c of chunks) {
            const stream = job.nodes.get(c.node);
            if (stream !== undefined) stream.written++;
          }
        },
        (error: unknown) => {
          this.stats.writeFailures += chunks.length;
          for (const c of chunks) this.lose(job, c.node, 1);
          this.drops.write(
            'warn',
            `write\u0000${job.id}`,
            { job: job.id, org: job.org, chunks: chunks.length, err: errorMessage(error) },
            'output chunks not written',
          );
        },
      )
      .finally(() => {
        this.bufferedBytes -= bytes;
        job.inFlight = [];
        job.writing = undefined;
        if (job.buffer.length > 0 && job.buffer.length >= this.flushChunks) this.flush(job);
        else if (job.buffer.length > 0 && job.timer === undefined) {
          job.timer = setTimeout(() => {
            job.timer = undefined;
            this.flush(job);
          }, this.flushMs);
          job.timer.unref();
        } else if (job.ended) this.flush(job);
      });
  }

  /** Writes the job's buffer and waits for it (at most `ms`); true when everything is written. */
  private async writtenWithin(job: JobStreams, ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    for (;;) {
      this.flush(job);
      const writing = job.writing;
      if (writing === undefined) return job.buffer.length === 0;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), Math.min(left, 2_147_483_647));
      });
      const outcome = await Promise.race([writing.then(() => 'done' as const), timeout]);
      clearTimeout(timer);
      if (outcome === 'late') return false;
    }
  }

  private warn(reason: string, org: string, node: string, job: string, detail: string): void {
    this.drops.write(
      'warn',
      `${reason}\u0000${org}/${node}`,
      { reason, org, node, job, detail },
      'output chunk dropped',
    );
  }
}
