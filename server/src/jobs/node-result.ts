/**
 * How the command ended on a node, read from its `succeeded`/`failed` message (ours: the
 * original client sends none of it). The message comes from the node: every field is checked,
 * and one of the wrong shape is taken as absent rather than failing the node's result.
 *
 * @module
 */
import type { MessageBody } from '@push-jobs/protocol/internal';
import type { NodeRunResult } from '../store/types.js';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const SIGNAL = /^SIG[A-Z0-9+-]{1,12}$/;
/** ISO 8601 date and time with a zone, as `Date.prototype.toISOString` writes it (or an offset). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function exitStatusOf(value: unknown): number | null {
  return Number.isInteger(value) && (value as number) >= INT32_MIN && (value as number) <= INT32_MAX
    ? (value as number)
    : null;
}

function signalOf(value: unknown): string | null {
  return typeof value === 'string' && SIGNAL.test(value) ? value : null;
}

function timeOf(value: unknown): Date | null {
  if (typeof value !== 'string' || value.length > 40 || !ISO_TIME.test(value)) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms) : null;
}

/** The result a `succeeded`/`failed` message reports, or undefined when it reports none. */
export function nodeResultOf(body: MessageBody): NodeRunResult | undefined {
  const result: NodeRunResult = {
    exitStatus: exitStatusOf(body.exit_status),
    signal: signalOf(body.signal),
    startedAt: timeOf(body.started_at),
    endedAt: timeOf(body.ended_at),
  };
  const { exitStatus, signal, startedAt, endedAt } = result;
  return exitStatus === null && signal === null && startedAt === null && endedAt === null
    ? undefined
    : result;
}
