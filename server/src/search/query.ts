/**
 * Parser of Chef search queries (the Lucene query syntax Chef's Solr accepts) into a
 * {@link QueryNode} tree.
 *
 * Grammar, loosest binding first (boolean precedence, unlike Lucene's classic parser):
 *
 * ```text
 * query  := clause+                        clauses joined by OR, || or nothing (implicit OR)
 * clause := unary (('AND' | '&&') unary)*
 * unary  := ('NOT' | '!' | '-' | '+') unary | primary
 * primary:= '(' query ')' | field ':' value | '*'
 * value  := word | '"' phrase '"' | range | '(' query ')'   (a field group: field:(a OR b))
 * range  := ('[' | '{') bound 'TO' bound (']' | '}')        bound '*' is open
 * ```
 *
 * In a list of OR-ed clauses, a clause prefixed with `+` is required and one prefixed with `-`,
 * `NOT` or `!` is prohibited, as in a Lucene `BooleanQuery`: `a -b` and `a OR NOT b` both mean
 * "a, but not b", and a list of only prohibited clauses (`-a`, `NOT a`) matches everything
 * else. Inside an `AND` chain, `NOT x` is plain negation.
 *
 * @module
 */
import type { QueryNode } from './ast.js';
import { SearchQueryError } from './errors.js';
import { tokenize, type FieldToken, type PunctToken, type Token } from './lexer.js';

/** Nesting (parentheses, prefix operators) allowed before the query is rejected (keeps recursion bounded). */
export const MAX_QUERY_DEPTH = 64;

type Occur = 'must' | 'should' | 'mustNot';

/** A clause with its Lucene occurrence; for `mustNot`, `node` is the prohibited query. */
interface Clause {
  occur: Occur;
  node: QueryNode;
}

/**
 * Parse a Chef search query.
 *
 * @throws {SearchQueryError} for an empty query, unbalanced parentheses, a dangling operator, a
 *   term without a field, a malformed range, or unsupported syntax (boosts, fuzzy, proximity).
 */
export function parseQuery(query: string): QueryNode {
  const tokens = tokenize(query);
  if (tokens.length === 0) {
    throw new SearchQueryError('the search query is empty; use *:* to match every node', 0, query);
  }
  return new Parser(query, tokens).parseAll();
}

const describe = (t: Token): string => {
  switch (t.type) {
    case 'field':
      return `'${t.name}:'`;
    case 'word':
      return `'${t.text}'`;
    case 'phrase':
      return `"${t.text}"`;
    case 'range':
      return 'a range';
    default:
      return `'${t.text}'`;
  }
};

class Parser {
  private i = 0;
  private depth = 0;

  constructor(
    private readonly q: string,
    private readonly tokens: Token[],
  ) {}

  parseAll(): QueryNode {
    const node = this.parseOr(null);
    const t = this.peek();
    if (t !== undefined) {
      // parseOr stops only at ')' or the end.
      this.fail(`')' has no matching '('`, t.pos);
    }
    return node;
  }

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private next(): Token {
    const t = this.tokens[this.i];
    if (t === undefined) this.fail('unexpected end of the query', this.q.length);
    this.i++;
    return t;
  }

  private fail(problem: string, pos: number): never {
    throw new SearchQueryError(problem, pos, this.q);
  }

  /** One more level of nesting (parentheses or prefix operators); bounded to keep the stack safe. */
  private enter(pos: number): void {
    if (++this.depth > MAX_QUERY_DEPTH) {
      this.fail(`the query nests parentheses or operators deeper than ${MAX_QUERY_DEPTH} levels`, pos);
    }
  }

  /** After an operator: there must be a clause to apply it to. */
  private expectOperand(op: PunctToken): void {
    const t = this.peek();
    if (t === undefined || t.type === 'rparen') {
      this.fail(`'${op.text}' has nothing after it`, op.pos);
    }
    if (t.type === 'and' || t.type === 'or') {
      this.fail(`'${t.text}' cannot follow '${op.text}'; a clause must come between them`, t.pos);
    }
  }

  private parseOr(defaultField: string | null): QueryNode {
    const clauses: Clause[] = [this.parseAnd(defaultField)];
    for (let t = this.peek(); t !== undefined && t.type !== 'rparen'; t = this.peek()) {
      if (t.type === 'or') {
        this.i++;
        this.expectOperand(t);
      }
      clauses.push(this.parseAnd(defaultField));
    }
    return combine(clauses);
  }

