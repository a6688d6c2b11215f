/**
 * The `timestamp` check on receipt: `|now - timestamp| < max_message_skew`, rejected in both
 * directions (server-protocol.md 5.1; design.md: old messages are rejected too, unlike the Ruby
 * client).
 *
 * @module
 */

import { InvalidArgumentError } from '../errors.js';
import { parseHttpDateMillis } from '../http-date.js';
import { DEFAULT_MAX_MESSAGE_SKEW_SECONDS } from './limits.js';
import { wireError, type WireError } from './wire-error.js';

/** The outcome of {@link checkSkew}: `'ok'`, or the {@link WireErrorCode} to reject with. */
export type SkewVerdict = 'ok' | 'missing_timestamp' | 'bad_timestamp' | 'too_old' | 'too_new';

/**
 * Checks a body's `timestamp` field against the clock. Passes only when
 * `|now - timestamp| < maxSkewSeconds` (strictly), so a message exactly `maxSkewSeconds` old or
 * ahead is rejected. `undefined` or `null` is `missing_timestamp`; anything that is not an HTTP
 * date string (see {@link parseHttpDate}) is `bad_timestamp`. Returns a string, never allocates.
 *
 * @param timestamp the body's `timestamp` value, as received.
 * @param now the receiver's clock, as a Date or epoch milliseconds.
 * @param maxSkewSeconds `max_message_skew`; default {@link DEFAULT_MAX_MESSAGE_SKEW_SECONDS}.
 * @throws {@link InvalidArgumentError} when `now` is not a valid time or `maxSkewSeconds` is not a positive number.
 */
export function checkSkew(
  timestamp: unknown,
  now: Date | number = Date.now(),
  maxSkewSeconds: number = DEFAULT_MAX_MESSAGE_SKEW_SECONDS,
): SkewVerdict {
  const nowMs = typeof now === 'number' ? now : now.getTime();
  if (!Number.isFinite(nowMs)) throw new InvalidArgumentError('checkSkew: now is not a valid time');
  if (!(maxSkewSeconds > 0) || maxSkewSeconds === Number.POSITIVE_INFINITY) {
    throw new InvalidArgumentError(
      `checkSkew: maxSkewSeconds must be a positive number, got ${maxSkewSeconds}`,
    );
  }
  if (timestamp === undefined || timestamp === null) return 'missing_timestamp';
  const ts = parseHttpDateMillis(timestamp);
  if (Number.isNaN(ts)) return 'bad_timestamp';
  const maxMs = maxSkewSeconds * 1000;
  const age = nowMs - ts;
  if (age >= maxMs) return 'too_old';
  if (-age >= maxMs) return 'too_new';
  return 'ok';
}

/** The {@link WireError} for a failed {@link checkSkew} verdict, with a log-friendly message. */
export function skewError(
  verdict: Exclude<SkewVerdict, 'ok'>,
  timestamp: unknown,
  maxSkewSeconds: number,
): WireError {
  const shown = typeof timestamp === 'string' ? JSON.stringify(timestamp.slice(0, 64)) : typeof timestamp;
  switch (verdict) {
    case 'missing_timestamp':
      return wireError(verdict, 'body has no timestamp');
    case 'bad_timestamp':
      return wireError(verdict, `timestamp ${shown} is not an HTTP date`);
    case 'too_old':
      return wireError(verdict, `timestamp ${shown} is ${maxSkewSeconds} s or more in the past`);
    case 'too_new':
      return wireError(verdict, `timestamp ${shown} is ${maxSkewSeconds} s or more in the future`);
  }
}
