/**
 * Riding out a server restart. The waiting commands (`push jobs start`, `push jobs watch`) hand
 * every request of their wait to one {@link Reconnector}: a connection error (refused, reset,
 * socket hang up, timed out, 502/503/504, a feed the server closed early) is retried with
 * backoff (250 ms doubling to 5 s, with jitter) until the outage has lasted the reconnect
 * timeout. One line on stderr says an outage began and one that it ended; when the time is up
 * the wait fails with an error naming the job and how to check it later.
 *
 * @module
 */
import { setTimeout as delay } from 'node:timers/promises';
import { API_ERROR_CODES, isPushApiError } from '@push-jobs/protocol';
import { CliError, EXIT_CODES } from '../errors.js';

/** The first retry delay; each next one doubles, up to {@link BACKOFF_MAX_MS}. */
export const BACKOFF_INITIAL_MS = 250;

/** The longest retry delay. */
export const BACKOFF_MAX_MS = 5000;

/** HTTP statuses a proxy or a restarting server answers with: worth retrying. */
const RETRY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/** A host name that does not resolve is a setting to fix, not an outage to wait out. */
const NOT_RETRIED_CAUSES: ReadonlySet<string> = new Set(['ENOTFOUND']);

/** An event feed ended before the job did (the server shut down, or a proxy closed it). */
export class FeedClosedError extends Error {
  constructor(what = 'the event feed') {
    super(`${what} was closed before the job ended`);
    this.name = 'FeedClosedError';
  }
}

function causeCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && !code.startsWith('PJ_ERR_')) return code;
    e = e.cause;
  }
  return undefined;
}

/**
 * Why `err` is worth retrying, in a word or two for the notice (`ECONNRESET`, `HTTP 503`,
 * `timed out`, `feed closed`), or `undefined` when it is not a connection error (a 401, a 404,
 * a TLS failure, an unknown host, an abort, ...).
 */
export function retryReason(err: unknown): string | undefined {
  if (err instanceof FeedClosedError) return 'feed closed';
  if (!isPushApiError(err)) return undefined;
  switch (err.code) {
    case API_ERROR_CODES.UNREACHABLE: {
      const code = causeCode(err);
      if (code !== undefined && NOT_RETRIED_CAUSES.has(code)) return undefined;
      return code ?? 'connection failed';
    }
    case API_ERROR_CODES.TIMEOUT:
      return 'timed out';
    case API_ERROR_CODES.SERVER:
      return err.status !== undefined && RETRY_STATUSES.has(err.status) ? `HTTP ${err.status}` : undefined;
    default:
      return undefined;
  }
}

/** `60 s`, `0.5 s`: whole seconds without decimals, else one decimal. */
export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

/** Options of a {@link Reconnector}. */
export interface ReconnectOptions {
  /** How long one outage may last before giving up, in milliseconds; 0 never retries. */
  timeoutMs: number;
  /** What the command was doing, for the give-up error: `waiting for job 5d6d...`. */
  activity: string;
  /** What to do later, for the give-up error: `check it later with: push jobs status ID`. */
  hint?: string;
  /** Prints one notice line (on stderr). */
  notify: (line: string) => void;
  /** Aborts a backoff sleep (Ctrl-C): {@link Reconnector.failed} then rejects with an AbortError. */
  signal?: AbortSignal;
  /** The clock, in milliseconds. @default Date.now */
  now?: () => number;
  /** Waits `ms` milliseconds (rejects when `signal` aborts). @default timers/promises setTimeout */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** A number in [0, 1) for the jitter. @default Math.random */
  random?: () => number;
}

/**
 * The retry policy of one wait: call {@link failed} with each error (it returns after the
 * backoff delay when the error is worth retrying and time is left, and throws otherwise) and
 * {@link recovered} after each request that worked; or wrap a request in {@link call}.
 */
export class Reconnector {
  readonly timeoutMs: number;
  readonly #opts: ReconnectOptions;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  /** When the current outage began, or `undefined` while connected. */
  #since: number | undefined;
  #attempt = 0;

  constructor(options: ReconnectOptions) {
    this.#opts = options;
    this.timeoutMs = Math.max(0, options.timeoutMs);
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
    this.#random = options.random ?? Math.random;
  }

  /** Whether connection errors are retried at all (a reconnect timeout above 0). */
  get enabled(): boolean {
    return this.timeoutMs > 0;
  }

  /** Whether an outage is going on (a connection error not yet followed by a success). */
  get inOutage(): boolean {
    return this.#since !== undefined;
  }

  /** The delay before retry number `attempt` (0-based): 250 ms doubling to 5 s, times 0.5 to 1. */
  backoffMs(attempt: number): number {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** Math.min(attempt, 16));
    return Math.round(base * (0.5 + 0.5 * this.#random()));
  }

  /**
   * Handles a failed request: rethrows `err` when it is not a connection error; throws the
   * give-up {@link CliError} (exit 6) when retrying is off or the outage has lasted the
   * timeout; else announces the outage (once) and returns after the next backoff delay.
   */
  async failed(err: unknown): Promise<void> {
    const reason = retryReason(err);
    if (reason === undefined) throw err;
    if (!this.enabled) throw this.#giveUp(err, undefined);
    const now = this.#now();
    if (this.#since === undefined) {
      this.#since = now;
      this.#attempt = 0;
      this.#opts.notify(
        `server unreachable (${reason}); retrying for up to ${formatSeconds(this.timeoutMs)} ...`,
      );
    }
    const elapsed = now - this.#since;
    if (elapsed >= this.timeoutMs) throw this.#giveUp(err, elapsed);
    const wait = Math.min(this.backoffMs(this.#attempt++), this.timeoutMs - elapsed);
    await this.#sleep(wait, this.#opts.signal);
  }

  /** A request worked: ends an outage, saying how long it lasted. */
  recovered(): void {
    if (this.#since === undefined) return;
    const lasted = this.#now() - this.#since;
    this.#since = undefined;
    this.#attempt = 0;
    this.#opts.notify(`reconnected after ${(lasted / 1000).toFixed(1)} s`);
  }

  /** Runs `request` until it succeeds, retrying connection errors as {@link failed} says. */
  async call<T>(request: () => Promise<T>): Promise<T> {
    for (;;) {
      let value: T;
      try {
        value = await request();
      } catch (err) {
        await this.failed(err);
        continue;
      }
      this.recovered();
      return value;
    }
  }

  #giveUp(err: unknown, elapsed: number | undefined): CliError {
    const { activity, hint } = this.#opts;
    const message = err instanceof Error ? err.message : String(err);
    const what =
      elapsed === undefined
        ? `lost the connection to the server while ${activity} (${message})`
        : `could not reconnect to the server within ${formatSeconds(this.timeoutMs)} while ${activity} (last error: ${message})`;
    const code = isPushApiError(err) ? err.code : API_ERROR_CODES.UNREACHABLE;
    return new CliError(code, hint === undefined ? what : `${what}; ${hint}`, EXIT_CODES.SERVER, {
      cause: err,
    });
  }
}
