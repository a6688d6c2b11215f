/**
 * The wire format of the SSE feeds (spec 7.1): `event:`, `id:` and `data:` lines, the data a
 * single line of JSON whose first field is `timestamp`, in `YYYY-MM-DD HH:MM:SS.uuuuuuZ`.
 *
 * Deliberate difference from the original: every event, including the last one of a finished
 * job and the `summary` event, ends with a blank line, and so does the keepalive comment.
 *
 * @module
 */

/** One event of a feed, as the hub stores it and the routes write it. */
export interface SseEvent {
  /** The event name (`start`, `job_complete`, `summary`, `start_of_history`, ...). */
  event: string;
  /** The event id (`job-N`, `org-N` or `start_id`). */
  id: string;
  /** The data object; its first field is `timestamp`. */
  data: Readonly<Record<string, unknown>>;
}

/** The keepalive comment, written after `keep_alive_time` seconds with nothing sent. */
export const SSE_KEEPALIVE = ':keepalive\n\n';

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * Formats `d` in UTC as `YYYY-MM-DD HH:MM:SS.uuuuuuZ` (a space between date and time, six
 * fractional digits). A `Date` only has milliseconds; `micros` (0-999) supplies the three
 * digits below them, which are `000` otherwise.
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
 * Builds an event's data: `timestamp` first, then `fields` in their order (a `timestamp` among
 * `fields` is ignored).
 */
export function eventData(
  timestamp: string,
  fields: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const data: Record<string, unknown> = { timestamp };
  for (const [key, value] of Object.entries(fields)) {
    if (key !== 'timestamp') data[key] = value;
  }
  return data;
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
