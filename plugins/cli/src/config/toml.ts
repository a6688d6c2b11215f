/**
 * The part of TOML that Chef's `~/.chef/credentials` files use: `[table]` and `[a.b]` headers
 * (bare or quoted names), `key = value` with bare, quoted or dotted keys, basic and literal
 * strings (single- and multi-line, so an inline PEM key works), integers, floats, booleans,
 * arrays and `#` comments. Inline tables, dates and arrays of tables are refused with an error.
 *
 * @module
 */

/** A parsed TOML table. */
export interface TomlTable {
  [key: string]: TomlValue;
}

/** A TOML value of the supported subset. */
export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;

/** A syntax error, with the 1-based line it is on. */
export class TomlError extends Error {
  readonly line: number;
  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'TomlError';
    this.line = line;
  }
}

const BARE_KEY = /^[A-Za-z0-9_-]+/;
const ESCAPES: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', '\\': '\\' };

class Reader {
  pos = 0;
  line = 1;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  peek(n = 1): string {
    return this.text.slice(this.pos, this.pos + n);
  }

  next(): string {
    const c = this.text[this.pos++] ?? '';
    if (c === '\n') this.line++;
    return c;
  }

  error(message: string): TomlError {
    return new TomlError(message, this.line);
  }

  /** Skips spaces and tabs (not line ends). */
  spaces(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  /** Skips spaces, comments and line ends. */
  blank(): void {
    for (;;) {
      this.spaces();
      const c = this.peek();
      if (c === '#') this.comment();
      else if (c === '\n' || c === '\r') this.next();
      else return;
    }
  }

  comment(): void {
    while (!this.done && this.peek() !== '\n') this.pos++;
  }

  /** After a value or header: only spaces and a comment until the line end. */
  endOfLine(): void {
    this.spaces();
    if (this.peek() === '#') this.comment();
    if (this.peek() === '\r') this.pos++;
    if (!this.done && this.peek() !== '\n') throw this.error(`unexpected '${this.peek()}' after the value`);
  }
}

function readKeyPart(r: Reader): string {
  const c = r.peek();
  if (c === '"') return readBasicString(r);
  if (c === "'") return readLiteralString(r);
  const m = BARE_KEY.exec(r.text.slice(r.pos));
  if (m === null) throw r.error(`expected a key, found '${c === '' ? 'end of file' : c}'`);
  r.pos += m[0].length;
  return m[0];
}

function readKey(r: Reader): string[] {
  const parts = [readKeyPart(r)];
  for (;;) {
    r.spaces();
    if (r.peek() !== '.') return parts;
    r.pos++;
    r.spaces();
    parts.push(readKeyPart(r));
  }
}

function readEscape(r: Reader): string {
  const c = r.next();
  if (c in ESCAPES) return ESCAPES[c]!;
  if (c === 'u' || c === 'U') {
    const len = c === 'u' ? 4 : 8;
    const hex = r.text.slice(r.pos, r.pos + len);
    if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length !== len) throw r.error('bad unicode escape');
    r.pos += len;
    return String.fromCodePoint(parseInt(hex, 16));
  }
  throw r.error(`bad escape '\\${c}'`);
}

function readBasicString(r: Reader): string {
  if (r.peek(3) === '"""') {
    r.pos += 3;
    if (r.peek() === '\n') r.next();
    else if (r.peek(2) === '\r\n') r.pos += 2;
    let out = '';
    for (;;) {
      if (r.done) throw r.error('unterminated multi-line string');
      if (r.peek(3) === '"""') {
        r.pos += 3;
        return out;
      }
      const c = r.next();
      if (c === '\\') {
        // A backslash at the end of a line trims the line end and leading whitespace.
        if (/^[ \t]*\r?\n/.test(r.text.slice(r.pos))) {
          while (/[ \t\r\n]/.test(r.peek())) r.next();
        } else {
          out += readEscape(r);
        }
      } else {
        out += c;
      }
    }
  }
  r.pos++;
  let out = '';
  for (;;) {
    if (r.done || r.peek() === '\n') throw r.error('unterminated string');
    const c = r.next();
    if (c === '"') return out;
    out += c === '\\' ? readEscape(r) : c;
  }
}

