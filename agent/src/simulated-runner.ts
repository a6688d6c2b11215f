/**
 * A job runner that runs nothing: it answers the protocol as the real runner does (commit,
 * run, abort, job state) and finishes each job after a set time, failing a set share of them.
 * The fleet simulator drives thousands of agents with it; tests use it where the command
 * itself does not matter.
 *
 * With {@link SimulatedJobRunnerOptions.outputIntervalMs}, the simulated command "prints" a line
 * every so often while it runs; the lines go through the real agent's live output path (an
 * {@link OutputStream}, then the connection's output queue) when the commit allows it, and a job
 * that captures output gets them in its final `succeeded`/`failed` too. With
 * {@link SimulatedJobRunnerOptions.originalClient}, it keeps the original client's message flow:
 * no `output` messages whatever the commit says, the output only at the end.
 *
 * @module
 */
import type { AgentJobState } from '@push-jobs/protocol/lite';
import { OutputStream } from './output-stream.js';
import type { CommitOptions, JobRunnerPort, RunnerReply, RunnerResultFields } from './runner-types.js';

/** Options of {@link SimulatedJobRunner}. */
export interface SimulatedJobRunnerOptions {
  /** Milliseconds a job "runs" before it finishes. @default 0 (finishes at once) */
  durationMs?: number;
  /** Share of jobs that finish `failed`, 0 to 1. @default 0 */
  failureRate?: number;
  /** Commands accepted (others are nacked). @default every command */
  allow?: (command: string) => boolean;
  /** Random source in [0, 1). @default Math.random */
  random?: () => number;
  /**
   * While a job runs, print a line every this many ms (on stdout; see {@link simulatedLine}).
   * @default 0 (prints nothing)
   */
  outputIntervalMs?: number;
  /**
   * Behave like the original (Ruby) client: never send `output` messages, even when the commit
   * carries `output_stream_max_bytes`; the captured output arrives with the final message only.
   * @default false
   */
  originalClient?: boolean;
}

/** Most bytes of printed lines kept for a job's final message (the rest is marked truncated). */
const MAX_KEPT_OUTPUT = 32_768;

/**
 * The `n`th line (from 0) a simulated command prints at `atMs` (epoch ms), newline included:
 * `simulated line N at EPOCH_MS` (the time lets a bench measure how long a line took to show).
 */
export function simulatedLine(n: number, atMs: number): string {
  return `simulated line ${n} at ${atMs}\n`;
}

/** A running job's printing: its timer, its live stream, and what it kept for the final message. */
interface Printing {
  timer: NodeJS.Timeout | undefined;
  stream: OutputStream | undefined;
  kept: string[];
  keptBytes: number;
  truncated: boolean;
  lines: number;
}

/** See the module documentation. */
export class SimulatedJobRunner implements JobRunnerPort {
  /** Jobs finished, by outcome. */
  readonly finished = { succeeded: 0, failed: 0, aborted: 0 };
  /** Lines printed, and output chunks produced, over every job. */
  readonly printed = { lines: 0, chunks: 0 };
  private current: { state: AgentJobState; jobId: string | null } = { state: 'idle', jobId: null };
  /** The committed (then running) job's commit options. */
  private options: CommitOptions = {};
  private timer: NodeJS.Timeout | undefined;
  private printing: Printing | undefined;
  private readonly outputIntervalMs: number;
  private readonly originalClient: boolean;
  private readonly durationMs: number;
  private readonly failureRate: number;
  private readonly allow: (command: string) => boolean;
  private readonly random: () => number;

  constructor(
    private readonly reply: (reply: RunnerReply) => void,
    options: SimulatedJobRunnerOptions = {},
  ) {
    this.durationMs = Math.max(0, options.durationMs ?? 0);
    this.failureRate = Math.min(1, Math.max(0, options.failureRate ?? 0));
    this.allow = options.allow ?? (() => true);
    this.random = options.random ?? Math.random;
    this.outputIntervalMs = Math.max(0, options.outputIntervalMs ?? 0);
    this.originalClient = options.originalClient === true;
  }

  commit(jobId: string, command: string, options: CommitOptions): void {
    if (this.current.jobId === jobId) {
      // The same commit again (re-sent after a reconnect), as the real runner takes it.
      if (this.current.state === 'committed') this.reply({ type: 'ack_commit', jobId });
      return;
    }
    if (this.current.state !== 'idle' || !this.allow(command)) {
      this.reply({ type: 'nack_commit', jobId });
      return;
    }
    this.current = { state: 'committed', jobId };
    this.options = options;
    this.reply({ type: 'ack_commit', jobId });
  }

