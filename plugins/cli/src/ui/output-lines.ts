/**
 * Live output as lines: chunks of a node's stdout and stderr (from `output` feed events or a
 * node's output stream) arrive cut anywhere, so they are assembled per node and channel into
 * whole lines, printed with the node's name in front:
 *
 * ```
 * web1 | Starting Chef Infra Client        (stdout)
 * web1 ! WARN: deprecated resource         (stderr)
 * web1 * 3 output chunks missing here ...  (a notice: a gap, a truncation)
 * ```
 *
 * On a terminal each node's name has a colour of its own (stable: the same name always gets
 * the same colour); on a pipe the text is plain. With `--json` each line, and each notice, is
 * one JSON object on its own line.
 *
 * A line that never ends is cut into pieces of {@link MAX_PARTIAL_LINE} characters, so a node
 * printing without newlines cannot make the CLI hold unbounded text.
 *
 * @module
 */

/** An output channel. */
export type Channel = 'stdout' | 'stderr';

/** The most characters held for a line not yet ended; beyond, the line is printed in pieces. */
export const MAX_PARTIAL_LINE = 64 * 1024;

/** The marks between the node name and the text. */
export const LINE_MARKS = { stdout: '|', stderr: '!', notice: '*' } as const;

/** Something to print: a line of a node's output, or a notice about the output. */
export type OutputEntry =
  | { kind: 'line'; node: string; channel: Channel; line: string }
  | { kind: 'gap'; node: string; first: number; last: number }
  | { kind: 'truncated'; node: string }
  | { kind: 'earlier'; node: string; chunks: number };

/** The JSON line of an entry (`--json`). */
export function entryJson(e: OutputEntry): Record<string, unknown> {
  switch (e.kind) {
    case 'line':
      return { node: e.node, channel: e.channel, line: e.line };
    case 'gap':
      return { node: e.node, notice: 'gap', first_missing: e.first, last_missing: e.last };
    case 'truncated':
      return { node: e.node, notice: 'truncated' };
    case 'earlier':
      return { node: e.node, notice: 'earlier', chunks: e.chunks };
  }
}

/** The words of a notice. */
export function noticeText(e: Exclude<OutputEntry, { kind: 'line' }>): string {
  switch (e.kind) {
    case 'gap': {
      const n = e.last - e.first + 1;
      return `${n} output chunk${n === 1 ? '' : 's'} missing here (${e.first === e.last ? `#${e.first}` : `#${e.first}-${e.last}`}, dropped by the server under load; the whole output is kept: push jobs output)`;
    }
    case 'truncated':
      return "output truncated: the node reached the job's output size limit";
    case 'earlier':
      return `${e.chunks} output chunk${e.chunks === 1 ? '' : 's'} printed before following began, not shown (push jobs output prints them)`;
  }
}

/** Node name colours: the standard and bright ANSI colours, red left out (it means errors). */
const PALETTE = [36, 32, 33, 34, 35, 96, 92, 93, 94, 95] as const;

/** The ANSI colour code of a node name: FNV-1a of the name, so stable across runs. */
export function nodeColorCode(node: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < node.length; i++) {
    h ^= node.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return PALETTE[h % PALETTE.length]!;
}

function sgr(code: number, text: string): string {
  return `\u001B[${code}m${text}\u001B[39m`;
}

/**
 * Whether to colour what goes to `stream`: on a terminal, unless `NO_COLOR` is set;
 * `FORCE_COLOR` (other than `0`/`false`) colours a pipe too, `FORCE_COLOR=0` never.
 */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return !['0', 'false'].includes(force.toLowerCase());
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true;
}

/** How entries are printed. */
export interface LineFormatOptions {
  json: boolean;
  color: boolean;
  /** Node names are padded to this width (the longest name of the job, up to 32). */
  nameWidth: number;
}

