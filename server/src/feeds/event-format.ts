/**
 * The wire format of the SSE feeds (spec 7.1): `event:`, `id:` and `data:` lines, the data a
 * single line of JSON whose first field is `timestamp`, in `YYYY-MM-DD HH:MM:SS.uuuuuuZ`.
 *
 * Deliberate difference from the original: every event, including the last one of a finished
 * job and the `summary` event, ends with a blank line, and so does the keepalive comment.
 *
 * @module
 */
import type { FeedMessage } from '@push-jobs/protocol/internal';

/**
 * One event of a feed, as the hub stores it and the routes write it: a job or org feed event of
 * protocol (`event`, the id `job-N`, `org-N` or `start_id`, and the data, `timestamp` first).
 */
export type SseEvent = FeedMessage;

/** The keepalive comment, written after `keep_alive_time` seconds with nothing sent. */
export const SSE_KEEPALIVE = ':keepalive\n\n';

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * Formats `d` in UTC as `YYYY-MM-DD HH:MM:SS.uuuuuuZ` (a space between date and time, six
 * fractional digits). A `Date` only has milliseconds; `micros` (0-999) supplies the three
 * digits below them, which are `000` otherwise (the feeds stamp their events with
 * {@link formatEventTimestampMicros} and the hub's clock instead).
 */
export function formatEventTimestamp(d: Date, micros = 0): string {
  if (Number.isNaN(d.getTime())) throw new RangeError('invalid date');
  const us = Math.min(999, Math.max(0, Math.trunc(micros)));
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.` +
    `${pad(d.getUTCMilliseconds(), 3)}${pad(us, 3)}Z`
  );
}

/**
 * Formats a time given in microseconds since the epoch (an integer, as the feed hub's clock issues
 * them) as an event timestamp, `YYYY-MM-DD HH:MM:SS.uuuuuuZ`.
 */
export function formatEventTimestampMicros(us: number): string {
  if (!Number.isSafeInteger(us)) throw new RangeError('timestamp is not a whole number of microseconds');
  const ms = Math.floor(us / 1000);
  return formatEventTimestamp(new Date(ms), us - ms * 1000);
}

const TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6})Z$/;

/**
 * Parses an event timestamp (`YYYY-MM-DD HH:MM:SS.uuuuuuZ`) to microseconds since the epoch; NaN
 * when the text is not one (wrong shape, a date that does not exist, or a time too far from 1970
 * for its microseconds to be counted exactly in a number).
 */
export function parseEventTimestamp(text: string): number {
  const m = TIMESTAMP.exec(text);
  if (m === null) return Number.NaN;
  const [year, month, day, hour, minute, second, micros] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const us = Date.UTC(year, month - 1, day, hour, minute, second) * 1000 + micros;
  return Number.isSafeInteger(us) && formatEventTimestampMicros(us) === text ? us : Number.NaN;
}

/**
 * Builds an event's data: `timestamp` first, then `fields` in their order (a `timestamp` among
 * `fields` is ignored).
 */
export function eventData<F extends object>(timestamp: string, fields: F): { timestamp: string } & F {
  const data: Record<string, unknown> = { timestamp };
  for (const [key, value] of Object.entries(fields)) {
    if (key !== 'timestamp') data[key] = value;
  }
  return data as { timestamp: string } & F;
}

/** Strips line breaks, which would end an SSE field early. */
function oneLine(value: string): string {
  return value.replace(/[\r\n]/g, '');
}

/**
 * Formats one event: `event: NAME\nid: ID\ndata: JSON\n\n`. `JSON.stringify` escapes line
 * breaks inside strings, so the data is always a single line.
 */
export function formatSseEvent({ event, id, data }: SseEvent): string {
  return `event: ${oneLine(event)}\nid: ${oneLine(id)}\ndata: ${JSON.stringify(data)}\n\n`;
}
