import { expect } from 'chai';
import { SSE_KEEPALIVE, eventData, formatEventTimestamp, formatSseEvent } from '../src/feeds/event-format.js';

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

  it('puts timestamp first in the data and ignores a timestamp among the fields', () => {
    const data = eventData('T', { node: 'n1', timestamp: 'X', status: 'success' });
    expect(Object.keys(data)).to.deep.equal(['timestamp', 'node', 'status']);
    expect(data.timestamp).to.equal('T');
  });

  it('formats an event as three lines and a blank line, with one line of JSON', () => {
    const text = formatSseEvent({
      event: 'start',
      id: 'job-1',
      data: eventData('2025-11-24 10:00:00.123456Z', { command: 'echo "a\nb"', quorum: 1 }),
    });
    expect(text).to.equal(
      'event: start\nid: job-1\n' +
        'data: {"timestamp":"2025-11-24 10:00:00.123456Z","command":"echo \\"a\\nb\\"","quorum":1}\n\n',
    );
    expect(text.split('\n')).to.have.length(5);
    expect(text.endsWith('\n\n')).to.equal(true);
  });

  it('keeps line breaks out of the event and id lines', () => {
    const text = formatSseEvent({ event: 'st\nart', id: 'job-\r1', data: { timestamp: 't' } });
    expect(text).to.equal('event: start\nid: job-1\ndata: {"timestamp":"t"}\n\n');
  });

  it('terminates the keepalive comment with a blank line', () => {
    expect(SSE_KEEPALIVE).to.equal(':keepalive\n\n');
  });
});
