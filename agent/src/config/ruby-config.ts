/**
 * A safe reader for the agent's config file (client spec A.2, A.3, C.5).
 *
 * The original loads its config file by evaluating it as Ruby. We never evaluate anything:
 * {@link parseRubyConfig} understands the subset of Chef's Ruby config that `client.rb` and
 * the cookbook's rendered `push-jobs-client.rb` use, and rejects everything else with a
 * {@link ConfigFileError} naming the file, line and column. {@link parseConfigText} also
 * accepts a JSON file (a `.json` name, or text starting with `{`).
 *
 * Supported statements, one per line (or separated by `;`):
 * - `key value`, `key(value)`, `key = value` (`key` lower case) — sets a config key;
 * - `Chef::Config[:key] = value`, `Chef::Config['key'] = value`, `Chef::Config.key = value`,
 *   `Chef::Config.key(value)` — the same;
 * - `NAME = 'value'` (a constant, upper case) — the cookbook's `environment_variables`
 *   lines (C.5); collected into the `environment` key, as real environment variables;
 * - `Mixlib::Log::Formatter.show_time = BOOL` — the `include_timestamp` key;
 * - `require '...'`, `require_relative '...'`, `Ohai::Config...` and `ohai.key = value` —
 *   checked for syntax, then ignored with a warning.
 *
 * Supported values: single- and double-quoted strings (with Ruby's escapes; `#{}` interpolation
 * is rejected), integers and floats (with `_` separators), `true`/`false`/`nil`, symbols
 * (`:info` → `"info"`), arrays, hashes (`"a" => 1`, `:a => 1`, `a: 1`, `"a": 1`, spanning
 * lines, trailing commas allowed), regex literals (`/^ls (.*)$/i` → the string `"/^ls (.*)$/i"`,
 * the whitelist's regex key form; Ruby's `m` flag becomes `s`, `\A`/`\z` become `^`/`$`),
 * `%w[...]` word arrays, `ENV['X']`, `ENV["X"]`, `ENV.fetch('X', default)`, `STDOUT`/`STDERR`
 * (→ their names), `a || b`, and parentheses. A key set to `nil` at the top level is unset.
 *
 * @module
 */
import { ERROR_CODES, InvalidArgumentError } from '@push-jobs/protocol/lite';

/** Environment variables, as `process.env` holds them. */
export type ConfigEnv = Readonly<Record<string, string | undefined>>;

/** Thrown for a config file that cannot be read: names the file, line and column. */
export class ConfigFileError extends InvalidArgumentError {
  /** The file (or `<config>` when none was named). */
  readonly file: string;
  /** 1-based line of the problem. */
  readonly line: number;
  /** 1-based column of the problem. */
  readonly column: number;
  /** What went wrong, without the location prefix. */
  readonly detail: string;

  constructor(file: string, line: number, column: number, detail: string) {
    super(`${file}:${line}:${column}: ${detail}`, { code: ERROR_CODES.CONFIG });
    this.file = file;
    this.line = line;
    this.column = column;
    this.detail = detail;
  }
}

/** Options of {@link parseRubyConfigDetailed} and {@link parseConfigText}. */
export interface ParseConfigOptions {
  /** The file name used in errors and warnings, and (for {@link parseConfigText}) to detect JSON. */
  file?: string;
  /** Where `ENV['X']` reads from; default `process.env`. */
  env?: ConfigEnv;
}

/** The result of parsing a config file. */
export interface ParsedConfigFile {
  /** Config keys and their values (`environment` gathers constant assignments). */
  values: Record<string, unknown>;
  /** Lines that were recognised but ignored, as `FILE:LINE: message`. */
  warnings: string[];
  /** Which syntax the file was read as. */
  format: 'ruby' | 'json';
  /**
   * The 1-based line that set each key of `values` (the last assignment wins, as it does for
   * the value), so that a bad value can be reported with its line.
   */
  lines: Record<string, number>;
}

