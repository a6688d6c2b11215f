/**
 * Finding a live server again after the current one went silent (ours; the original client only
 * reopened its sockets on the cached config): the list of server URLs and the order they are
 * tried in, the back-off between rounds of config fetches, the loop that runs those rounds until
 * one succeeds or the server is back, and a throttle for its log lines.
 *
 * Everything here takes its clock and random source from the caller, so that it can be tested on
 * a fake clock; the agent wires it to its config fetch ({@link Agent}).
 *
 * @module
 */
import type { FetchedConfig } from './connection.js';

/** Bounds of the back-off between failed rounds of config fetches, in milliseconds. */
export interface RefetchBackoffOptions {
  /** The first delay (before jitter). */
  initialMs: number;
  /** The largest delay (before jitter); the delay doubles up to it. */
  maxMs: number;
}

/**
 * The default back-off: 1 s doubling to 30 s. The first retry comes quickly, since a load
 * balancer often needs a health check or two (a few seconds) to stop sending requests to a dead
 * instance; the cap bounds how long an agent takes to find a server that is back (at most 30 s
 * after it answers) while keeping a fleet whose servers are all down to one request per agent
 * every 15-30 s, the pace of the start-up retries (`http_retry_delay`, 30 s).
 */
export const DEFAULT_REFETCH_BACKOFF: Readonly<RefetchBackoffOptions> = Object.freeze({
  initialMs: 1000,
  maxMs: 30_000,
});

/**
 * Exponential back-off with jitter: the n-th delay (from 0) is drawn uniformly from
 * `[d/2, d]`, `d = min(maxMs, initialMs * 2^n)`. Half the delay is random, so the agents of a
 * server that died together (they all notice within one heartbeat interval) spread their
 * retries, and the upper bound stays what the options say.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: RefetchBackoffOptions,
    private readonly random: () => number = Math.random,
  ) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError(
        `back-off needs 0 < initialMs <= maxMs, got ${options.initialMs} and ${options.maxMs}`,
      );
    }
  }

  /** Delays handed out since the last {@link reset}. */
  get attempts(): number {
    return this.attempt;
  }

  /** The next delay, in milliseconds. */
  next(): number {
    const { initialMs, maxMs } = this.options;
    // 2^n stays finite: past 2^40 the cap has long won.
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(this.attempt, 40));
    this.attempt += 1;
    return Math.round(ceiling * (1 - this.random() * 0.5));
  }

  /** Starts again from {@link RefetchBackoffOptions.initialMs}. */
  reset(): void {
    this.attempt = 0;
  }
}

/**
 * The servers the agent may fetch its config from (`chef_server_urls`, or `chef_server_url`
 * alone), in the configured order, and which one the current config came from.
 */
export class ServerList {
  private readonly list: readonly string[];
  private index = 0;

  constructor(urls: readonly string[]) {
    if (urls.length === 0) throw new RangeError('ServerList needs at least one URL');
    this.list = [...urls];
  }

  /** Every URL, in the configured order. */
  get urls(): readonly string[] {
    return this.list;
  }

  /** The URL the current config came from (the first until a fetch succeeds elsewhere). */
  get current(): string {
    return this.list[this.index]!;
  }

  /**
   * Every URL once, in the order to try them: from the first (`'first'`, at start), from the
   * current one (`'current'`, a reconfigure), or from the one after the current one (`'next'`,
   * when the current server went silent; it is tried last), wrapping around.
   */
  order(from: 'first' | 'current' | 'next'): string[] {
    const n = this.list.length;
    const start = from === 'first' ? 0 : from === 'current' ? this.index : (this.index + 1) % n;
    return Array.from({ length: n }, (_, i) => this.list[(start + i) % n]!);
  }

  /** Records that the config now comes from `url` (one of {@link urls}). */
  use(url: string): void {
    const i = this.list.indexOf(url);
    if (i < 0) throw new RangeError(`${url} is not one of the configured servers`);
    this.index = i;
  }
}

/** One URL's failure in a {@link fetchFirstAnswering} round. */
export interface ServerFailure {
  url: string;
  error: unknown;
}

/** Every server of a round failed; {@link failures} holds each one's error, in order. */
export class AllServersFailedError extends Error {
  readonly failures: readonly ServerFailure[];

  constructor(failures: readonly ServerFailure[], describe: (error: unknown) => string) {
    super(failures.map((f) => `${f.url}: ${describe(f.error)}`).join('; '));
    this.name = 'AllServersFailedError';
    this.failures = failures;
  }
}

/**
 * Calls `attempt` for each URL in turn until one resolves, and returns its value with the URL.
 * A rejection for which `tryNext` is false is thrown at once (a problem no other server can
 * fix); otherwise the next URL is tried. When every URL failed, throws the only error (one URL)
 * or an {@link AllServersFailedError}.
 */
export async function fetchFirstAnswering<T>(
  urls: readonly string[],
  attempt: (url: string) => Promise<T>,
  options: { tryNext?: (error: unknown) => boolean; describe?: (error: unknown) => string } = {},
): Promise<{ value: T; url: string }> {
  const failures: ServerFailure[] = [];
  for (const url of urls) {
    try {
      return { value: await attempt(url), url };
    } catch (error) {
      if (options.tryNext !== undefined && !options.tryNext(error)) throw error;
      failures.push({ url, error });
    }
  }
  if (failures.length === 1) throw failures[0]!.error;
  throw new AllServersFailedError(failures, options.describe ?? String);
}