function readLiteralString(r: Reader): string {
  if (r.peek(3) === "'''") {
    r.pos += 3;
    if (r.peek() === '\n') r.next();
    else if (r.peek(2) === '\r\n') r.pos += 2;
    const end = r.text.indexOf("'''", r.pos);
    if (end < 0) throw r.error('unterminated multi-line string');
    const out = r.text.slice(r.pos, end);
    for (const c of out) if (c === '\n') r.line++;
    r.pos = end + 3;
    return out;
  }
  r.pos++;
  const end = r.text.indexOf("'", r.pos);
  const nl = r.text.indexOf('\n', r.pos);
  if (end < 0 || (nl >= 0 && nl < end)) throw r.error('unterminated string');
  const out = r.text.slice(r.pos, end);
  r.pos = end + 1;
  return out;
}

function readArray(r: Reader): TomlValue[] {
  r.pos++;
  const out: TomlValue[] = [];
  for (;;) {
    r.blank();
    if (r.peek() === ']') {
      r.pos++;
      return out;
    }
    out.push(readValue(r));
    r.blank();
    if (r.peek() === ',') r.pos++;
    else if (r.peek() !== ']') throw r.error("expected ',' or ']' in an array");
  }
}

function readValue(r: Reader): TomlValue {
  const c = r.peek();
  if (c === '"') return readBasicString(r);
  if (c === "'") return readLiteralString(r);
  if (c === '[') return readArray(r);
  if (c === '{') throw r.error('inline tables are not supported here');
  const m = /^[^\s,\]#]+/.exec(r.text.slice(r.pos));
  if (m === null) throw r.error('expected a value');
  const word = m[0];
  r.pos += word.length;
  if (word === 'true') return true;
  if (word === 'false') return false;
  const plain = word.replace(/_/g, '');
  if (/^[+-]?\d+$/.test(plain)) return Number(plain);
  if (/^0x[0-9A-Fa-f]+$/.test(plain)) return parseInt(plain.slice(2), 16);
  if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(plain)) return Number(plain);
  throw r.error(`unsupported value '${word}' (quote strings)`);
}

function isTable(v: TomlValue | undefined): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function descend(r: Reader, root: TomlTable, path: string[]): TomlTable {
  let table = root;
  for (const part of path) {
    const existing = table[part];
    if (existing === undefined) table = table[part] = {};
    else if (isTable(existing)) table = existing;
    else throw r.error(`'${path.join('.')}' is already a value, not a table`);
  }
  return table;
}

/**
 * Parses TOML text (the subset described in the module notes).
 *
 * @throws TomlError naming the line of the first problem.
 */
export function parseToml(text: string): TomlTable {
  const r = new Reader(text.startsWith('\uFEFF') ? text.slice(1) : text);
  const root: TomlTable = {};
  let current = root;
  for (;;) {
    r.blank();
    if (r.done) return root;
    if (r.peek() === '[') {
      if (r.peek(2) === '[[') throw r.error('arrays of tables are not supported here');
      r.pos++;
      r.spaces();
      const path = readKey(r);
      r.spaces();
      if (r.next() !== ']') throw r.error("expected ']' after the table name");
      r.endOfLine();
      current = descend(r, root, path);
      continue;
    }
    const key = readKey(r);
    r.spaces();
    if (r.next() !== '=') throw r.error(`expected '=' after '${key.join('.')}'`);
    r.spaces();
    const value = readValue(r);
    r.endOfLine();
    const table = descend(r, current, key.slice(0, -1));
    const last = key[key.length - 1]!;
    if (last in table) throw r.error(`duplicate key '${key.join('.')}'`);
    table[last] = value;
  }
}
