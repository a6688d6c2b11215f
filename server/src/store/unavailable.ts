/**
 * Transient store failures: the database is unreachable, restarting, failing over, or (SQLite)
 * locked by another process. Stores turn such errors into {@link StoreUnavailableError}, so
 * callers can tell "try again later" (a 503, a retried job transition) from a real fault.
 *
 * @module
 */
import { ERROR_CODES, errorMessage, PushJobsError } from '@push-jobs/protocol/internal';

/** The store could not be reached or was busy; the operation did not happen and may be retried. */
export class StoreUnavailableError extends PushJobsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERROR_CODES.UNAVAILABLE, message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** Node.js socket errors that mean the database server is (for now) unreachable. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTCONN',
]);

/**
 * PostgreSQL SQLSTATEs and classes after which the same statement may succeed later:
 * connection exceptions (08), insufficient resources (53), operator intervention (57: admin or
 * crash shutdown, cannot connect now, `pg_terminate_backend`), serialization failure and deadlock.
 */
const PG_TRANSIENT_CLASSES = ['08', '53', '57'];
const PG_TRANSIENT_CODES = new Set(['40001', '40P01']);

/** Messages of node-postgres for a connection that died or never came (they carry no code). */
const PG_CONNECTION_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /not queryable/i,
  /connection ended/i,
  /cannot use a pool after calling end/i,
];

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether a node-postgres error means the database was unavailable (not a bad statement). */
export function isTransientPostgresError(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined) {
    if (NETWORK_CODES.has(code) || PG_TRANSIENT_CODES.has(code)) return true;
    if (code.length === 5 && PG_TRANSIENT_CLASSES.includes(code.slice(0, 2))) return true;
  }
  const message = errorMessage(error);
  return PG_CONNECTION_MESSAGES.some((re) => re.test(message));
}

/** Whether a better-sqlite3 error means the file was locked by another connection. */
export function isSqliteBusyError(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** `error` as a {@link StoreUnavailableError} (kept as the cause). */
export function unavailable(kind: string, error: unknown): StoreUnavailableError {
  return new StoreUnavailableError(`${kind} unavailable: ${errorMessage(error)}`, { cause: error });
}