/** Timers as the loop uses them (the global ones, or a test's fake clock). */
export interface LoopTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The global timers, unref'd: a pending retry does not keep the process alive by itself. */
export const GLOBAL_TIMERS: LoopTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Options of {@link RefetchLoop}. */
export interface RefetchLoopOptions {
  /**
   * One round (fetch the config from the servers in turn and use it). Resolves `true` when it
   * is done (a config was fetched and used, or there is nothing left to do), `false` to try again
   * after the back-off; a rejection counts as `false`.
   */
  round(round: number): Promise<boolean>;
  /** A failed round; `delayMs` is how long until the next one. */
  retrying?(round: number, delayMs: number, error: unknown): void;
  backoff?: RefetchBackoffOptions;
  random?: () => number;
  timers?: LoopTimers;
}

/**
 * Runs rounds of config fetches until one succeeds or {@link stop} is called (the server came
 * back online, another reconfigure succeeded, the agent stops): the first round at once, then
 * after each failed round a delay from a {@link Backoff} that starts again at every
 * {@link start}. Never two rounds at once.
 */
export class RefetchLoop {
  private readonly backoff: Backoff;
  private readonly timers: LoopTimers;
  private activeValue = false;
  /** Bumped by start and stop, so that a round or timer of an older run does nothing. */
  private generation = 0;
  private timer: unknown;
  private rounds = 0;
  private nextAt: number | undefined;

  constructor(private readonly options: RefetchLoopOptions) {
    this.backoff = new Backoff(options.backoff ?? DEFAULT_REFETCH_BACKOFF, options.random);
    this.timers = options.timers ?? GLOBAL_TIMERS;
  }

  /** Whether the loop runs (a round is under way or waits for its turn). */
  get active(): boolean {
    return this.activeValue;
  }

  /** Rounds run since the last {@link start}. */
  get roundsRun(): number {
    return this.rounds;
  }

  /** The delay before the waiting round, in ms, while one waits. */
  get nextDelayMs(): number | undefined {
    return this.nextAt;
  }

  /** Starts the loop (the first round at once); does nothing while it runs. */
  start(): void {
    if (this.activeValue) return;
    this.activeValue = true;
    this.generation += 1;
    this.rounds = 0;
    this.backoff.reset();
    void this.runRound(this.generation);
  }

  /** Stops the loop; a round under way finishes, but no other one starts. Idempotent. */
  stop(): void {
    if (!this.activeValue) return;
    this.activeValue = false;
    this.generation += 1;
    this.nextAt = undefined;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async runRound(generation: number): Promise<void> {
    this.timer = undefined;
    this.nextAt = undefined;
    this.rounds += 1;
    const round = this.rounds;
    let done: boolean;
    let error: unknown;
    try {
      done = await this.options.round(round);
    } catch (err) {
      done = false;
      error = err;
    }
    if (generation !== this.generation) return;
    if (done) {
      this.activeValue = false;
      this.generation += 1;
      return;
    }
    const delay = this.backoff.next();
    this.nextAt = delay;
    this.timer = this.timers.setTimeout(() => void this.runRound(generation), delay);
    this.options.retrying?.(round, delay, error);
  }
}

/**
 * Which lines of a repeating failure to show: the first, any that says something new, and one
 * every `everyMs` otherwise (the rest go to debug level).
 */
export class LogThrottle {
  private last: string | undefined;
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly everyMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a line about `key` should be shown now (and, when so, records it). */
  shouldShow(key: string): boolean {
    const now = this.now();
    if (key === this.last && now - this.lastAt < this.everyMs) return false;
    this.last = key;
    this.lastAt = now;
    return true;
  }

  /** Forgets the last line (the failure ended). */
  reset(): void {
    this.last = undefined;
    this.lastAt = Number.NEGATIVE_INFINITY;
  }
}

/**
 * Whether two fetched configs describe the same server instance: the same server incarnation
 * and the same ZeroMQ addresses.
 */
export function sameServerInstance(a: FetchedConfig, b: FetchedConfig): boolean {
  const ha = a.config.push_jobs.heartbeat;
  const hb = b.config.push_jobs.heartbeat;
  return (
    a.config.incarnation_id === b.config.incarnation_id &&
    ha.out_addr === hb.out_addr &&
    ha.command_addr === hb.command_addr
  );
}

/**
 * Whether a connection built from `a` serves for `b` as well: the same instance
 * ({@link sameServerInstance}) with the same keys (server signing key, CURVE key, session key),
 * encryption mode, heartbeat settings and message skew.
 */
export function sameConnectionConfig(a: FetchedConfig, b: FetchedConfig): boolean {
  const ha = a.config.push_jobs.heartbeat;
  const hb = b.config.push_jobs.heartbeat;
  return (
    sameServerInstance(a, b) &&
    a.legacy === b.legacy &&
    a.sessionKey.equals(b.sessionKey) &&
    a.config.public_key === b.config.public_key &&
    a.config.curve_public_key === b.config.curve_public_key &&
    a.config.max_message_skew === b.config.max_message_skew &&
    ha.interval === hb.interval &&
    ha.offline_threshold === hb.offline_threshold &&
    ha.online_threshold === hb.online_threshold
  );
}

/**
 * An error message without the config URL's query (`?ccpk=...&version=2.0`): the agent's failure
 * lines name the server, never a key.
 */
export function withoutQuery(message: string): string {
  // The query is URL-encoded: it ends at a blank, a quote or the `:` before the error.
  return message.replace(/\?ccpk=[^\s'":]*/gu, '');
}
