import { expect } from 'chai';

import { SseEventTooLargeError, SseParser, toFeedEvent, type SseMessage } from '../src/api-client/index.js';

function parseAll(chunks: string[], end = true): SseMessage[] {
  const parser = new SseParser();
  const out = chunks.flatMap((c) => parser.push(c));
  return end ? [...out, ...parser.end()] : out;
}

describe('SseParser', () => {
  const STREAM =
    'event: start\nid: job-1\ndata: {"a":1}\n\n:keepalive\n\nevent: quorum_vote\nid: job-2\ndata: {"b":2}\n\n';
  const EXPECTED: SseMessage[] = [
    { event: 'start', id: 'job-1', data: '{"a":1}' },
    { event: 'quorum_vote', id: 'job-2', data: '{"b":2}' },
  ];

  it('parses events and skips comments', () => {
    const parser = new SseParser();
    expect(parser.push(STREAM)).to.deep.equal(EXPECTED);
    expect(parser.comments).to.equal(1);
    expect(parser.lastEventId).to.equal('job-2');
  });

  it('gives the same events whatever the chunking, one character at a time included', () => {
    expect(parseAll(STREAM.split(''))).to.deep.equal(EXPECTED);
    for (let cut = 1; cut < STREAM.length; cut++) {
      expect(parseAll([STREAM.slice(0, cut), STREAM.slice(cut)])).to.deep.equal(EXPECTED);
    }
  });

  it('accepts CRLF and lone CR line ends, split between chunks too', () => {
    const crlf = STREAM.replace(/\n/g, '\r\n');
    const cr = STREAM.replace(/\n/g, '\r');
    expect(parseAll([crlf])).to.deep.equal(EXPECTED);
    expect(parseAll([cr])).to.deep.equal(EXPECTED);
    for (let cut = 1; cut < crlf.length; cut++) {
      expect(parseAll([crlf.slice(0, cut), crlf.slice(cut)])).to.deep.equal(EXPECTED);
    }
  });

  it('joins multi-line data, defaults the event name, keeps the last id, reads retry', () => {
    const parser = new SseParser();
    const out = parser.push('id: 7\nretry: 2500\ndata: one\ndata:two\ndata\n\ndata: next\n\n');
    expect(out).to.deep.equal([
      { event: 'message', id: '7', data: 'one\ntwo\n' },
      { event: 'message', id: '7', data: 'next' },
    ]);
    expect(parser.retry).to.equal(2500);
  });

  it('does not dispatch an event without data, and forgets its name', () => {
    expect(parseAll(['event: lonely\n\ndata: x\n\n'])).to.deep.equal([
      { event: 'message', id: undefined, data: 'x' },
    ]);
  });

  it('dispatches an unterminated last event at the end, but not before', () => {
    const parser = new SseParser();
    expect(parser.push('event: summary\nid: job-1\ndata: {"status":"complete"}')).to.deep.equal([]);
    expect(parser.end()).to.deep.equal([{ event: 'summary', id: 'job-1', data: '{"status":"complete"}' }]);
  });

  it('keeps the last id for later events without one; an empty id clears it', () => {
    const parser = new SseParser();
    expect(parser.push('id: job-3\ndata: a\n\ndata: b\n\nid\ndata: c\n\n')).to.deep.equal([
      { event: 'message', id: 'job-3', data: 'a' },
      { event: 'message', id: 'job-3', data: 'b' },
      { event: 'message', id: undefined, data: 'c' },
    ]);
    expect(parser.lastEventId).to.equal(undefined);
  });

  it('ignores unknown fields, a bad retry and an id with NUL; counts comments of any form', () => {
    const parser = new SseParser();
    const out = parser.push('id: 1\ndata: a\n\nretry: soon\nfoo: bar\nid: x\0y\n: spaced\n:\ndata: b\n\n');
    expect(out).to.deep.equal([
      { event: 'message', id: '1', data: 'a' },
      { event: 'message', id: '1', data: 'b' },
    ]);
    expect(parser.retry).to.equal(undefined);
    expect(parser.comments).to.equal(2);
  });

  it('a line end split from its CR at the very end still ends the last event', () => {
    const parser = new SseParser();
    expect(parser.push('data: x\r')).to.deep.equal([]);
    expect(parser.end()).to.deep.equal([{ event: 'message', id: undefined, data: 'x' }]);
  });

  it('refuses an event larger than its bound, line by line or in data lines, and stops there', () => {
    const long = new SseParser({ maxEventSize: 64 });
    expect(long.push('data: ok\n\n')).to.deep.equal([{ event: 'message', id: undefined, data: 'ok' }]);
    // One line that never ends: every chunk is buffered until the bound is crossed.
    expect(() => {
      for (let i = 0; i < 100; i++) long.push('xxxxxxxx');
    }).to.throw(SseEventTooLargeError, 'larger than 64 characters');
    expect(() => long.push('\n\n')).to.throw(SseEventTooLargeError);
    expect(long.end()).to.deep.equal([]);

    const many = new SseParser({ maxEventSize: 64 });
    expect(() => {
      for (let i = 0; i < 100; i++) many.push('data: yyyyyyyy\n');
    }).to.throw(SseEventTooLargeError);
  });

  it('toFeedEvent parses JSON data and keeps other text', () => {
    expect(toFeedEvent({ event: 'start', id: 'job-1', data: '{"x":[1]}' })).to.deep.equal({
      event: 'start',
      id: 'job-1',
      data: { x: [1] },
      rawData: '{"x":[1]}',
    });
    expect(toFeedEvent({ event: 'message', id: undefined, data: 'hello' }).data).to.equal('hello');
  });
});
