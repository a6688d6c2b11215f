// OutputStream: coalescing, one seq over both channels, whole UTF-8 characters, chunk bounds and
// the per-job cap (live output, the `output` message).
import { expect } from 'chai';
import { waitForValue } from '@push-jobs/testing';
import { fitPrefix, OUTPUT_CHUNK_BYTES, OutputStream, type OutputChunk } from '../src/output-stream.js';

function setup(maxBytes: number, extra: { flushMs?: number; maxJsonBytes?: number } = {}) {
  const chunks: OutputChunk[] = [];
  const stream = new OutputStream({ maxBytes, send: (c) => chunks.push(c), ...extra });
  const text = (): string => chunks.map((c) => c.data).join('');
  return { stream, chunks, text };
}

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('OutputStream', () => {
  it('coalesces many small writes into one chunk after the flush delay', async () => {
    const t = setup(1 << 20);
    for (let i = 0; i < 500; i++) t.stream.write('stdout', bytes(`line ${i}\n`));
    // Nothing goes out at once: the writes wait to be coalesced.
    expect(t.chunks).to.have.length(0);
    await waitForValue('the coalesced chunk', () => t.chunks[0]);
    expect(t.chunks).to.have.length(1);
    expect(t.chunks[0]).to.deep.equal({
      seq: 0,
      channel: 'stdout',
      data: Array.from({ length: 500 }, (_, i) => `line ${i}\n`).join(''),
    });
    t.stream.end();
    expect(t.chunks).to.have.length(1);
  });

  it('sends at 16 KiB without waiting, and never more than 16 KiB in one chunk', () => {
    const t = setup(1 << 20, { flushMs: 60_000 });
    const line = `${'x'.repeat(99)}\n`;
    for (let i = 0; i < 400; i++) t.stream.write('stdout', bytes(line)); // 40,000 bytes
    // Two full chunks went out as soon as 16 KiB waited; the rest waits (for a minute here).
    expect(t.chunks.length).to.be.at.least(2);
    for (const c of t.chunks) expect(Buffer.byteLength(c.data)).to.be.at.most(OUTPUT_CHUNK_BYTES);
    t.stream.end();
    expect(t.text()).to.equal(line.repeat(400));
    expect(t.chunks.map((c) => c.seq)).to.deep.equal(t.chunks.map((_, i) => i));
    expect(t.chunks.every((c) => c.truncated === undefined)).to.equal(true);
  });

  it('keeps both channels in the order written, with one seq counter', () => {
    const t = setup(1 << 20);
    t.stream.write('stdout', bytes('a1\n'));
    t.stream.write('stdout', bytes('a2\n'));
    t.stream.write('stderr', bytes('e1\n'));
    t.stream.write('stdout', bytes('a3\n'));
    t.stream.end();
    expect(t.chunks).to.deep.equal([
      { seq: 0, channel: 'stdout', data: 'a1\na2\n' },
      { seq: 1, channel: 'stderr', data: 'e1\n' },
      { seq: 2, channel: 'stdout', data: 'a3\n' },
    ]);
  });

  it('never splits a UTF-8 character: not across writes, not at the 16 KiB boundary', () => {
    const t = setup(1 << 20, { flushMs: 60_000 });
    const euro = bytes('€'); // 3 bytes
    // 16,383 bytes, then a 3-byte character written one byte at a time: it crosses 16 KiB.
    t.stream.write('stdout', bytes('a'.repeat(OUTPUT_CHUNK_BYTES - 1)));
    for (const b of euro) t.stream.write('stdout', Buffer.from([b]));
    t.stream.write('stderr', bytes('😀').subarray(0, 2));
    t.stream.write('stderr', bytes('😀').subarray(2));
    t.stream.end();
    expect(t.chunks.map((c) => c.data)).to.deep.equal(['a'.repeat(OUTPUT_CHUNK_BYTES - 1), '€', '😀']);
    expect(t.text()).to.not.include('\ufffd');
  });

  it('an incomplete character left at the end becomes U+FFFD', () => {
    const t = setup(1 << 20);
    t.stream.write('stdout', Buffer.from([0x6f, 0x6b, 0xe2, 0x82]));
    t.stream.end();
    expect(t.text()).to.equal('ok\ufffd');
  });

  it('stops at the cap: what fits is sent, the last chunk is marked truncated, nothing follows', () => {
    const t = setup(10);
    t.stream.write('stdout', bytes('12345'));
    t.stream.write('stderr', bytes('abc'));
    t.stream.write('stdout', bytes('ééé')); // 6 bytes, 2 fit: one whole é
    t.stream.write('stdout', bytes('more'));
    t.stream.end();
    expect(t.chunks).to.deep.equal([
      { seq: 0, channel: 'stdout', data: '12345' },
      { seq: 1, channel: 'stderr', data: 'abc' },
      { seq: 2, channel: 'stdout', data: 'é', truncated: true },
    ]);
    expect(t.stream.truncated).to.equal(true);
  });

  it('output that reaches the cap exactly is not truncated; a byte more sends an empty truncated chunk', async () => {
    const exact = setup(4);
    exact.stream.write('stdout', bytes('abcd'));
    exact.stream.end();
    expect(exact.chunks).to.deep.equal([{ seq: 0, channel: 'stdout', data: 'abcd' }]);

    const over = setup(4);
    over.stream.write('stdout', bytes('abcd'));
    await waitForValue('the first chunk', () => over.chunks[0]);
    over.stream.write('stderr', bytes('e'));
    expect(over.chunks).to.deep.equal([
      { seq: 0, channel: 'stdout', data: 'abcd' },
      { seq: 1, channel: 'stderr', data: '', truncated: true },
    ]);
  });

  it('bounds a chunk by its JSON size too (control characters escape to six bytes)', () => {
    const t = setup(1 << 20, { maxJsonBytes: 600, flushMs: 60_000 });
    const nasty = '\u0001'.repeat(1000);
    t.stream.write('stdout', bytes(nasty));
    t.stream.end();
    expect(t.text()).to.equal(nasty);
    for (const c of t.chunks) expect(Buffer.byteLength(JSON.stringify(c.data)) - 2).to.be.at.most(600);
    expect(t.chunks).to.have.length(10);
  });

  it('close() drops what is pending and sends nothing more', () => {
    const t = setup(1 << 20);
    t.stream.write('stdout', bytes('pending'));
    t.stream.close();
    t.stream.write('stdout', bytes('late'));
    t.stream.end();
    expect(t.chunks).to.have.length(0);
  });

  it('fitPrefix measures UTF-8 and JSON bytes exactly, never splitting a surrogate pair', () => {
    // Lone surrogates too (a high one before a letter or at the end, a low one alone).
    const samples = [
      'plain',
      'é€😀',
      '"\\\n\t\b\f\r',
      '\u0000\u000b\u001f\u007f',
      'a😀b',
      'a\ud800b',
      'x\udc00',
      'y\ud83d',
    ];
    for (const s of samples) {
      for (let max = 0; max <= 40; max++) {
        const n = fitPrefix(s, max);
        expect(Buffer.byteLength(s.slice(0, n))).to.be.at.most(max);
        if (n < s.length)
          expect(Buffer.byteLength(s.slice(0, n + (s.codePointAt(n)! > 0xffff ? 2 : 1)))).to.be.above(max);
        const j = fitPrefix(s, Infinity, max);
        expect(Buffer.byteLength(JSON.stringify(s.slice(0, j))) - 2).to.be.at.most(max);
        if (j < s.length) {
          const next = s.slice(0, j + (s.codePointAt(j)! > 0xffff ? 2 : 1));
          expect(Buffer.byteLength(JSON.stringify(next)) - 2).to.be.above(max);
        }
      }
    }
    expect(fitPrefix('a😀', 4)).to.equal(1);
  });
});
