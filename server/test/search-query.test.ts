import { expect } from 'chai';
import { parseQuery, SearchQueryError, type QueryNode } from '../src/search/index.js';

const term = (field: string, value: string): QueryNode => ({ kind: 'term', field, value });
const not = (operand: QueryNode): QueryNode => ({ kind: 'not', operand });
const and = (...operands: QueryNode[]): QueryNode => ({ kind: 'and', operands });
const or = (...operands: QueryNode[]): QueryNode => ({ kind: 'or', operands });
const a = term('a', '1');
const b = term('b', '2');
const c = term('c', '3');

function parseError(q: string): SearchQueryError {
  try {
    parseQuery(q);
  } catch (e) {
    expect(e).to.be.instanceOf(SearchQueryError);
    return e as SearchQueryError;
  }
  throw new Error(`expected ${JSON.stringify(q)} to be rejected`);
}

describe('search: parseQuery', () => {
  describe('terms and values', () => {
    it('parses field:value and lowercases the field', () => {
      expect(parseQuery('Platform:Ubuntu')).to.deep.equal(term('platform', 'Ubuntu'));
    });

    it('keeps nested-path field names with underscores', () => {
      expect(parseQuery('kernel_machine:x86_64')).to.deep.equal(term('kernel_machine', 'x86_64'));
    });

    it('parses quoted values, with wildcards literal and \\" escapes', () => {
      expect(parseQuery('desc:"two words"')).to.deep.equal(term('desc', 'two words'));
      expect(parseQuery('desc:"a*b \\"q\\""')).to.deep.equal(term('desc', 'a*b "q"'));
    });

    it('resolves escapes in values', () => {
      expect(parseQuery('run_list:recipe\\[apache2\\]')).to.deep.equal(term('run_list', 'recipe[apache2]'));
      expect(parseQuery('recipes:apache2\\:\\:default')).to.deep.equal(term('recipes', 'apache2::default'));
      expect(parseQuery('name:a\\ b')).to.deep.equal(term('name', 'a b'));
      expect(parseQuery('name:\\*')).to.deep.equal(term('name', '*'));
    });

    it('accepts unescaped colons and brackets inside a value', () => {
      expect(parseQuery('recipes:apache2::default')).to.deep.equal(term('recipes', 'apache2::default'));
      expect(parseQuery('run_list:recipe[apache2]')).to.deep.equal(term('run_list', 'recipe[apache2]'));
    });

    it('keeps - and ! inside values', () => {
      expect(parseQuery('name:web-01')).to.deep.equal(term('name', 'web-01'));
      expect(parseQuery('name:hi!')).to.deep.equal(term('name', 'hi!'));
    });

    it('parses escapes in field names', () => {
      expect(parseQuery('odd\\:key:v')).to.deep.equal(term('odd:key', 'v'));
    });
  });

  describe('wildcards and match-all', () => {
    it('parses * and ? as wildcards', () => {
      expect(parseQuery('name:web*')).to.deep.equal({ kind: 'wildcard', field: 'name', pattern: 'web*' });
      expect(parseQuery('name:we?01')).to.deep.equal({ kind: 'wildcard', field: 'name', pattern: 'we?01' });
    });

    it('keeps escaped wildcard characters escaped in a pattern', () => {
      expect(parseQuery('name:a\\*b*')).to.deep.equal({ kind: 'wildcard', field: 'name', pattern: 'a\\*b*' });
    });

    it('parses *:* and a bare * as match-all', () => {
      expect(parseQuery('*:*')).to.deep.equal({ kind: 'all' });
      expect(parseQuery('*')).to.deep.equal({ kind: 'all' });
      expect(parseQuery(' ( *:* ) ')).to.deep.equal({ kind: 'all' });
    });
  });

  describe('ranges', () => {
    it('parses inclusive and exclusive ranges', () => {
      expect(parseQuery('n:[1 TO 10]')).to.deep.equal({
        kind: 'range',
        field: 'n',
        lower: '1',
        upper: '10',
        includeLower: true,
        includeUpper: true,
      });
      expect(parseQuery('n:{a TO z}')).to.deep.equal({
        kind: 'range',
        field: 'n',
        lower: 'a',
        upper: 'z',
        includeLower: false,
        includeUpper: false,
      });
    });

    it('parses mixed brackets, open bounds and quoted bounds', () => {
      expect(parseQuery('n:[5 TO *}')).to.deep.equal({
        kind: 'range',
        field: 'n',
        lower: '5',
        upper: null,
        includeLower: true,
        includeUpper: false,
      });
      expect(parseQuery('d:[ "2024 01" TO * ]')).to.include({ lower: '2024 01', upper: null });
    });
  });

  describe('operators and precedence', () => {
    it('parses AND / && and OR / ||', () => {
      expect(parseQuery('a:1 AND b:2')).to.deep.equal(and(a, b));
      expect(parseQuery('a:1 && b:2')).to.deep.equal(and(a, b));
      expect(parseQuery('a:1 OR b:2')).to.deep.equal(or(a, b));
      expect(parseQuery('a:1 || b:2')).to.deep.equal(or(a, b));
    });

    it('treats adjacent clauses as OR', () => {
      expect(parseQuery('a:1 b:2 c:3')).to.deep.equal(or(a, b, c));
    });

    it('parses NOT and ! as negation', () => {
      expect(parseQuery('NOT a:1')).to.deep.equal(not(a));
      expect(parseQuery('!a:1')).to.deep.equal(not(a));
      expect(parseQuery('NOT NOT a:1')).to.deep.equal(not(not(a)));
    });

    it('binds NOT tighter than AND', () => {
      expect(parseQuery('NOT a:1 AND b:2')).to.deep.equal(and(not(a), b));
      expect(parseQuery('a:1 AND NOT b:2')).to.deep.equal(and(a, not(b)));
    });

    it('binds AND tighter than OR', () => {
      expect(parseQuery('a:1 OR b:2 AND c:3')).to.deep.equal(or(a, and(b, c)));
      expect(parseQuery('a:1 AND b:2 OR c:3')).to.deep.equal(or(and(a, b), c));
      expect(parseQuery('a:1 b:2 AND c:3')).to.deep.equal(or(a, and(b, c)));
    });

    it('lets parentheses override precedence, nested', () => {
      expect(parseQuery('(a:1 OR b:2) AND c:3')).to.deep.equal(and(or(a, b), c));
      expect(parseQuery('a:1 AND (b:2 OR (c:3 AND NOT a:1))')).to.deep.equal(and(a, or(b, and(c, not(a)))));
    });

    it('reads operators only as whole upper-case words', () => {
      expect(parseQuery('a:and')).to.deep.equal(term('a', 'and'));
      expect(parseQuery('a:1 and:2')).to.deep.equal(or(a, term('and', '2')));
    });

    it('gives + and - Lucene required/prohibited meaning among OR-ed clauses', () => {
      expect(parseQuery('a:1 -b:2')).to.deep.equal({ kind: 'bool', must: [], should: [a], mustNot: [b] });
      expect(parseQuery('+a:1 b:2')).to.deep.equal({ kind: 'bool', must: [a], should: [b], mustNot: [] });
      expect(parseQuery('a:1 OR NOT b:2')).to.deep.equal({
        kind: 'bool',
        must: [],
        should: [a],
        mustNot: [b],
      });
      expect(parseQuery('-a:1')).to.deep.equal(not(a));
      expect(parseQuery('+a:1')).to.deep.equal(a);
      expect(parseQuery('a:1 AND -b:2')).to.deep.equal(and(a, not(b)));
    });

    it('parses a field group: field:(a OR b)', () => {
      expect(parseQuery('role:(web OR db)')).to.deep.equal(or(term('role', 'web'), term('role', 'db')));
      expect(parseQuery('role:(web AND NOT db*)')).to.deep.equal(
        and(term('role', 'web'), not({ kind: 'wildcard', field: 'role', pattern: 'db*' })),
      );
    });
  });

  describe('errors', () => {
    const cases: Array<[string, RegExp, number]> = [
      ['', /empty/, 0],
      ['   ', /empty/, 0],
      ['(a:1 OR b:2', /'\(' is never closed/, 0],
      ['((a:1)', /'\(' is never closed/, 0],
      ['a:1)', /'\)' has no matching '\('/, 3],
      ['a:1 AND', /'AND' has nothing after it/, 4],
      ['a:1 OR', /'OR' has nothing after it/, 4],
      ['a:1 &&', /'&&' has nothing after it/, 4],
      ['a:1 NOT', /'NOT' has nothing after it/, 4],
      ['(a:1 AND) b:2', /'AND' has nothing after it/, 5],
      ['AND a:1', /'AND' has no clause before it/, 0],
      ['a:1 AND OR b:2', /'OR' cannot follow 'AND'/, 8],
      ['()', /empty parentheses/, 0],
      ['web01', /'web01' has no field; Chef search needs field:value/, 0],
      ['name:web01 db01', /'db01' has no field/, 11],
      ['"quoted"', /has no field/, 0],
      [':foo', /missing field name/, 0],
      ['name:', /expected a value right after 'name:'/, 0],
      ['name: web', /expected a value right after 'name:'/, 0],
      ['n:[1 2]', /expected 'TO'/, 5],
      ['n:[1 TO ]', /missing upper bound/, 8],
      ['n:[ TO 2]', /missing lower bound/, 4],
      ['n:[1 TO 2', /range is never closed/, 2],
      ['n:[1 TO 2 3]', /expected '\]' or '\}'/, 10],
      ['n:[a* TO b]', /wildcards/, 3],
      ['n:"open', /quoted value is never closed/, 2],
      ['n:a^2', /not supported/, 3],
      ['n:a~', /not supported/, 3],
      ['a\\', /escapes nothing/, 1],
      ['na*e:x', /wildcards in field names/, 0],
    ];
    for (const [q, message, position] of cases) {
      it(`rejects ${JSON.stringify(q)}`, () => {
        const e = parseError(q);
        expect(e.message).to.match(message);
        expect(e.message).to.contain(`at position ${position}`);
        expect(e.position).to.equal(position);
        expect(e.query).to.equal(q);
      });
    }

    it('bounds nesting depth', () => {
      expect(parseError('('.repeat(200) + 'a:1' + ')'.repeat(200)).message).to.match(/deeper than/);
      expect(parseError('!'.repeat(200) + 'a:1').message).to.match(/deeper than/);
    });

    it('accepts nesting within the limit', () => {
      expect(parseQuery('('.repeat(30) + 'a:1' + ')'.repeat(30))).to.deep.equal(a);
    });
  });
});
