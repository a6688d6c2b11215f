/**
 * Compiling a parsed query into a predicate over flattened nodes. Compilation happens once per
 * query: wildcard patterns become one RegExp each, range bounds are parsed once, and matching a
 * node only looks up the fields the query names.
 *
 * Values match case-insensitively (exact terms, wildcards and lexical ranges alike), as Chef's
 * Solr text fields do for typical queries.
 *
 * @module
 */
import type { QueryNode, RangeNode } from './ast.js';
import type { FlatNode } from './flatten.js';
import { parseQuery } from './query.js';

/** A compiled query: true when the flattened node matches. */
export type NodeMatcher = (flat: FlatNode) => boolean;

/**
 * Parse and compile a query once, for use over many flattened nodes.
 *
 * @throws {SearchQueryError} when the query does not parse.
 */
export function compileQuery(query: string, opts: CompileOptions = {}): NodeMatcher {
  return compileNode(parseQuery(query), opts);
}

/** Options of {@link compileQuery}. */
export interface CompileOptions {
  /**
   * The flattened nodes matched have lowercased values (see {@link lowercaseValues}): an exact
   * term is then one string comparison per value, with no lowercasing at match time.
   */
  lowercased?: boolean;
}

/** A flattened node with every value lowercased, for matchers compiled with `lowercased`. */
export function lowercaseValues(flat: FlatNode): FlatNode {
  const out: FlatNode = new Map();
  for (const [k, values] of flat)
    out.set(
      k,
      values.map((v) => v.toLowerCase()),
    );
  return out;
}

/** Compile an already parsed query. */
export function compileNode(node: QueryNode, opts: CompileOptions = {}): NodeMatcher {
  const sub = (n: QueryNode): NodeMatcher => compileNode(n, opts);
  switch (node.kind) {
    case 'all':
      return () => true;
    case 'term': {
      const { field } = node;
      const want = node.value.toLowerCase();
      if (opts.lowercased === true) return (flat) => includes(flat.get(field), want);
      return (flat) => some(flat.get(field), (v) => v === want || v.toLowerCase() === want);
    }
    case 'wildcard': {
      const { field } = node;
      if (node.pattern === '*') return (flat) => (flat.get(field)?.length ?? 0) > 0;
      const re = wildcardRegExp(node.pattern);
      return (flat) => some(flat.get(field), (v) => re.test(v));
    }
    case 'range': {
      const { field } = node;
      const inRange = rangeTest(node);
      return (flat) => some(flat.get(field), inRange);
    }
    case 'not': {
      const m = sub(node.operand);
      return (flat) => !m(flat);
    }
    case 'and': {
      const ms = node.operands.map(sub);
      return (flat) => ms.every((m) => m(flat));
    }
    case 'or': {
      const ms = node.operands.map(sub);
      return (flat) => ms.some((m) => m(flat));
    }
    case 'bool': {
      const must = node.must.map(sub);
      const should = node.should.map(sub);
      const mustNot = node.mustNot.map(sub);
      const needShould = must.length === 0 && should.length > 0;
      return (flat) =>
        must.every((m) => m(flat)) &&
        !mustNot.some((m) => m(flat)) &&
        (!needShould || should.some((m) => m(flat)));
    }
  }
}

function includes(values: string[] | undefined, want: string): boolean {
  if (values === undefined) return false;
  for (const v of values) if (v === want) return true;
  return false;
}

function some(values: string[] | undefined, test: (v: string) => boolean): boolean {
  if (values === undefined) return false;
  for (const v of values) if (test(v)) return true;
  return false;
}

/**
 * A normalised wildcard pattern (`*` any run, `?` one character, `\` escapes) as an anchored,
 * case-insensitive RegExp.
 */
export function wildcardRegExp(pattern: string): RegExp {
  let src = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '\\' && i + 1 < pattern.length) {
      src += escapeRegExp(pattern.charAt(++i));
    } else if (c === '*') {
      src += '[\\s\\S]*';
    } else if (c === '?') {
      src += '[\\s\\S]';
    } else {
      src += escapeRegExp(c);
    }
  }
  return new RegExp(`^${src}$`, 'iu');
}

const escapeRegExp = (c: string): string => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** The number a value reads as, or `null` when it is not a plain decimal number. */
export function asNumber(s: string): number | null {
  return NUMBER.test(s.trim()) ? Number(s) : null;
}

/**
 * The per-value test of a range: numeric when the value and every given bound are numbers,
 * otherwise by lowercased code-unit order.
 */
function rangeTest(r: RangeNode): (v: string) => boolean {
  const lowerNum = r.lower === null ? null : asNumber(r.lower);
  const upperNum = r.upper === null ? null : asNumber(r.upper);
  const numericBounds = (r.lower === null || lowerNum !== null) && (r.upper === null || upperNum !== null);
  const lowerText = r.lower?.toLowerCase() ?? null;
  const upperText = r.upper?.toLowerCase() ?? null;
  const within = <T extends number | string>(v: T, lo: T | null, hi: T | null): boolean =>
    (lo === null || (r.includeLower ? v >= lo : v > lo)) &&
    (hi === null || (r.includeUpper ? v <= hi : v < hi));
  return (v) => {
    if (numericBounds) {
      const n = asNumber(v);
      if (n !== null) return within(n, lowerNum, upperNum);
    }
    return within(v.toLowerCase(), lowerText, upperText);
  };
}
