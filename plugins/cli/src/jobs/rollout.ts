/**
 * Rollouts (`--concurrency`, `--max-errors`): the flag values checked as the server checks them
 * (`MaxConcurrencySchema`, `MaxErrorsSchema`), their counts for a number of nodes (as the server
 * resolves them), and the window line of the progress views.
 *
 * @module
 */
import { ERROR_CODES, type RolloutSize } from '@push-jobs/protocol';
import { usageError } from '../errors.js';

/** The largest count the server stores (2^31 - 1). */
const MAX_COUNT = 2_147_483_647;

/** `N` or `N%`, digits only. */
const SIZE_SYNTAX = /^([0-9]+)(%?)$/;

/**
 * A `--concurrency` (`minimum` 1) or `--max-errors` (`minimum` 0) value as the request carries it:
 * a count (`minimum` to 2^31 - 1) as a number, a percentage (`minimum` to 100) as `"N%"`.
 *
 * @throws CliError (exit 2) naming the flag and what it takes.
 */
export function parseRolloutSize(flag: string, text: string, minimum: 0 | 1): RolloutSize {
  const match = SIZE_SYNTAX.exec(text.trim());
  const value = match === null ? NaN : Number(match[1]);
  const percent = match?.[2] === '%';
  const max = percent ? 100 : MAX_COUNT;
  if (!Number.isSafeInteger(value) || value < minimum || value > max) {
    throw usageError(
      `invalid --${flag} '${text}': expected a count of nodes (an integer >= ${minimum}) or a percentage of the job's nodes (${minimum}% to 100%)`,
      ERROR_CODES.INVALID_ARGUMENT,
    );
  }
  return percent ? `${value}%` : value;
}

/**
 * A rollout size as a count for `nodeCount` nodes: a percentage of the nodes rounded up and at
 * least 1 (`round` `'up'`, the window) or rounded down (`'down'`, the error budget).
 */
export function rolloutCount(
  size: number | string,
  nodeCount: number,
  round: 'up' | 'down',
): number | undefined {
  if (typeof size === 'number') return Number.isSafeInteger(size) ? size : undefined;
  const match = /^([0-9]{1,3})%$/.exec(size);
  if (match === null) return undefined;
  const exact = (Number(match[1]) * nodeCount) / 100;
  return round === 'up' ? Math.max(1, Math.ceil(exact)) : Math.floor(exact);
}

/** What a progress view knows of a rollout: its window and error budget, as counts. */
export interface RolloutLimits {
  /** At most this many nodes run at once. */
  maxConcurrency?: number;
  /** Failed nodes tolerated before no new node starts. */
  maxErrors?: number;
}

/** Node states that count as a failed run for the error budget line. */
const NOT_FAILED: readonly string[] = ['succeeded', 'skipped', 'nacked', 'unavailable', 'was_ready'];

/**
 * The window line of a rollout: `running 2/2 (window 2), done 5/10, failed 1 (max errors 1)`,
 * from the node states (`done`: nodes in a final state; `failed`: final and not succeeded,
 * skipped, nacked, unavailable or was_ready).
 */
export function windowText(
  limits: RolloutLimits,
  states: Iterable<string>,
  isFinal: (state: string) => boolean,
): string {
  let running = 0;
  let done = 0;
  let failed = 0;
  let total = 0;
  for (const s of states) {
    total++;
    if (s === 'running') running++;
    if (isFinal(s)) {
      done++;
      if (!NOT_FAILED.includes(s)) failed++;
    }
  }
  const parts: string[] = [];
  parts.push(
    limits.maxConcurrency === undefined
      ? `running ${running}`
      : `running ${running}/${limits.maxConcurrency} (window ${limits.maxConcurrency})`,
  );
  parts.push(`done ${done}/${total}`);
  parts.push(
    limits.maxErrors === undefined ? `failed ${failed}` : `failed ${failed} (max errors ${limits.maxErrors})`,
  );
  return parts.join(', ');
}

/** The error budget line: `error budget spent: 2 failed > max errors 1; 6 nodes skipped`. */
export function budgetText(failed: number, maxErrors: number, skipped: number): string {
  return `error budget spent: ${failed} failed > max errors ${maxErrors}; ${skipped} node${skipped === 1 ? '' : 's'} skipped`;
}
