/**
 * Chef-style node search (`GET /organizations/ORG/search/node?q=...`), without I/O: flattening
 * nodes as Chef's index does, parsing the Lucene query syntax, and matching.
 *
 * @module
 */
export type {
  AndNode,
  BoolNode,
  MatchAllNode,
  NotNode,
  OrNode,
  QueryNode,
  RangeNode,
  TermNode,
  WildcardNode,
} from './ast.js';
export { SearchQueryError } from './errors.js';
export { flattenNode, indexDocument, mergeAttributes, parseRunListItem, type FlatNode } from './flatten.js';
export {
  asNumber,
  compileNode,
  compileQuery,
  lowercaseValues,
  wildcardRegExp,
  type CompileOptions,
  type NodeMatcher,
} from './match.js';
export { NodeSearchIndex } from './node-index.js';
export { OrgSearchIndexes, type OrgSearchIndexesOptions } from './org-indexes.js';
export { MAX_QUERY_DEPTH, parseQuery } from './query.js';
export { DEFAULT_ROWS, resolvePaging, searchNodes, type SearchOptions, type SearchResult } from './search.js';
