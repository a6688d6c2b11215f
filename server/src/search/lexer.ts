/**
 * Tokens of the Chef/Lucene query syntax. The lexer knows one piece of context: right after
 * `field:` comes a value (word, quoted phrase, range or parenthesised group), and a value may
 * contain `:`, `[`, `]`, `-` and `!` without escaping; elsewhere `+`, `-` and `!` at the start
 * of a clause are operators and `:` ends a field name.
 *
 * @module
 */
import { SearchQueryError } from './errors.js';

/** `(`, `)`, an operator, or a prefix. */
export interface PunctToken {
  type: 'lparen' | 'rparen' | 'and' | 'or' | 'not' | 'plus' | 'minus';
  pos: number;
  /** The source text (`AND`, `&&`, `!`...), for messages. */
  text: string;
}

/** `name:` (the colon included). */
export interface FieldToken {
  type: 'field';
  pos: number;
  /** Unescaped, lowercased. */
  name: string;
  /** True when the name has an unescaped `*` or `?`. */
  wildcard: boolean;
}

/** An unquoted word. */
export interface WordToken {
  type: 'word';
  pos: number;
  /** Unescaped. */
  text: string;
  /** Normalised wildcard pattern (see `WildcardNode`) when the word has an unescaped `*`/`?`. */
  pattern: string | null;
}

/** `"a quoted value"`. */
export interface PhraseToken {
  type: 'phrase';
  pos: number;
  text: string;
}

/** `[a TO b]`, `{a TO b}`, or mixed brackets; a `*` bound is `null`. */
export interface RangeToken {
  type: 'range';
  pos: number;
  lower: string | null;
  upper: string | null;
  includeLower: boolean;
  includeUpper: boolean;
}

/** Any token. */
export type Token = PunctToken | FieldToken | WordToken | PhraseToken | RangeToken;

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);

/** Split a query into tokens; throws {@link SearchQueryError} on lexical errors. */
export function tokenize(query: string): Token[] {
  return new Lexer(query).run();
}

interface WordRead {
  text: string;
  pattern: string | null;
  end: number;
}

class Lexer {
  private i = 0;
  private readonly tokens: Token[] = [];

  constructor(private readonly q: string) {}

  run(): Token[] {
    const q = this.q;
    while (this.i < q.length) {
      const c = q.charAt(this.i);
      if (isSpace(c)) {
        this.i++;
        continue;
      }
      const pos = this.i;
      if (c === '(' || c === ')') {
        this.push({ type: c === '(' ? 'lparen' : 'rparen', pos, text: c });
        this.i++;
      } else if (q.startsWith('&&', pos) || q.startsWith('||', pos)) {
        this.push({ type: c === '&' ? 'and' : 'or', pos, text: c + c });
        this.i += 2;
      } else if (c === '+' || c === '-' || c === '!') {
        this.push({ type: c === '+' ? 'plus' : c === '-' ? 'minus' : 'not', pos, text: c });
        this.i++;
      } else if (c === '"') {
        this.push(this.phrase());
      } else if (c === '[' || c === '{') {
        this.push(this.range());
      } else {
        this.wordOrField();
      }
    }
    return this.tokens;
  }

  private push(t: Token): void {
    this.tokens.push(t);
  }

  private fail(problem: string, pos: number): never {
    throw new SearchQueryError(problem, pos, this.q);
  }

  /** A clause-start word: a field name if `:` follows, an operator keyword, or a bare term. */
  private wordOrField(): void {
    const pos = this.i;
    const w = this.word(pos, false, ['(', ')', '"', ':']);
    this.i = w.end;
    if (this.q.charAt(this.i) === ':') {
      if (w.text === '') this.fail("missing field name before ':'", pos);
      this.i++;
      this.push({ type: 'field', pos, name: w.text.toLowerCase(), wildcard: w.pattern !== null });
      this.value(pos, w.text);
      return;
    }
    if (w.pattern === null && (w.text === 'AND' || w.text === 'OR' || w.text === 'NOT')) {
      const raw = this.q.slice(pos, w.end);
      if (raw === w.text) {
        this.push({ type: w.text === 'AND' ? 'and' : w.text === 'OR' ? 'or' : 'not', pos, text: w.text });
        return;
      }
    }
    if (w.text === '' && w.pattern === null) this.fail(`unexpected '${this.q.charAt(pos)}'`, pos);
    this.push({ type: 'word', pos, text: w.text, pattern: w.pattern });
  }

  /** What follows `field:`; it must start right after the colon. */
  private value(fieldPos: number, field: string): void {
    const pos = this.i;
    const c = this.q.charAt(pos);
    if (pos >= this.q.length || isSpace(c) || c === ')') {
      this.fail(`expected a value right after '${field}:'`, fieldPos);
    }
    if (c === '"') this.push(this.phrase());
    else if (c === '[' || c === '{') this.push(this.range());
    else if (c === '(') {
      this.push({ type: 'lparen', pos, text: c });
      this.i++;
    } else {
      const w = this.word(pos, true, ['(', ')']);
      this.i = w.end;
      this.push({ type: 'word', pos, text: w.text, pattern: w.pattern });
    }
  }

