/**
 * The agent's outgoing queue: two lanes over one DEALER socket. Control messages (heartbeats and
 * the job replies: ack_commit, ack_run, succeeded, failed, aborted, ...) go out in order and
 * first; live `output` chunks go out only while no control message waits, from a bounded lane
 * that sheds its oldest chunk when full (the receiver sees the gap as a jump in `seq`). So a flood
 * of output never delays job control or heartbeats by more than the one chunk being handed to the
 * socket.
 *
 * A message is built (enveloped, sequenced, signed) when it is handed to the socket, not when it
 * is queued: a control message that overtakes a chunk therefore still carries the lower envelope
 * `sequence`, and the server, which refuses a sequence that does not go forward, takes both.
 *
 * A job's final reply (`succeeded`, `failed`, `aborted`) is sent after the chunks queued before
 * it, so the output of a job arrives before its end: those chunks get one short, bounded chance
 * ({@link FENCE_PATIENCE_MS} in all) and are shed if the socket stays full.
 *
 * @module
 */

/** What the queue hands to the socket. */
export type Frames = [Buffer, Buffer];

/**
 * Hands `frames` to the socket, waiting for room until `deadline` (Date.now() ms; a past one
 * means one try). With `yieldTo`, a wait for room gives up early (answering 'yielded') as soon as
 * `yieldTo()` is true. Throws when the message could not be queued in time.
 */
export type Transmit = (
  frames: Frames,
  deadline: number,
  yieldTo?: () => boolean,
) => Promise<'sent' | 'yielded'>;

/** Options of {@link SendQueue}. */
export interface SendQueueOptions {
  readonly transmit: Transmit;
  /** A control message was sent (`waitedMs`: how long it waited for room). */
  readonly controlSent?: (type: string, waitedMs: number) => void;
  /** A control message could not be sent. */
  readonly controlFailed?: (type: string, error: unknown) => void;
  /** Output chunks were shed (the lane was full, or the socket stayed full). */
  readonly outputDropped?: (count: number) => void;
  /** Most output chunks waiting. @default {@link MAX_QUEUED_OUTPUT} */
  readonly maxQueuedOutput?: number;
  /** How long one output chunk may wait for room in the socket, ms. @default {@link OUTPUT_PATIENCE_MS} */
  readonly outputPatienceMs?: number;
}

/** Default {@link SendQueueOptions.maxQueuedOutput}: 32 chunks, at most 512 KiB. */
export const MAX_QUEUED_OUTPUT = 32;
/** Default {@link SendQueueOptions.outputPatienceMs}. */
export const OUTPUT_PATIENCE_MS = 5000;
/** The most a job's final reply waits for the output queued before it, in all, ms. */
export const FENCE_PATIENCE_MS = 250;

/** The control replies that end a job: the job's queued output goes before them. */
const FINAL_TYPES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'aborted']);

interface ControlItem {
  readonly type: string;
  readonly build: () => Frames | undefined;
  readonly patienceMs: number;
  readonly done: () => void;
}

interface OutputItem {
  readonly build: () => Frames | undefined;
  /** Set at its first try. */
  deadline?: number;
}

/** See the module documentation. */
export class SendQueue {
  private readonly control: ControlItem[] = [];
  private output: OutputItem[] = [];
  private readonly maxOutput: number;
  private readonly outputPatienceMs: number;
  private pumping: Promise<void> | undefined;
  private closedValue = false;
  /** Output chunks handed to the socket, and shed. */
  readonly outputCounts = { sent: 0, dropped: 0 };

  constructor(private readonly opts: SendQueueOptions) {
    this.maxOutput = Math.max(1, opts.maxQueuedOutput ?? MAX_QUEUED_OUTPUT);
    this.outputPatienceMs = Math.max(0, opts.outputPatienceMs ?? OUTPUT_PATIENCE_MS);
  }

  /** Output chunks waiting. */
  get queuedOutput(): number {
    return this.output.length;
  }

  /**
   * Queues a control message (`build` runs when it is its turn; undefined: nothing to send).
   * Resolves once it was handed to the socket, or given up.
   */
  sendControl(type: string, build: () => Frames | undefined, patienceMs: number): Promise<void> {
    if (this.closedValue) return Promise.resolve();
    const sent = new Promise<void>((resolve) =>
      this.control.push({ type, build, patienceMs, done: resolve }),
    );
    this.pump();
    return sent;
  }

  /** Queues an output chunk, shedding the oldest waiting one when the lane is full. */
  sendOutput(build: () => Frames | undefined): void {
    if (this.closedValue) return;
    if (this.output.length >= this.maxOutput)
      this.dropOutput(this.output.splice(0, this.output.length - this.maxOutput + 1).length);
    this.output.push({ build });
    this.pump();
  }

  /** Resolves when nothing is waiting or being sent. */
  async idle(): Promise<void> {
    while (this.pumping !== undefined) await this.pumping;
  }

  /** Drops every waiting output chunk and takes no more messages (control ones waiting still go). */
  close(): void {
    this.closedValue = true;
    this.output = [];
  }

  private dropOutput(count: number): void {
    if (count <= 0) return;
    this.outputCounts.dropped += count;
    this.opts.outputDropped?.(count);
  }

  private pump(): void {
    if (this.pumping !== undefined) return;
    this.pumping = this.drain().finally(() => {
      this.pumping = undefined;
      // Something queued while the last step settled.
      if (this.control.length > 0 || this.output.length > 0) this.pump();
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      const control = this.control.shift();
      if (control !== undefined) {
        if (FINAL_TYPES.has(control.type)) await this.fence();
        await this.sendControlItem(control);
        continue;
      }
      const output = this.output.shift();
      if (output === undefined) return;
      const verdict = await this.sendOutputItem(output, () => this.control.length > 0);
      // Yielded to a control message: this chunk goes right after it (built again then).
      if (verdict === 'yielded') this.output.unshift(output);
    }
  }

  /** Sends the output waiting before a job's final reply, within {@link FENCE_PATIENCE_MS}. */
  private async fence(): Promise<void> {
    const deadline = Date.now() + FENCE_PATIENCE_MS;
    for (let item = this.output.shift(); item !== undefined; item = this.output.shift()) {
      if (Date.now() >= deadline) {
        this.dropOutput(1 + this.output.splice(0).length);
        return;
      }
      item.deadline = Math.min(item.deadline ?? deadline, deadline);
      await this.sendOutputItem(item);
    }
  }

  private async sendControlItem(item: ControlItem): Promise<void> {
    try {
      const frames = item.build();
      if (frames === undefined) return;
      const started = Date.now();
      await this.opts.transmit(frames, started + item.patienceMs);
      this.opts.controlSent?.(item.type, Date.now() - started);
    } catch (err) {
      this.opts.controlFailed?.(item.type, err);
    } finally {
      item.done();
    }
  }

  private async sendOutputItem(
    item: OutputItem,
    yieldTo?: () => boolean,
  ): Promise<'sent' | 'yielded' | 'dropped'> {
    item.deadline ??= Date.now() + this.outputPatienceMs;
    let frames: Frames | undefined;
    try {
      frames = item.build();
    } catch {
      frames = undefined;
    }
    if (frames === undefined) {
      this.dropOutput(1);
      return 'dropped';
    }
    try {
      const verdict = await this.opts.transmit(frames, item.deadline, yieldTo);
      if (verdict === 'sent') this.outputCounts.sent += 1;
      return verdict;
    } catch {
      this.dropOutput(1);
      return 'dropped';
    }
  }
}
