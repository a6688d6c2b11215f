/**
 * A job runner that runs nothing: it answers the protocol as the real runner does (commit,
 * run, abort, job state) and finishes each job after a set time, failing a set share of them.
 * The fleet simulator drives thousands of agents with it; tests use it where the command
 * itself does not matter.
 *
 * @module
 */
import type { AgentJobState } from '@push-jobs/protocol/lite';
import type { CommitOptions, JobRunnerPort, RunnerReply } from './runner-types.js';

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
}

/** See the module documentation. */
export class SimulatedJobRunner implements JobRunnerPort {
  /** Jobs finished, by outcome. */
  readonly finished = { succeeded: 0, failed: 0, aborted: 0 };
  private current: { state: AgentJobState; jobId: string | null } = { state: 'idle', jobId: null };
  private timer: NodeJS.Timeout | undefined;
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
  }

  commit(jobId: string, command: string, _options: CommitOptions): void {
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
    const finish = (): void => {
      this.timer = undefined;
      if (this.current.jobId !== jobId) return;
      this.current = { state: 'idle', jobId: null };
      const failed = this.random() < this.failureRate;
      this.finished[failed ? 'failed' : 'succeeded'] += 1;
      this.reply({ type: failed ? 'failed' : 'succeeded', jobId });
    };
    if (this.durationMs === 0) finish();
    else this.timer = setTimeout(finish, this.durationMs);
  }

  abort(abortJobId?: string): void {
    if (abortJobId !== undefined && abortJobId !== this.current.jobId) {
      // An abort of another job than the one held stops nothing (see JobRunnerPort.abort).
      this.reply({ type: 'aborted', jobId: null });
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
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
    this.current = { state: 'idle', jobId: null };
  }
}