  private parseAnd(defaultField: string | null): Clause {
    const first = this.parseUnary(defaultField);
    const operands: QueryNode[] = [];
    for (let t = this.peek(); t !== undefined && t.type === 'and'; t = this.peek()) {
      this.i++;
      this.expectOperand(t);
      if (operands.length === 0) operands.push(plain(first));
      operands.push(plain(this.parseUnary(defaultField)));
    }
    return operands.length === 0 ? first : { occur: 'should', node: { kind: 'and', operands } };
  }

  private parseUnary(defaultField: string | null): Clause {
    const t = this.peek();
    if (t !== undefined && (t.type === 'not' || t.type === 'minus' || t.type === 'plus')) {
      this.i++;
      this.expectOperand(t);
      this.enter(t.pos);
      const inner = plain(this.parseUnary(defaultField));
      this.depth--;
      return { occur: t.type === 'plus' ? 'must' : 'mustNot', node: inner };
    }
    return { occur: 'should', node: this.parsePrimary(defaultField) };
  }

  private parsePrimary(defaultField: string | null): QueryNode {
    const t = this.next();
    switch (t.type) {
      case 'lparen':
        return this.group(t, defaultField);
      case 'field':
        return this.fieldValue(t);
      case 'rparen':
        return this.fail("')' where a clause was expected (empty parentheses?)", t.pos);
      case 'and':
      case 'or':
        return this.fail(`'${t.text}' has no clause before it`, t.pos);
      case 'not':
      case 'plus':
      case 'minus':
        return this.fail(`unexpected '${t.text}'`, t.pos); // parseUnary consumes these
      default:
        if (defaultField !== null) return valueNode(defaultField, t, this.q);
        if (t.type === 'word' && t.pattern === '*') return { kind: 'all' };
        return this.fail(
          `${describe(t)} has no field; Chef search needs field:value (for example name:web01, or *:* for everything)`,
          t.pos,
        );
    }
  }

  private group(open: PunctToken, defaultField: string | null): QueryNode {
    this.enter(open.pos);
    const inner = this.peek();
    if (inner === undefined) this.fail("'(' is never closed", open.pos);
    if (inner.type === 'rparen') this.fail('empty parentheses', open.pos);
    const node = this.parseOr(defaultField);
    const close = this.peek();
    if (close === undefined) this.fail("'(' is never closed", open.pos);
    this.i++;
    this.depth--;
    return node;
  }

  private fieldValue(field: FieldToken): QueryNode {
    const v = this.next(); // the lexer guarantees a value token follows a field
    if (v.type === 'lparen') {
      if (field.wildcard) this.fail('a field group needs a plain field name', field.pos);
      return this.group(v, field.name);
    }
    if (field.wildcard) {
      if (field.name === '*' && v.type === 'word' && v.pattern === '*') return { kind: 'all' };
      this.fail('wildcards in field names are not supported (only *:*)', field.pos);
    }
    return valueNode(field.name, v, this.q);
  }
}

/** The value of `field:` as a node. */
function valueNode(field: string, t: Token, q: string): QueryNode {
  switch (t.type) {
    case 'word':
      return t.pattern === null
        ? { kind: 'term', field, value: t.text }
        : { kind: 'wildcard', field, pattern: t.pattern };
    case 'phrase':
      return { kind: 'term', field, value: t.text };
    case 'range':
      return {
        kind: 'range',
        field,
        lower: t.lower,
        upper: t.upper,
        includeLower: t.includeLower,
        includeUpper: t.includeUpper,
      };
    default:
      throw new SearchQueryError(`expected a value for '${field}:', found ${describe(t)}`, t.pos, q);
  }
}

/** A clause as a stand-alone node: a prohibited clause becomes its negation. */
function plain(c: Clause): QueryNode {
  return c.occur === 'mustNot' ? { kind: 'not', operand: c.node } : c.node;
}

/** The node for a list of OR-ed clauses. */
function combine(clauses: Clause[]): QueryNode {
  const [only] = clauses;
  if (clauses.length === 1 && only !== undefined) return plain(only);
  if (clauses.every((c) => c.occur === 'should')) return { kind: 'or', operands: clauses.map((c) => c.node) };
  const pick = (o: Occur): QueryNode[] => clauses.filter((c) => c.occur === o).map((c) => c.node);
  return { kind: 'bool', must: pick('must'), should: pick('should'), mustNot: pick('mustNot') };
}