  run(jobId: string): void {
    if (this.current.state === 'running' && this.current.jobId === jobId) return; // re-sent
    if (this.current.state !== 'committed' || this.current.jobId !== jobId) {
      this.reply({ type: 'nack_run', jobId });
      return;
    }
    this.current = { state: 'running', jobId };
    this.reply({ type: 'ack_run', jobId });
    const printing = this.startPrinting(jobId);
    const finish = (): void => {
      this.timer = undefined;
      if (this.current.jobId !== jobId) return;
      this.current = { state: 'idle', jobId: null };
      const failed = this.random() < this.failureRate;
      this.finished[failed ? 'failed' : 'succeeded'] += 1;
      const fields = this.endPrinting(printing);
      this.reply({
        type: failed ? 'failed' : 'succeeded',
        jobId,
        ...(fields === undefined ? {} : { fields }),
      });
    };
    if (this.durationMs === 0) finish();
    else this.timer = setTimeout(finish, this.durationMs);
  }

  /** Starts printing lines for the job now running, when asked to. */
  private startPrinting(jobId: string): Printing | undefined {
    const capture = this.options.capture === true;
    if (this.outputIntervalMs === 0 && !capture) return undefined;
    const maxBytes = this.options.outputStreamMaxBytes;
    const stream =
      capture && maxBytes !== undefined && !this.originalClient && this.outputIntervalMs > 0
        ? new OutputStream({
            maxBytes,
            send: (fields) => {
              this.printed.chunks += 1;
              this.reply({ type: 'output', jobId, fields });
            },
          })
        : undefined;
    const printing: Printing = {
      timer: undefined,
      stream,
      kept: [],
      keptBytes: 0,
      truncated: false,
      lines: 0,
    };
    if (this.outputIntervalMs > 0) {
      printing.timer = setInterval(() => this.printLine(printing), this.outputIntervalMs);
      printing.timer.unref();
    }
    this.printing = printing;
    return printing;
  }

  private printLine(printing: Printing): void {
    const line = simulatedLine(printing.lines, Date.now());
    printing.lines += 1;
    this.printed.lines += 1;
    printing.stream?.write('stdout', Buffer.from(line, 'utf8'));
    if (this.options.capture !== true) return;
    if (printing.keptBytes + line.length > MAX_KEPT_OUTPUT) printing.truncated = true;
    else {
      printing.kept.push(line);
      printing.keptBytes += line.length;
    }
  }

  /**
   * Stops printing; flushes the live stream (before the final reply, as the real runner does)
   * and answers the final message's output fields when the job captures output.
   */
  private endPrinting(printing: Printing | undefined): RunnerResultFields | undefined {
    if (printing === undefined) return undefined;
    clearInterval(printing.timer);
    printing.stream?.end();
    if (this.printing === printing) this.printing = undefined;
    if (this.options.capture !== true) return undefined;
    return {
      stdout: printing.kept.join(''),
      stderr: '',
      ...(printing.truncated ? { stdout_truncated: true } : {}),
    };
  }

  /** Stops printing without sending anything more (abort, shutdown). */
  private dropPrinting(): void {
    const printing = this.printing;
    if (printing === undefined) return;
    clearInterval(printing.timer);
    printing.stream?.close();
    this.printing = undefined;
  }

  abort(abortJobId?: string): void {
    if (abortJobId !== undefined && abortJobId !== this.current.jobId) {
      // An abort of another job than the one held stops nothing (see JobRunnerPort.abort).
      this.reply({ type: 'aborted', jobId: null });
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.dropPrinting();
    const jobId = this.current.jobId;
    if (this.current.state !== 'idle') this.finished.aborted += 1;
    this.current = { state: 'idle', jobId: null };
    this.reply({ type: 'aborted', jobId });
  }

  releaseCommitted(_reason: string): boolean {
    if (this.current.state !== 'committed') return false;
    const jobId = this.current.jobId;
    this.current = { state: 'idle', jobId: null };
    this.reply({ type: 'aborted', jobId });
    return true;
  }

  state(): { state: AgentJobState; jobId: string | null } {
    return { ...this.current };
  }

  /** Cancels a job in progress without answering (agent shutdown). */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.dropPrinting();
    this.current = { state: 'idle', jobId: null };
  }
}
