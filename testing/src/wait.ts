// Waiting on outcomes: poll a condition (or a value) until it holds, with a deadline that is a
// guard against a hung test, never a timed assertion.
import { setTimeout as delay } from 'node:timers/promises';

/** How long to keep polling, and how often. */
export interface WaitOptions {
  /** Give up (throw) after this long; 20 s unless given. */
  timeoutMs?: number;
  /** Pause between polls; 25 ms unless given. */
  intervalMs?: number;
}

/** The deadline {@link until} and {@link waitForValue} use unless told otherwise. */
export const DEFAULT_WAIT_TIMEOUT_MS = 20_000;
const DEFAULT_INTERVAL_MS = 25;

/** A plain pause; for pacing a loop, never for waiting on an outcome. */
export const sleep = (ms: number): Promise<void> => delay(ms);

function optionsOf(options: number | WaitOptions | undefined): Required<WaitOptions> {
  const o = typeof options === 'number' ? { timeoutMs: options } : (options ?? {});
  return {
    timeoutMs: o.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS,
    intervalMs: o.intervalMs ?? DEFAULT_INTERVAL_MS,
  };
}

/**
 * Polls `probe` (it may be async) until it returns something other than `undefined`, and returns
 * that. Throws `timed out waiting for <what>` after the deadline (a number is the timeout in ms);
 * `what` may be a function, to describe what had happened by then.
 */
export async function waitForValue<T>(
  what: string | (() => string),
  probe: () => T | undefined | Promise<T | undefined>,
  options?: number | WaitOptions,
): Promise<T> {
  const { timeoutMs, intervalMs } = optionsOf(options);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(intervalMs);
  }
}

/** Polls `check` (it may be async) until it returns true; see {@link waitForValue}. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string | (() => string),
  options?: number | WaitOptions,
): Promise<void> {
  await waitForValue(what, async () => ((await check()) ? true : undefined), options);
}

/** True when a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
