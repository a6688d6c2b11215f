import { expect } from 'chai';
import {
  SSE_KEEPALIVE,
  eventData,
  formatEventTimestamp,
  formatEventTimestampMicros,
  formatSseEvent,
  parseEventTimestamp,
} from '../src/feeds/event-format.js';
import type { SseEvent } from '../src/feeds/event-format.js';

describe('feeds: event format', () => {
  it('formats timestamps as YYYY-MM-DD HH:MM:SS.uuuuuuZ in UTC', () => {
    const d = new Date(Date.UTC(2014, 6, 10, 5, 17, 44, 995));
    expect(formatEventTimestamp(d)).to.equal('2014-07-10 05:17:44.995000Z');
    expect(formatEventTimestamp(d, 958)).to.equal('2014-07-10 05:17:44.995958Z');
    expect(formatEventTimestamp(new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6)), 7)).to.equal(
      '2025-01-02 03:04:05.006007Z',
    );
    expect(formatEventTimestamp(new Date(0))).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('clamps the microsecond counter and rejects invalid dates', () => {
    const d = new Date(Date.UTC(2020, 1, 29, 23, 59, 59, 999));
    expect(formatEventTimestamp(d, 5000)).to.equal('2020-02-29 23:59:59.999999Z');
    expect(formatEventTimestamp(d, -3)).to.equal('2020-02-29 23:59:59.999000Z');
    expect(() => formatEventTimestamp(new Date(Number.NaN))).to.throw(RangeError);
  });

  it('formats microseconds since the epoch, and parses timestamps back to them', () => {
    const us = Date.UTC(2014, 6, 10, 5, 17, 44, 995) * 1000 + 958;
    expect(formatEventTimestampMicros(us)).to.equal('2014-07-10 05:17:44.995958Z');
    expect(parseEventTimestamp('2014-07-10 05:17:44.995958Z')).to.equal(us);
    for (const n of [0, 1, 999, 1000, -1, -1000, 1_764_000_000_123_456, 8_000_000_000_000_000]) {
      expect(parseEventTimestamp(formatEventTimestampMicros(n))).to.equal(n);
    }
    expect(formatEventTimestampMicros(-1)).to.equal('1969-12-31 23:59:59.999999Z');
    expect(() => formatEventTimestampMicros(1.5)).to.throw(RangeError);
    expect(() => formatEventTimestampMicros(Number.NaN)).to.throw(RangeError);
  });

  it('parses only well-formed timestamps of real dates', () => {
    for (const text of [
      '2025-11-24T10:00:00.123456Z',
      '2025-11-24 10:00:00.123Z',
      '2025-11-24 10:00:00.123456',
      '2025-02-30 10:00:00.000000Z',
      '2025-11-24 24:00:00.000000Z',
      ' 2025-11-24 10:00:00.123456Z',
      '',
    ]) {
      expect(parseEventTimestamp(text), text).to.satisfy(Number.isNaN);
    }
    // Microseconds since 1970 are exact in a number only for some 285 years either side.
    expect(parseEventTimestamp('0099-01-01 00:00:00.000001Z')).to.satisfy(Number.isNaN);
  });

  it('puts timestamp first in the data and ignores a timestamp among the fields', () => {
    const data = eventData('T', { node: 'n1', timestamp: 'X', status: 'success' });
    expect(Object.keys(data)).to.deep.equal(['timestamp', 'node', 'status']);
    expect(data.timestamp).to.equal('T');
  });

  it('formats an event as three lines and a blank line, with one line of JSON', () => {
    const text = formatSseEvent({
      event: 'run_complete',
      id: 'job-1',
      data: eventData('2025-11-24 10:00:00.123456Z', { node: 'web "a\nb"', status: 'success' }),
    });
    expect(text).to.equal(
      'event: run_complete\nid: job-1\n' +
        'data: {"timestamp":"2025-11-24 10:00:00.123456Z","node":"web \\"a\\nb\\"","status":"success"}\n\n',
    );
    expect(text.split('\n')).to.have.length(5);
    expect(text.endsWith('\n\n')).to.equal(true);
  });

  it('keeps line breaks out of the event and id lines', () => {
    // Not a name the hub emits: the formatter still keeps the event on one line.
    const odd = { event: 'st\nart', id: 'job-\r1', data: { timestamp: 't' } } as unknown as SseEvent;
    const text = formatSseEvent(odd);
    expect(text).to.equal('event: start\nid: job-1\ndata: {"timestamp":"t"}\n\n');
  });

  it('terminates the keepalive comment with a blank line', () => {
    expect(SSE_KEEPALIVE).to.equal(':keepalive\n\n');
  });
});
