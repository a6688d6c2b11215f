/**
 * Progress of a waiting `push jobs start`: plain lines (not a terminal), or a live line on a
 * terminal with the elapsed time and the number of nodes in each state, each node printed
 * above it as it finishes.
 *
 * @module
 */
import { ux } from '@oclif/core';
import { isTerminalNodeJobState } from '@push-jobs/protocol';
import { budgetText, windowText } from '../jobs/rollout.js';
import type { JobTracker, ProgressChange } from '../jobs/tracker.js';
import { activityText } from './busy.js';
import { colorState, statusText } from './job-format.js';

/** Shows the progress of one job. */
export interface ProgressView {
  /** Starts showing (the live line and its timer). */
  start(tracker: JobTracker): void;
  /** Reports changes. */
  update(changes: ProgressChange[], tracker: JobTracker): void;
  /** Stops showing; the live line is cleared. Idempotent. */
  stop(): void;
  /** Runs `print` (a line on stderr) without mangling the view: the live line is cleared first. */
  aside(print: () => void): void;
}

/** A view that shows nothing (`--json`, `--progress none`). */
export const NO_PROGRESS: ProgressView = {
  start() {},
  update() {},
  stop() {},
  aside(print) {
    print();
  },
};

/** ` (busy running job ID)` for a node that nacked because it is busy, else nothing. */
function busySuffix(change: ProgressChange): string {
  return change.kind === 'node' && change.busy !== undefined
    ? ` (busy ${activityText(change.busy.state, change.busy.job_id)})`
    : '';
}

/** The window line of a rollout being tracked (see {@link windowText}), else undefined. */
export function trackerWindow(tracker: JobTracker): string | undefined {
  return tracker.rollout === undefined
    ? undefined
    : windowText(tracker.rollout, tracker.nodes.values(), isTerminalNodeJobState);
}

/** `Search: roles:web. Rollout: window 2, max errors 1.` for a `start` change. */
export function startText(c: Extract<ProgressChange, { kind: 'start' }>): string {
  const parts: string[] = [];
  if (c.search !== undefined) parts.push(`Search: ${c.search}.`);
  const rollout: string[] = [];
  if (c.maxConcurrency !== undefined)
    rollout.push(
      `window ${c.maxConcurrency} (at most ${c.maxConcurrency} node${c.maxConcurrency === 1 ? '' : 's'} at once)`,
    );
  if (c.maxErrors !== undefined) rollout.push(`max errors ${c.maxErrors}`);
  if (rollout.length > 0) parts.push(`Rollout: ${rollout.join(', ')}.`);
  return parts.join(' ');
}

/** `Error budget spent: 2 failed > max errors 1; 6 nodes skipped.` */
function budgetLine(c: Extract<ProgressChange, { kind: 'budget' }>): string {
  const text = budgetText(c.failed, c.maxErrors, c.skipped);
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

/**
 * One line per change: `Voting.`, `web1: succeeded`, `Complete.`. In a rollout, a node's start
 * and end lines end with the window (`[running 2/2 (window 2), done 5/10, failed 1 (max errors 1)]`).
 */
export class PlainProgress implements ProgressView {
  constructor(private readonly write: (text: string) => void) {}

  start(): void {}

  update(changes: ProgressChange[], tracker?: JobTracker): void {
    const window = tracker === undefined ? undefined : trackerWindow(tracker);
    const withWindow = (line: string): string => (window === undefined ? line : `${line}  [${window}]`);
    for (const c of changes) {
      switch (c.kind) {
        case 'status':
          this.write(`${statusText(c.status)}\n`);
          break;
        case 'node':
          this.write(`${withWindow(`${c.node}: ${c.state}${busySuffix(c)}`)}\n`);
          break;
        case 'start':
          this.write(`${startText(c)}\n`);
          break;
        case 'started':
          this.write(`${withWindow(`${c.node}: started`)}\n`);
          break;
        case 'budget':
          this.write(`${budgetLine(c)}\n`);
          break;
      }
    }
  }

  stop(): void {}

  aside(print: () => void): void {
    print();
  }
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR_LINE = '\r\u001B[2K';

/** `12.3s`, `4m05s`, `1h02m`. */
export function formatElapsed(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** The text of the live line (without colours when `colored` is false). */
export function liveLine(tracker: JobTracker, elapsedMs: number, frame: number, width: number): string {
  const total = tracker.nodes.size;
  const counts = tracker
    .counts()
    .map(([state, n]) => `${state} ${n}`)
    .join(' · ');
  const window = trackerWindow(tracker);
  const tail = window === undefined ? `${tracker.finishedNodes()}/${total} done  ${counts}` : window;
  const text = `${SPINNER[frame % SPINNER.length]} ${statusText(tracker.status).replace(/\.$/, '')}  ${formatElapsed(elapsedMs)}  ${tail}`;
  return text.length > width - 1 ? `${text.slice(0, Math.max(0, width - 2))}…` : text;
}

/** The live view of a terminal. */
export class LiveProgress implements ProgressView {
  #timer: NodeJS.Timeout | undefined;
  #frame = 0;
  #tracker: JobTracker | undefined;
  readonly #started: number;

  constructor(
    private readonly write: (text: string) => void,
    private readonly width: () => number,
    private readonly now: () => number = Date.now,
  ) {
    this.#started = now();
  }

  start(tracker: JobTracker): void {
    this.#tracker = tracker;
    this.#draw();
    this.#timer = setInterval(() => {
      this.#frame++;
      this.#draw();
    }, 100);
    this.#timer.unref();
  }

  update(changes: ProgressChange[], tracker: JobTracker): void {
    this.#tracker = tracker;
    let out = CLEAR_LINE;
    for (const c of changes) {
      if (c.kind === 'node') {
        const mark =
          c.state === 'succeeded' ? '✔' : c.state === 'nacked' || c.state === 'unavailable' ? '–' : '✖';
        out += `${colorState(`${mark} ${c.node}`, c.state)} ${c.state}${busySuffix(c)}\n`;
      } else if (c.kind === 'status' && !['new', 'voting', 'running'].includes(c.status)) {
        out += `${colorState(statusText(c.status), c.status)}\n`;
      } else if (c.kind === 'start') {
        out += `${startText(c)}\n`;
      } else if (c.kind === 'budget') {
        out += `${ux.colorize('red', budgetLine(c))}\n`;
      }
    }
    this.write(out);
    this.#draw(false);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#tracker !== undefined) this.write(CLEAR_LINE);
    this.#tracker = undefined;
  }

  aside(print: () => void): void {
    if (this.#tracker !== undefined) this.write(CLEAR_LINE);
    print();
    this.#draw(false);
  }

  #draw(clear = true): void {
    if (this.#tracker === undefined) return;
    const line = liveLine(this.#tracker, this.now() - this.#started, this.#frame, this.width());
    this.write(`${clear ? CLEAR_LINE : ''}${ux.colorize('gray', line)}`);
  }
}