const DEFAULT_FILE = '<config>';
const IDENT_START = /[A-Za-z_]/u;
const IDENT_CHAR = /[A-Za-z0-9_]/u;

function describeChar(ch: string | undefined): string {
  if (ch === undefined) return 'end of file';
  if (ch === '\n') return 'end of line';
  return `'${ch}'`;
}

function rubyTruthy(value: unknown): boolean {
  return value !== null && value !== false;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Converts a Ruby regex source to the JavaScript dialect used for whitelist keys. */
function rubyRegexToKey(source: string, flags: string, fail: (detail: string) => never): string {
  let jsFlags = '';
  for (const flag of flags) {
    if (flag === 'i') jsFlags += 'i';
    else if (flag === 'm') jsFlags += 's';
    else if (flag === 'o') continue;
    else fail(`regex flag '${flag}' is not supported (use i or m)`);
  }
  const converted = source
    .replace(/(?<!\\)((?:\\\\)*)\\A/gu, '$1^')
    .replace(/(?<!\\)((?:\\\\)*)\\[zZ]/gu, '$1$$');
  return `/${converted}/${jsFlags}`;
}

class RubyConfigParser {
  private pos = 0;
  private readonly values: Record<string, unknown> = {};
  private readonly warnings: string[] = [];
  private readonly lines: Record<string, number> = {};
  /** Where the statement being parsed starts (for {@link lines}). */
  private statementStart = 0;

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly env: ConfigEnv,
  ) {}

  parse(): ParsedConfigFile {
    for (;;) {
      this.skipSpace(true, true);
      if (this.pos >= this.text.length) break;
      this.statement();
    }
    return { values: this.values, warnings: this.warnings, format: 'ruby', lines: this.lines };
  }

  // -- positions and errors -------------------------------------------------------------------

  private location(pos: number): { line: number; column: number } {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < pos && i < this.text.length; i++) {
      if (this.text[i] === '\n') {
        line++;
        lineStart = i + 1;
      }
    }
    return { line, column: pos - lineStart + 1 };
  }

  private fail(detail: string, pos = this.pos): never {
    const { line, column } = this.location(pos);
    throw new ConfigFileError(this.file, line, column, detail);
  }

  private expected(what: string, pos = this.pos): never {
    return this.fail(`expected ${what}, found ${describeChar(this.text[pos])}`, pos);
  }

  private warn(pos: number, message: string): void {
    this.warnings.push(`${this.file}:${this.location(pos).line}: ${message}`);
  }

  // -- lexical helpers ------------------------------------------------------------------------

  private peek(offset = 0): string | undefined {
    return this.text[this.pos + offset];
  }

  /** Skips blanks, comments and `\`-newline continuations; newlines (and `;`) when asked. */
  private skipSpace(newlines: boolean, semicolons = false): void {
    for (;;) {
      const ch = this.peek();
      if (ch === ' ' || ch === '\t' || ch === '\r') this.pos++;
      else if (ch === '\\' && (this.peek(1) === '\n' || (this.peek(1) === '\r' && this.peek(2) === '\n'))) {
        this.pos += this.peek(1) === '\n' ? 2 : 3;
      } else if (ch === '#') {
        while (this.pos < this.text.length && this.peek() !== '\n') this.pos++;
      } else if (newlines && ch === '\n') this.pos++;
      else if (semicolons && ch === ';') this.pos++;
      else if (newlines && this.atLineStart() && this.text.startsWith('=begin', this.pos)) {
        const end = this.text.indexOf('\n=end', this.pos);
        if (end < 0) this.fail("unterminated '=begin' comment (expected '=end')");
        this.pos = end + 5;
        while (this.pos < this.text.length && this.peek() !== '\n') this.pos++;
      } else return;
    }
  }

  private atLineStart(): boolean {
    return this.pos === 0 || this.text[this.pos - 1] === '\n';
  }

  private ident(): string | undefined {
    const start = this.pos;
    const first = this.peek();
    if (first === undefined || !IDENT_START.test(first)) return undefined;
    this.pos++;
    while (this.pos < this.text.length && IDENT_CHAR.test(this.text[this.pos] ?? '')) this.pos++;
    return this.text.slice(start, this.pos);
  }

  private expectChar(ch: string, what = `'${ch}'`): void {
    if (this.peek() !== ch) this.expected(what);
    this.pos++;
  }

  /** True (and consumes it) when the next token is a plain `=` (not `==`, `=>`, `=~`). */
  private takeAssign(): boolean {
    if (this.peek() === '=' && !['=', '>', '~'].includes(this.peek(1) ?? '')) {
      this.pos++;
      return true;
    }
    return false;
  }

  private endOfStatement(): void {
    this.skipSpace(false);
    const ch = this.peek();
    if (ch === undefined || ch === '\n' || ch === ';') return;
    this.expected('end of line');
  }

  // -- statements -----------------------------------------------------------------------------

  private statement(): void {
    const start = this.pos;
    this.statementStart = start;
    const name = this.ident();
    if (name === undefined) this.expected('a config key (such as chef_server_url)');
    if (/^[A-Z]/u.test(name)) {
      this.constantStatement(name, start);
    } else if (name === 'require' || name === 'require_relative') {
      this.skipSpace(false);
      const target = this.valueExpr();
      if (typeof target !== 'string') this.fail(`${name} expects a string`, start);
      this.warn(start, `ignored ${name} '${target}'`);
    } else if (name === 'ohai' && this.peek() === '.') {
      this.pos++;
      const key = this.ident() ?? this.expected('an Ohai setting name');
      this.settingTail(key, start);
      this.warn(start, `ignored Ohai setting ohai.${key}`);
    } else if (this.peek() === '.' || this.peek() === '[') {
      this.fail(`unsupported statement: '${name}${this.peek() ?? ''}' (only 'key value' lines are read)`);
    } else {
      this.skipSpace(false);
      this.takeAssign();
      this.skipSpace(false);
      this.setKey(name, this.valueExpr());
    }
    this.endOfStatement();
  }

  private constantStatement(first: string, start: number): void {
    let path = first;
    while (this.peek() === ':' && this.peek(1) === ':') {
      this.pos += 2;
      path += `::${this.ident() ?? this.expected('a constant name after ::')}`;
    }
    if (path === first && !first.includes('::')) {
      this.skipSpace(false);
      if (!this.takeAssign()) {
        this.fail(
          `unsupported statement starting with constant '${first}' (expected '${first} = value')`,
          start,
        );
      }
      this.skipSpace(false);
      const value = this.valueExpr();
      if (value === null) return;
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        this.fail(`environment variable ${first} must be a string`, start);
      }
      const environment = isRecord(this.values.environment) ? this.values.environment : {};
      environment[first] = String(value);
      this.values.environment = environment;
      this.lines.environment = this.location(start).line;
      return;
    }
    if (path === 'Chef::Config' || path === 'Ohai::Config') {
      let key: string;
      if (this.peek() === '[') {
        this.pos++;
        this.skipSpace(true);
        const keyValue = this.valueExpr();
        if (typeof keyValue !== 'string') this.fail(`${path}[...] expects a symbol or string key`, start);
        key = keyValue;
        this.skipSpace(true);
        this.expectChar(']');
        this.skipSpace(false);
        if (!this.takeAssign()) this.expected("'='");
        this.skipSpace(false);
        const value = this.valueExpr();
        if (path === 'Chef::Config') this.setKey(key, value);
      } else if (this.peek() === '.') {
        this.pos++;
        key = this.ident() ?? this.expected(`a setting name after ${path}.`);
        const value = this.settingTail(key, start);
        if (path === 'Chef::Config') this.setKey(key, value);
      } else {
        this.expected(`'[' or '.' after ${path}`);
      }
      if (path === 'Ohai::Config') this.warn(start, `ignored Ohai setting ${key}`);
      return;
    }
    if (path === 'Mixlib::Log::Formatter') {
      this.expectChar('.', "'.show_time'");
      const attr = this.ident();
      if (attr !== 'show_time')
        this.fail(`unsupported Mixlib::Log::Formatter setting (expected show_time)`, start);
      this.skipSpace(false);
      if (!this.takeAssign()) this.expected("'='");
      this.skipSpace(false);
      this.setKey('include_timestamp', this.valueExpr());
      return;
    }
    this.fail(`unsupported statement starting with '${path}'`, start);
  }

  /** After `X.key`: `= value`, `(value)` or ` value`. */
  private settingTail(key: string, start: number): unknown {
    this.skipSpace(false);
    this.takeAssign();
    this.skipSpace(false);
    const ch = this.peek();
    if (ch === undefined || ch === '\n' || ch === ';') this.fail(`missing value for '${key}'`, start);
    return this.valueExpr();
  }

  private setKey(key: string, value: unknown): void {
    if (value === null) {
      delete this.values[key];
      delete this.lines[key];
      return;
    }
    this.lines[key] = this.location(this.statementStart).line;
    if (key === 'environment' && isRecord(value) && isRecord(this.values.environment)) {
      this.values.environment = { ...this.values.environment, ...value };
      return;
    }
    this.values[key] = value;
  }

  // -- values ---------------------------------------------------------------------------------

  private valueExpr(): unknown {
    let value = this.primary();
    for (;;) {
      const save = this.pos;
      this.skipSpace(false);
      if (this.peek() === '|' && this.peek(1) === '|') {
        this.pos += 2;
        this.skipSpace(true);
        const right = this.primary();
        if (!rubyTruthy(value)) value = right;
      } else {
        this.pos = save;
        return value;
      }
    }
  }

  private primary(): unknown {
    const start = this.pos;
    const ch = this.peek();
    if (ch === "'") return this.singleQuoted();
    if (ch === '"') return this.doubleQuoted();
    if (ch === ':' && this.peek(1) !== ':') return this.symbol();
    if (ch === '[') return this.array();
    if (ch === '{') return this.hash();
    if (ch === '/') return this.regex();
    if (ch === '%' && this.peek(1) === 'w') return this.wordArray();
    if (ch === '(') {
      this.pos++;
      this.skipSpace(true);
      const bodyStart = this.pos;
      const label = this.ident();
      if (label !== undefined && this.peek() === ':' && this.peek(1) !== ':') {
        this.pos = bodyStart;
        return this.hashBody(start, ')');
      }
      this.pos = bodyStart;
      const value = this.valueExpr();
      const stringLabel = typeof value === 'string' && this.peek() === ':' && this.peek(1) !== ':';
      this.skipSpace(true);
      if (stringLabel || (this.peek() === '=' && this.peek(1) === '>')) {
        // `key("a" => "b")`: a hash argument without braces.
        this.pos = bodyStart;
        return this.hashBody(start, ')');
      }
      if (this.peek() !== ')') this.expected(`')' to close '(' at ${this.where(start)}`);
      this.pos++;
      return value;
    }
    if (
      ch !== undefined &&
      (/[0-9]/u.test(ch) || ((ch === '-' || ch === '+') && /[0-9]/u.test(this.peek(1) ?? '')))
    ) {
      return this.number();
    }
    const name = this.ident();
    if (name === undefined)
      return this.expected('a value (string, number, true, false, nil, symbol, array or hash)');
    switch (name) {
      case 'true':
        return true;
      case 'false':
        return false;
      case 'nil':
        return null;
      case 'STDOUT':
      case 'STDERR':
        return name;
      case 'ENV':
        return this.envRead(start);
      default:
        return this.fail(`unsupported value '${name}' (only literals and ENV reads are allowed)`, start);
    }
  }

  private where(pos: number): string {
    const { line, column } = this.location(pos);
    return `line ${line}, column ${column}`;
  }

  private envRead(start: number): unknown {
    if (this.peek() === '[') {
      this.pos++;
      this.skipSpace(true);
      const name = this.valueExpr();
      if (typeof name !== 'string') this.fail('ENV[...] expects a string name', start);
      this.skipSpace(true);
      this.expectChar(']');
      return this.env[name] ?? null;
    }
    if (this.peek() === '.') {
      this.pos++;
      const method = this.ident();
      if (method !== 'fetch') this.fail('only ENV[...] and ENV.fetch(...) are supported', start);
      this.expectChar('(');
      this.skipSpace(true);
      const name = this.valueExpr();
      if (typeof name !== 'string') this.fail('ENV.fetch expects a string name', start);
      this.skipSpace(true);
      let fallback: unknown;
      let hasFallback = false;
      if (this.peek() === ',') {
        this.pos++;
        this.skipSpace(true);
        fallback = this.valueExpr();
        hasFallback = true;
        this.skipSpace(true);
      }
      this.expectChar(')', `')' to close ENV.fetch(`);
      const found = this.env[name];
      if (found !== undefined) return found;
      if (!hasFallback) this.fail(`environment variable ${name} is not set`, start);
      return fallback;
    }
    return this.expected("'[' after ENV");
  }

  private singleQuoted(): string {
    const start = this.pos;
    this.pos++;
    let out = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) this.fail("unterminated string (expected a closing ')", start);
      this.pos++;
      if (ch === "'") return out;
      if (ch === '\\' && (this.peek() === "'" || this.peek() === '\\')) {
        out += this.peek();
        this.pos++;
      } else out += ch;
    }
  }

  private doubleQuoted(): string {
    const start = this.pos;
    this.pos++;
    let out = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) this.fail('unterminated string (expected a closing ")', start);
      if (ch === '"') {
        this.pos++;
        return out;
      }
      if (ch === '#' && this.peek(1) === '{') this.fail('string interpolation (#{...}) is not supported');
      this.pos++;
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      out += this.escape(start);
    }
  }

  private escape(stringStart: number): string {
    const ch = this.peek();
    if (ch === undefined) this.fail('unterminated string (expected a closing ")', stringStart);
    this.pos++;
    const simple: Record<string, string> = {
      n: '\n',
      t: '\t',
      r: '\r',
      s: ' ',
      e: '\x1b',
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
      '\n': '',
    };
    const mapped = simple[ch];
    if (mapped !== undefined) return mapped;
    if (ch === 'u') {
      if (this.peek() === '{') {
        const close = this.text.indexOf('}', this.pos);
        const body = close < 0 ? '' : this.text.slice(this.pos + 1, close);
        if (!/^\s*[0-9a-fA-F]{1,6}(\s+[0-9a-fA-F]{1,6})*\s*$/u.test(body)) this.expected('\\u{HEX}');
        this.pos = close + 1;
        return body
          .trim()
          .split(/\s+/u)
          .map((hex) => String.fromCodePoint(parseInt(hex, 16)))
          .join('');
      }
      const hex = this.text.slice(this.pos, this.pos + 4);
      if (!/^[0-9a-fA-F]{4}$/u.test(hex)) this.expected('four hex digits after \\u');
      this.pos += 4;
      return String.fromCharCode(parseInt(hex, 16));
    }
    if (ch === 'x') {
      const hex = /^[0-9a-fA-F]{1,2}/u.exec(this.text.slice(this.pos, this.pos + 2))?.[0];
      if (hex === undefined) this.expected('hex digits after \\x');
      this.pos += hex.length;
      return String.fromCharCode(parseInt(hex, 16));
    }
    if (/[0-7]/u.test(ch)) {
      const oct = (/^[0-7]{1,3}/u.exec(this.text.slice(this.pos - 1, this.pos + 2)) ?? ['0'])[0];
      this.pos += oct.length - 1;
      return String.fromCharCode(parseInt(oct, 8));
    }
    return ch;
  }

  private symbol(): string {
    const start = this.pos;
    this.pos++;
    if (this.peek() === '"') return this.doubleQuoted();
    if (this.peek() === "'") return this.singleQuoted();
    const name = this.ident();
    if (name === undefined) return this.expected('a symbol name after :', start + 1);
    if (this.peek() === '?' || this.peek() === '!') return name + (this.text[this.pos++] ?? '');
    return name;
  }

  private number(): number {
    const match = /^[-+]?[0-9][0-9_]*(\.[0-9][0-9_]*)?([eE][-+]?[0-9]+)?/u.exec(this.text.slice(this.pos));
    if (match === null) return this.expected('a number');
    const raw = match[0];
    if (/_$|__|_\./u.test(raw)) this.fail(`malformed number '${raw}'`);
    this.pos += raw.length;
    if (IDENT_CHAR.test(this.peek() ?? '')) this.expected('end of number');
    return Number(raw.replace(/_/gu, ''));
  }

  private regex(): string {
    const start = this.pos;
    this.pos++;
    let source = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined || ch === '\n')
        this.fail('unterminated regular expression (expected a closing /)', start);
      this.pos++;
      if (ch === '/') break;
      if (ch === '#' && this.peek() === '{')
        this.fail('regex interpolation (#{...}) is not supported', this.pos - 1);
      source += ch;
      if (ch === '\\') {
        const next = this.peek();
        if (next === undefined) continue;
        source += next;
        this.pos++;
      }
    }
    let flags = '';
    while (/[a-z]/u.test(this.peek() ?? '')) flags += this.text[this.pos++] ?? '';
    return rubyRegexToKey(source, flags, (detail) => this.fail(detail, start));
  }

  private wordArray(): string[] {
    const start = this.pos;
    this.pos += 2;
    const pairs: Record<string, string> = { '[': ']', '(': ')', '{': '}', '<': '>' };
    const open = this.peek();
    const close =
      open === undefined ? undefined : (pairs[open] ?? (/[^\w\s]/u.test(open) ? open : undefined));
    if (close === undefined) return this.expected('a delimiter after %w');
    this.pos++;
    const end = this.text.indexOf(close, this.pos);
    if (end < 0) this.fail(`unterminated %w array (expected '${close}')`, start);
    const body = this.text.slice(this.pos, end);
    this.pos = end + 1;
    return body.split(/\s+/u).filter((word) => word !== '');
  }

  private array(): unknown[] {
    const start = this.pos;
    this.pos++;
    const items: unknown[] = [];
    for (;;) {
      this.skipSpace(true);
      if (this.peek() === ']') {
        this.pos++;
        return items;
      }
      items.push(this.valueExpr());
      this.skipSpace(true);
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== ']') this.expected(`',' or ']' to close '[' at ${this.where(start)}`);
    }
  }

  private hash(): Record<string, unknown> {
    const start = this.pos;
    this.pos++;
    return this.hashBody(start, '}');
  }

  /** Hash entries up to `close`; `start` is the position of the opening bracket. */
  private hashBody(start: number, close: '}' | ')'): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (;;) {
      this.skipSpace(true);
      if (this.peek() === close) {
        this.pos++;
        return out;
      }
      const keyPos = this.pos;
      let key: unknown;
      let label = false;
      const name = this.ident();
      if (name !== undefined && this.peek() === ':' && this.peek(1) !== ':') {
        this.pos++;
        key = name;
        label = true;
      } else {
        this.pos = keyPos;
        key = this.valueExpr();
        if (
          typeof key === 'string' &&
          this.peek() === ':' &&
          this.peek(1) !== ':' &&
          this.text[keyPos] !== ':'
        ) {
          this.pos++;
          label = true;
        }
      }
      if (typeof key !== 'string' && typeof key !== 'number')
        this.fail('hash keys must be strings, symbols or numbers', keyPos);
      this.skipSpace(true);
      if (!label) {
        if (this.peek() !== '=' || this.peek(1) !== '>') this.expected("'=>' after the hash key");
        this.pos += 2;
        this.skipSpace(true);
      }
      out[String(key)] = this.valueExpr();
      this.skipSpace(true);
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== close) {
        this.expected(`',' or '${close}' to close '${close === '}' ? '{' : '('}' at ${this.where(start)}`);
      }
    }
  }
}

