/**
 * Quorum specifications: how many of a job's nodes must commit before it runs.
 *
 * A quorum is given either as a node count (`"8"` or `8`) or as a percentage of the job's
 * nodes (`"80%"`). The REST API only ever carries the resulting count (`quorum` in the job
 * request); percentages are resolved by the client (knife-push `--quorum`, our CLI).
 *
 * @module
 */
import { ERROR_CODES, InvalidArgumentError } from './errors.js';

/** A quorum as a user writes it: a count (`8`, `"8"`) or a percentage (`"80%"`). */
export type QuorumSpec = string | number;

/** A quorum spec after its syntax was checked. */
export type ParsedQuorumSpec = { kind: 'count'; count: number } | { kind: 'percent'; percent: number };

const SPEC_SYNTAX = /^(\d+)(%?)$/;

function describeValue(spec: unknown): string {
  return typeof spec === 'string' ? JSON.stringify(spec) : String(spec);
}

function quorumError(spec: unknown, nodeCount?: number): InvalidArgumentError {
  const range = nodeCount === undefined ? 'a non-negative integer' : `from 0 to ${nodeCount}`;
  return new InvalidArgumentError(
    `invalid quorum ${describeValue(spec)} (expected a node count ${range}, or a percentage from 0% to 100%)`,
    { code: ERROR_CODES.INVALID_QUORUM },
  );
}

/**
 * Checks the syntax of a quorum spec, without a node count.
 *
 * Accepted: a non-negative integer (number or string of decimal digits), or a string of
 * decimal digits followed directly by `%`, at most `100%`. Surrounding whitespace is ignored.
 *
 * @throws InvalidArgumentError with code `PJ_ERR_INVALID_QUORUM` for anything else: empty,
 *   non-numeric, negative, fractional, exponent forms (`"1e2%"`), or a percentage above 100.
 */
export function parseQuorumSpec(spec: QuorumSpec): ParsedQuorumSpec {
  if (typeof spec === 'number') {
    if (!Number.isSafeInteger(spec) || spec < 0) throw quorumError(spec);
    return { kind: 'count', count: spec };
  }
  if (typeof spec !== 'string') throw quorumError(spec);
  const match = SPEC_SYNTAX.exec(spec.trim());
  if (match === null) throw quorumError(spec);
  const value = Number(match[1]);
  if (!Number.isSafeInteger(value)) throw quorumError(spec);
  if (match[2] === '%') {
    if (value > 100) throw quorumError(spec);
    return { kind: 'percent', percent: value };
  }
  return { kind: 'count', count: value };
}

function checkNodeCount(nodeCount: number): void {
  if (!Number.isSafeInteger(nodeCount) || nodeCount < 1) {
    throw new InvalidArgumentError(`invalid node count ${String(nodeCount)} (expected an integer >= 1)`, {
      code: ERROR_CODES.INVALID_QUORUM,
    });
  }
}

/**
 * Turns a quorum spec into the number of nodes that must commit.
 *
 * * `"P%"` gives `ceil(P × nodeCount / 100)`: a percentage is **rounded up**, so `"50%"` of 3
 *   nodes is 2 and `"80%"` of 5 is 4. Any non-zero percentage needs at least one node;
 *   `"0%"` gives 0 and `"100%"` gives `nodeCount`.
 * * `"N"` or `N` gives `N`, which must be from 0 to `nodeCount`.
 *
 * This matches knife-push's `get_quorum` (client spec B.2), with these deliberate differences:
 * * knife computes `((P.to_f / 100) * nodes).ceil` in floating point, which can round up one
 *   node too many (7% of 100 nodes gives 8 in knife). We compute in integers, so 7% of 100 is 7.
 * * knife passes a count larger than the node count, or a percentage above 100, to the server,
 *   where the job can then never reach quorum. We reject both here.
 * * knife does not trim whitespace and accepts only strings; we trim and also accept numbers.
 *
 * @param spec - the quorum as given by the user.
 * @param nodeCount - the number of nodes of the job; an integer >= 1.
 * @throws InvalidArgumentError with code `PJ_ERR_INVALID_QUORUM`, naming the value and the
 *   allowed range, for a malformed spec, a count above `nodeCount`, or a bad `nodeCount`.
 */
export function parseQuorum(spec: QuorumSpec, nodeCount: number): number {
  checkNodeCount(nodeCount);
  let parsed: ParsedQuorumSpec;
  try {
    parsed = parseQuorumSpec(spec);
  } catch {
    throw quorumError(spec, nodeCount);
  }
  if (parsed.kind === 'percent') return Math.ceil((parsed.percent * nodeCount) / 100);
  if (parsed.count > nodeCount) throw quorumError(spec, nodeCount);
  return parsed.count;
}

/**
 * The canonical text of a quorum spec: `"80%"` for a percentage, `"8"` for a count. Leading
 * zeros and surrounding whitespace are dropped, so `formatQuorum(' 080% ')` is `"80%"`.
 * The output parses back to the same spec with {@link parseQuorumSpec}.
 *
 * @throws InvalidArgumentError with code `PJ_ERR_INVALID_QUORUM` for a malformed spec.
 */
export function formatQuorum(spec: QuorumSpec | ParsedQuorumSpec): string {
  const parsed = typeof spec === 'object' ? parseQuorumSpec(specText(spec)) : parseQuorumSpec(spec);
  return specText(parsed);
}

function specText(spec: ParsedQuorumSpec): string {
  return spec.kind === 'percent' ? `${spec.percent}%` : `${spec.count}`;
}

/**
 * A short human description of a resolved quorum, e.g. `"4 of 5 nodes"`, for CLI output and
 * log lines.
 */
export function describeQuorum(quorum: number, nodeCount: number): string {
  return `${quorum} of ${nodeCount} node${nodeCount === 1 ? '' : 's'}`;
}
