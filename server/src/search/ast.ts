/**
 * The parsed form of a Chef (Lucene-syntax) search query. Field names are lowercased, because
 * the index lowercases them; values keep their case and are compared case-insensitively.
 *
 * @module
 */

/** `*:*` or a bare `*`: every document. */
export interface MatchAllNode {
  kind: 'all';
}

/** `field:value` or `field:"quoted value"`: some value of the field equals `value`. */
export interface TermNode {
  kind: 'term';
  field: string;
  /** Unescaped. */
  value: string;
}

/**
 * `field:web*` / `field:we?01`: some value of the field matches the pattern. In `pattern`, `*`
 * and `?` are wildcards and a backslash escapes the next character (only `\*`, `\?` and `\\`
 * remain escaped; other escapes are already resolved).
 */
export interface WildcardNode {
  kind: 'wildcard';
  field: string;
  pattern: string;
}

/**
 * `field:[a TO z]` (inclusive) / `field:{a TO z}` (exclusive), either bracket on either side.
 * A `null` bound (`*`) is open.
 */
export interface RangeNode {
  kind: 'range';
  field: string;
  lower: string | null;
  upper: string | null;
  includeLower: boolean;
  includeUpper: boolean;
}

/** `NOT x` inside an `AND` chain: `x` does not match. */
export interface NotNode {
  kind: 'not';
  operand: QueryNode;
}

/** `a AND b AND ...`: all operands match. */
export interface AndNode {
  kind: 'and';
  operands: QueryNode[];
}

/** `a OR b ...` or adjacent clauses `a b`: at least one operand matches. */
export interface OrNode {
  kind: 'or';
  operands: QueryNode[];
}

/**
 * A clause list with Lucene `+`/`-` (and `NOT`) markers, as a Lucene `BooleanQuery`: every
 * `must` matches, no `mustNot` matches, and, when there is no `must`, at least one `should`
 * matches. A list of only `mustNot` clauses matches everything else (Solr's rule for purely
 * negative queries).
 */
export interface BoolNode {
  kind: 'bool';
  must: QueryNode[];
  should: QueryNode[];
  mustNot: QueryNode[];
}

/** Any node of a parsed query. */
export type QueryNode =
  MatchAllNode | TermNode | WildcardNode | RangeNode | NotNode | AndNode | OrNode | BoolNode;