  /**
   * Read a word from `start` up to whitespace or an unescaped stop character. `^` and `~`
   * (boosts, fuzzy and proximity searches) are rejected; an unescaped `"` inside a word too.
   */
  private word(start: number, inValue: boolean, stops: string[]): WordRead {
    const q = this.q;
    let i = start;
    let text = '';
    let pattern = '';
    let wildcard = false;
    while (i < q.length) {
      const c = q.charAt(i);
      if (isSpace(c) || stops.includes(c)) break;
      if (c === '\\') {
        const next = q.charAt(i + 1);
        if (i + 1 >= q.length) this.fail("'\\' at the end of the query escapes nothing", i);
        text += next;
        pattern += next === '*' || next === '?' || next === '\\' ? `\\${next}` : next;
        i += 2;
        continue;
      }
      if (c === '^' || c === '~') {
        this.fail(
          `'${c}' (boosts, fuzzy and proximity searches) is not supported; escape it as '\\${c}' to match it literally`,
          i,
        );
      }
      if (c === '"') this.fail(`unexpected '"' inside a ${inValue ? 'value' : 'word'}`, i);
      if (c === '*' || c === '?') wildcard = true;
      text += c;
      pattern += c;
      i++;
    }
    return { text, pattern: wildcard ? pattern : null, end: i };
  }

  /** `"..."`, with `\"` and `\\` escapes; wildcards inside are literal. */
  private phrase(): PhraseToken {
    const q = this.q;
    const pos = this.i;
    const r = this.quoted(pos);
    this.i = r.end;
    const after = q.charAt(this.i);
    if (this.i < q.length && !isSpace(after) && after !== ')') {
      this.fail("expected a space, an operator or ')' after the quoted value", this.i);
    }
    return { type: 'phrase', pos, text: r.text };
  }

  private quoted(pos: number): { text: string; end: number } {
    const q = this.q;
    let i = pos + 1;
    let text = '';
    while (i < q.length) {
      const c = q.charAt(i);
      if (c === '"') return { text, end: i + 1 };
      if (c === '\\' && i + 1 < q.length) {
        text += q.charAt(i + 1);
        i += 2;
        continue;
      }
      text += c;
      i++;
    }
    return this.fail("the quoted value is never closed (missing '\"')", pos);
  }

  /** `[lower TO upper]`; bounds are words or quoted; `*` is open. */
  private range(): RangeToken {
    const q = this.q;
    const pos = this.i;
    const includeLower = q.charAt(pos) === '[';
    this.i++;
    this.skipSpace();
    const lowerStart = this.i;
    const lower = this.bound(pos, 'lower');
    this.skipSpace();
    if (lower === 'TO' && q.charAt(lowerStart) !== '"' && !q.startsWith('TO', this.i)) {
      this.fail("range: missing lower bound before 'TO'", lowerStart);
    }
    if (!q.startsWith('TO', this.i)) {
      this.fail("range: expected 'TO' (upper case) after the lower bound", this.i >= q.length ? pos : this.i);
    }
    this.i += 2;
    if (!isSpace(q.charAt(this.i)))
      this.fail("range: missing upper bound after 'TO'", this.i >= q.length ? pos : this.i);
    this.skipSpace();
    const upper = this.bound(pos, 'upper');
    this.skipSpace();
    const close = q.charAt(this.i);
    if (close !== ']' && close !== '}') {
      this.fail(
        this.i >= q.length
          ? "range is never closed (missing ']' or '}')"
          : "range: expected ']' or '}' after the upper bound",
        this.i >= q.length ? pos : this.i,
      );
    }
    this.i++;
    const after = q.charAt(this.i);
    if (this.i < q.length && !isSpace(after) && after !== ')') {
      this.fail("expected a space, an operator or ')' after the range", this.i);
    }
    return { type: 'range', pos, lower, upper, includeLower, includeUpper: close === ']' };
  }

  private bound(rangePos: number, which: 'lower' | 'upper'): string | null {
    const start = this.i;
    if (this.q.charAt(start) === '"') {
      const r = this.quoted(start);
      this.i = r.end;
      return r.text;
    }
    const w = this.word(start, true, [']', '}', '[', '{', '(', ')']);
    if (w.end === start) {
      this.fail(`range: missing ${which} bound`, start >= this.q.length ? rangePos : start);
    }
    this.i = w.end;
    if (w.pattern === '*') return null;
    if (w.pattern !== null)
      this.fail('range bounds cannot contain wildcards (only a lone * for open)', start);
    return w.text;
  }

  private skipSpace(): void {
    while (isSpace(this.q.charAt(this.i))) this.i++;
  }
}
