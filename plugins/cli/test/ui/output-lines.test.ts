// Live output as lines: assembly across chunk boundaries, sequences (duplicates, gaps),
// notices, colours and JSON lines.
import { expect } from 'chai';
import {
  formatEntry,
  LineAssembler,
  MAX_PARTIAL_LINE,
  nodeColorCode,
  OutputPrinter,
  OutputSequencer,
  useColor,
  type OutputChunk,
} from '../../src/ui/output-lines.js';

function printer(opts: { json?: boolean; color?: boolean; nameWidth?: number } = {}): {
  p: OutputPrinter;
  out: string[];
} {
  const out: string[] = [];
  const p = new OutputPrinter({
    json: opts.json ?? false,
    color: opts.color ?? false,
    nameWidth: opts.nameWidth ?? 4,
    write: (t) => out.push(t),
  });
  return { p, out };
}

function chunk(node: string, channel: 'stdout' | 'stderr', sequence: number, data: string): OutputChunk {
  return { node, channel, sequence, data };
}

describe('live output lines', () => {
  it('assembles lines across chunk boundaries, per node and channel; \\r\\n ends a line too', () => {
    const a = new LineAssembler();
    expect(a.push('web1', 'stdout', 'hel')).to.deep.equal([]);
    expect(a.push('web1', 'stderr', 'err')).to.deep.equal([]);
    expect(a.push('web2', 'stdout', 'other\nx')).to.deep.equal(['other']);
    expect(a.push('web1', 'stdout', 'lo\r\nwor')).to.deep.equal(['hello']);
    expect(a.push('web1', 'stdout', 'ld\n\nnext')).to.deep.equal(['world', '']);
    expect(a.push('web1', 'stderr', 'or 1\n')).to.deep.equal(['error 1']);
    expect(a.nodes().sort()).to.deep.equal(['web1', 'web2']);
    expect(a.flush('web1')).to.deep.equal([{ channel: 'stdout', line: 'next' }]);
    expect(a.flush('web1')).to.deep.equal([]);
    expect(a.flush('web2')).to.deep.equal([{ channel: 'stdout', line: 'x' }]);
  });

  it('keeps multibyte text whole across chunks (accents, CJK, emoji)', () => {
    const { p, out } = printer();
    const text = 'café ✓ 日本語 🚀 done\nsecond 🎉';
    // Chunks cut between characters (never inside one, as the agents send them).
    const chars = [...text];
    let seq = 0;
    for (let i = 0; i < chars.length; i += 3)
      p.chunk(chunk('web1', 'stdout', seq++, chars.slice(i, i + 3).join('')), 'feed');
    p.nodeEnd('web1');
    expect(out.join('')).to.equal('web1 | café ✓ 日本語 🚀 done\nweb1 | second 🎉\n');
  });

  it('cuts a line that never ends into pieces, never between the halves of a surrogate pair', () => {
    const a = new LineAssembler();
    const long = `${'a'.repeat(MAX_PARTIAL_LINE - 1)}🚀${'b'.repeat(10)}`;
    const lines = a.push('n', 'stdout', long);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.equal('a'.repeat(MAX_PARTIAL_LINE - 1));
    expect(a.flush('n')).to.deep.equal([{ channel: 'stdout', line: `🚀${'b'.repeat(10)}` }]);
  });

  it('interleaved nodes and channels: each line whole, with its node and a mark per channel', () => {
    const { p, out } = printer();
    p.chunk(chunk('web1', 'stdout', 0, 'a1 '), 'feed');
    p.chunk(chunk('db1', 'stdout', 0, 'b1\nb'), 'feed');
    p.chunk(chunk('web1', 'stderr', 1, 'warn\n'), 'feed');
    p.chunk(chunk('web1', 'stdout', 2, 'end\n'), 'feed');
    p.nodeEnd('db1');
    expect(out.join('')).to.equal(['db1  | b1', 'web1 ! warn', 'web1 | a1 end', 'db1  | b', ''].join('\n'));
    expect(p.lineCount).to.equal(4);
  });

  it('drops duplicates and shows a gap (the partial line first) when a sequence jumps on the feed', () => {
    const { p, out } = printer();
    p.chunk(chunk('web1', 'stdout', 0, 'one\ntw'), 'feed');
    p.chunk(chunk('web1', 'stdout', 0, 'one\ntw'), 'feed');
    p.chunk(chunk('web1', 'stdout', 4, 'five\n'), 'feed');
    p.chunk(chunk('web1', 'stdout', 5, 'six\n'), 'feed');
    expect(out.join('')).to.equal(
      [
        'web1 | one',
        'web1 | tw',
        'web1 * 3 output chunks missing here (#1-3, dropped by the server under load; the whole output is kept: push jobs output)',
        'web1 | five',
        'web1 | six',
        '',
      ].join('\n'),
    );
  });

  it('the first chunk of a channel on a node stream may stand for several (stored output): no gap', () => {
    const s = new OutputSequencer();
    expect(s.accept('n', 'stdout', 7, 'stream')).to.deep.equal({});
    expect(s.accept('n', 'stderr', 5, 'stream')).to.deep.equal({});
    expect(s.accept('n', 'stderr', 5, 'stream')).to.equal(undefined);
    expect(s.accept('n', 'stdout', 8, 'stream')).to.deep.equal({});
    expect(s.accept('n', 'stdout', 11, 'stream')).to.deep.equal({ gap: { first: 9, last: 10 } });
    // On the feed every jump is a gap, the first chunk's too.
    expect(new OutputSequencer().accept('m', 'stdout', 2, 'feed')).to.deep.equal({
      gap: { first: 0, last: 1 },
    });
  });

  it('a feed joined while nodes run: a first chunk past 0 says how many came before; later jumps are gaps', () => {
    const { p, out } = printer();
    p.chunk(chunk('web1', 'stdout', 5, 'six\n'), 'joined');
    p.chunk(chunk('web1', 'stdout', 7, 'eight\n'), 'joined');
    p.chunk(chunk('web2', 'stdout', 0, 'first\n'), 'joined');
    expect(out.join('')).to.equal(
      [
        'web1 * 5 output chunks printed before following began, not shown (push jobs output prints them)',
        'web1 | six',
        'web1 * 1 output chunk missing here (#6, dropped by the server under load; the whole output is kept: push jobs output)',
        'web1 | eight',
        'web2 | first',
        '',
      ].join('\n'),
    );
  });

  it('a truncated chunk gives one truncation notice per node, after its lines', () => {
    const { p, out } = printer();
    p.chunk({ ...chunk('web1', 'stdout', 0, 'last line\n'), truncated: true }, 'feed');
    p.nodeEnd('web1', true);
    expect(out.join('')).to.equal(
      "web1 | last line\nweb1 * output truncated: the node reached the job's output size limit\n",
    );
  });

  it('--json: one object per line, notices included', () => {
    const { p, out } = printer({ json: true });
    p.chunk(chunk('web1', 'stdout', 0, 'hi\npart'), 'feed');
    p.chunk({ ...chunk('web1', 'stderr', 2, 'e\n'), truncated: true }, 'feed');
    p.finish();
    expect(
      out
        .join('')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).to.deep.equal([
      { node: 'web1', channel: 'stdout', line: 'hi' },
      { node: 'web1', channel: 'stdout', line: 'part' },
      { node: 'web1', notice: 'gap', first_missing: 1, last_missing: 1 },
      { node: 'web1', channel: 'stderr', line: 'e' },
      { node: 'web1', notice: 'truncated' },
    ]);
  });

  it('colours: each node its own stable colour on a terminal, stderr marked red; plain otherwise', () => {
    const line = { kind: 'line' as const, node: 'web1', channel: 'stderr' as const, line: 'x' };
    const code = nodeColorCode('web1');
    expect(nodeColorCode('web1')).to.equal(code);
    expect([31, 91]).to.not.include(code);
    const names = ['web1', 'web2', 'web3', 'db1', 'db2', 'cache1'];
    expect(new Set(names.map(nodeColorCode)).size).to.be.greaterThan(2);
    expect(formatEntry(line, { json: false, color: true, nameWidth: 5 })).to.equal(
      `\u001B[${code}mweb1 \u001B[39m \u001B[31m!\u001B[39m x\n`,
    );
    expect(formatEntry(line, { json: false, color: false, nameWidth: 5 })).to.equal('web1  ! x\n');
  });

  it('colour on a terminal unless NO_COLOR; FORCE_COLOR decides when set', () => {
    expect(useColor({ isTTY: true }, {})).to.equal(true);
    expect(useColor({ isTTY: false }, {})).to.equal(false);
    expect(useColor({}, {})).to.equal(false);
    expect(useColor({ isTTY: true }, { NO_COLOR: '1' })).to.equal(false);
    expect(useColor({ isTTY: false }, { FORCE_COLOR: '1' })).to.equal(true);
    expect(useColor({ isTTY: true }, { FORCE_COLOR: '0' })).to.equal(false);
  });

  it('stored output (nothing streamed) prints as lines, with its truncation', () => {
    const { p, out } = printer();
    p.stored('web1', 'stdout', 'a\r\nb\n', false);
    p.stored('web1', 'stderr', 'c', true);
    p.stored('web1', 'stderr', '', false);
    expect(out.join('')).to.equal(
      "web1 | a\nweb1 | b\nweb1 ! c\nweb1 * output truncated: the node reached the job's output size limit\n",
    );
  });
});