/** One entry as printed, with its line end. */
export function formatEntry(e: OutputEntry, o: LineFormatOptions): string {
  if (o.json) return `${JSON.stringify(entryJson(e))}\n`;
  const name = e.node.padEnd(o.nameWidth);
  const mark = e.kind === 'line' ? LINE_MARKS[e.channel] : LINE_MARKS.notice;
  const text = e.kind === 'line' ? e.line : noticeText(e);
  if (!o.color) return `${name} ${mark} ${text}\n`;
  const coloredMark = e.kind === 'line' ? (e.channel === 'stderr' ? sgr(31, mark) : mark) : sgr(33, mark);
  return `${sgr(nodeColorCode(e.node), name)} ${coloredMark} ${e.kind === 'line' ? text : sgr(90, text)}\n`;
}

/** The width to pad node names to: the longest of `nodes`, at most 32. */
export function nameWidth(nodes: Iterable<string>): number {
  let w = 0;
  for (const n of nodes) w = Math.max(w, n.length);
  return Math.min(32, w);
}

/** Cuts `text` at `max` characters, never between the two halves of a surrogate pair. */
function cutAt(text: string, max: number): number {
  const code = text.charCodeAt(max - 1);
  return code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
}

/**
 * Assembles chunks into whole lines, per node and channel. A line ends at `\n`; a `\r` before
 * it is dropped.
 */
export class LineAssembler {
  readonly #partial = new Map<string, { node: string; channel: Channel; text: string }>();

  /** Adds a chunk; returns the lines it completed. */
  push(node: string, channel: Channel, data: string): string[] {
    const key = `${node}\u0000${channel}`;
    const held = this.#partial.get(key);
    const parts = ((held?.text ?? '') + data).split('\n');
    let rest = parts.pop()!;
    const lines = parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    while (rest.length > MAX_PARTIAL_LINE) {
      const at = cutAt(rest, MAX_PARTIAL_LINE);
      lines.push(rest.slice(0, at));
      rest = rest.slice(at);
    }
    if (rest === '') this.#partial.delete(key);
    else if (held === undefined) this.#partial.set(key, { node, channel, text: rest });
    else held.text = rest;
    return lines;
  }

  /** The held partial lines of `node` (stdout first), which are then forgotten. */
  flush(node: string): { channel: Channel; line: string }[] {
    const out: { channel: Channel; line: string }[] = [];
    for (const channel of ['stdout', 'stderr'] as const) {
      const key = `${node}\u0000${channel}`;
      const held = this.#partial.get(key);
      if (held === undefined) continue;
      this.#partial.delete(key);
      out.push({ channel, line: held.text.endsWith('\r') ? held.text.slice(0, -1) : held.text });
    }
    return out;
  }