/**
 * Parses a Ruby config file (the subset described in this module) and returns its values and
 * the warnings for lines that were recognised but ignored.
 *
 * @throws ConfigFileError for anything outside the subset, naming file, line and column.
 */
export function parseRubyConfigDetailed(text: string, options: ParseConfigOptions = {}): ParsedConfigFile {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  return new RubyConfigParser(source, options.file ?? DEFAULT_FILE, options.env ?? process.env).parse();
}

/**
 * Parses a Ruby config file (the subset described in this module) into its config keys.
 *
 * @param text - the file's contents.
 * @param file - the file name used in errors.
 * @param env - where `ENV['X']` reads from; default `process.env`.
 * @throws ConfigFileError for anything outside the subset, naming file, line and column.
 */
export function parseRubyConfig(text: string, file?: string, env?: ConfigEnv): Record<string, unknown> {
  return parseRubyConfigDetailed(text, { file, env }).values;
}

/** True when a config file should be read as JSON: a `.json` name, or text starting with `{`. */
export function isJsonConfig(text: string, file?: string): boolean {
  return (
    (file !== undefined && /\.json$/iu.test(file)) ||
    text
      .replace(/^\uFEFF/u, '')
      .trimStart()
      .startsWith('{')
  );
}

function parseJsonConfig(text: string, file: string): ParsedConfigFile {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const position = /position (\d+)/u.exec(message)?.[1];
    let line = 1;
    let column = 1;
    if (position !== undefined) {
      const before = source.slice(0, Number(position));
      line = before.split('\n').length;
      column = Number(position) - before.lastIndexOf('\n');
    }
    throw new ConfigFileError(file, line, column, `invalid JSON: ${message}`);
  }
  if (!isRecord(value)) throw new ConfigFileError(file, 1, 1, 'expected a JSON object at the top level');
  const values: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== null) values[key] = item;
  const keyLines = topLevelJsonKeyLines(source);
  const lines: Record<string, number> = {};
  for (const key of Object.keys(values)) {
    const line = keyLines[key];
    if (line !== undefined) lines[key] = line;
  }
  return { values, warnings: [], format: 'json', lines };
}

/**
 * The line of each key of the top-level object of valid JSON text (the last one when a key is
 * repeated, as `JSON.parse` keeps the last value).
 */
function topLevelJsonKeyLines(text: string): Record<string, number> {
  const lines: Record<string, number> = {};
  let depth = 0;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n') line++;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
    else if (ch === '"') {
      const startLine = line;
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const raw = text.slice(i, j + 1);
      i = j;
      if (depth !== 1) continue;
      let k = j + 1;
      while (k < text.length && /\s/u.test(text[k] ?? '')) k++;
      if (text[k] !== ':') continue;
      try {
        lines[JSON.parse(raw) as string] = startLine;
      } catch {
        // Not a key we can name.
      }
    }
  }
  return lines;
}

/**
 * Parses a config file of either syntax: JSON when {@link isJsonConfig} says so, else Ruby.
 *
 * @throws ConfigFileError naming file, line and column.
 */
export function parseConfigText(text: string, options: ParseConfigOptions = {}): ParsedConfigFile {
  if (isJsonConfig(text, options.file)) return parseJsonConfig(text, options.file ?? DEFAULT_FILE);
  return parseRubyConfigDetailed(text, options);
}