  /** The nodes that have a partial line held. */
  nodes(): string[] {
    return [...new Set([...this.#partial.values()].map((p) => p.node))];
  }
}

/**
 * Where a chunk comes from: the job feed followed from before the nodes ran (`feed`, one event
 * per chunk), the job feed joined while nodes ran (`joined`: the feed does not replay output, so
 * a node's first chunk may not be its first), or a node's output stream (`stream`).
 */
export type ChunkSource = 'feed' | 'joined' | 'stream';

interface NodeSequence {
  /** The highest sequence seen (either channel), -1 for none. */
  max: number;
  /** The highest sequence seen per channel. */
  byChannel: Record<Channel, number>;
}

/**
 * Orders chunks by their sequence numbers (per job and node, from 0, over both channels):
 * a chunk at or below the highest sequence already seen on its channel is a duplicate (a
 * stream reopened, stored output then the feed), and a jump is a gap (chunks the server dropped
 * under load).
 *
 * A node's output stream may hand the output stored so far as one chunk per channel (its
 * sequence that of the channel's last stored chunk), so there a jump in a channel's first
 * chunk is not a gap; the job feed has one event per chunk, where every jump is one.
 */
export class OutputSequencer {
  readonly #nodes = new Map<string, NodeSequence>();

  /** Whether any chunk of `node` was seen. */
  seen(node: string): boolean {
    return this.#nodes.has(node);
  }

  /** `undefined` for a duplicate, else the gap before the chunk (`undefined` when none). */
  accept(
    node: string,
    channel: Channel,
    sequence: number,
    source: ChunkSource,
  ): { gap?: { first: number; last: number }; earlier?: number } | undefined {
    let s = this.#nodes.get(node);
    if (s === undefined) {
      s = { max: -1, byChannel: { stdout: -1, stderr: -1 } };
      this.#nodes.set(node, s);
    }
    if (sequence <= s.byChannel[channel]) return undefined;
    const firstOfChannel = s.byChannel[channel] < 0;
    const firstOfNode = s.max < 0;
    const gapped =
      sequence > s.max + 1 &&
      (source === 'feed' ||
        (source === 'joined' && !firstOfNode) ||
        (source === 'stream' && !firstOfChannel));
    const result =
      source === 'joined' && firstOfNode && sequence > 0
        ? { earlier: sequence }
        : gapped
          ? { gap: { first: s.max + 1, last: sequence - 1 } }
          : {};
    s.byChannel[channel] = sequence;
    s.max = Math.max(s.max, sequence);
    return result;
  }
}

/** Options of an {@link OutputPrinter}. */
export interface OutputPrinterOptions extends LineFormatOptions {
  /** Writes text (stdout, around a live progress line). */
  write: (text: string) => void;
}

/** A chunk of output as both sources give it. */
export interface OutputChunk {
  node: string;
  channel: Channel;
  data: string;
  sequence: number;
  truncated?: boolean;
}

/**
 * Prints live output: chunks in, whole lines and notices out (one write per chunk). Partial
 * lines are printed when the node ends ({@link nodeEnd}) or when printing ends ({@link finish}).
 */
export class OutputPrinter {
  readonly #lines = new LineAssembler();
  readonly #sequence = new OutputSequencer();
  readonly #truncated = new Set<string>();
  readonly #options: OutputPrinterOptions;
  /** Lines printed. */
  lineCount = 0;

  constructor(options: OutputPrinterOptions) {
    this.#options = options;
  }

  /** Whether any chunk of `node` arrived. */
  seen(node: string): boolean {
    return this.#sequence.seen(node);
  }

  /** Takes one chunk: prints the lines it completes, and a gap or truncation notice. */
  chunk(c: OutputChunk, source: ChunkSource): void {
    const accepted = this.#sequence.accept(c.node, c.channel, c.sequence, source);
    if (accepted === undefined) return;
    const entries: OutputEntry[] = [];
    if (accepted.gap !== undefined) {
      // The lines held so far end where the chunks went missing.
      entries.push(...this.#flushEntries(c.node));
      entries.push({ kind: 'gap', node: c.node, ...accepted.gap });
    }
    if (accepted.earlier !== undefined)
      entries.push({ kind: 'earlier', node: c.node, chunks: accepted.earlier });
    for (const line of this.#lines.push(c.node, c.channel, c.data)) {
      entries.push({ kind: 'line', node: c.node, channel: c.channel, line });
    }
    if (c.truncated === true) entries.push(...this.#truncation(c.node, true));
    this.#print(entries);
  }

  /** The node finished: its partial lines are printed, then a truncation notice if it has one. */
  nodeEnd(node: string, truncated = false): void {
    this.#print([...this.#flushEntries(node), ...this.#truncation(node, truncated)]);
  }

  /** Prints stored output of a node that streamed none (a server or agent without live output). */
  stored(node: string, channel: Channel, text: string, truncated: boolean): void {
    if (text === '') return;
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    this.#print(
      lines.map((l) => ({ kind: 'line', node, channel, line: l.endsWith('\r') ? l.slice(0, -1) : l })),
    );
    if (truncated) this.#print(this.#truncation(node, true));
  }

  /** Printing ends: every partial line still held is printed. */
  finish(): void {
    for (const node of this.#lines.nodes()) this.#print(this.#flushEntries(node));
  }

  #flushEntries(node: string): OutputEntry[] {
    return this.#lines.flush(node).map(({ channel, line }) => ({ kind: 'line', node, channel, line }));
  }

  #truncation(node: string, truncated: boolean): OutputEntry[] {
    if (!truncated || this.#truncated.has(node)) return [];
    this.#truncated.add(node);
    return [{ kind: 'truncated', node }];
  }

  #print(entries: OutputEntry[]): void {
    if (entries.length === 0) return;
    let text = '';
    for (const e of entries) {
      if (e.kind === 'line') this.lineCount++;
      text += formatEntry(e, this.#options);
    }
    this.#options.write(text);
  }
}
