/**
 * The process's file descriptor limit, and the share of it the heartbeat socket may take. Every
 * connection to the heartbeat port holds a descriptor; without a cap, connections nobody
 * authenticated could take them all and leave the HTTP API, the command socket and the database
 * none (the soft limit cannot be raised from Node.js without native code, so the server sizes
 * its caps to it instead).
 *
 * @module
 */
import { readFileSync } from 'node:fs';

/** Descriptors always left to everything else (HTTP API, database, files, libzmq's own). */
export const MIN_FD_RESERVE = 64;

/** Heartbeat connections allowed when the limit cannot be read. */
export const DEFAULT_HEARTBEAT_CONNECTIONS = 10_000;

/** The soft RLIMIT_NOFILE from `/proc/self/limits` text; undefined when absent or unlimited. */
export function parseOpenFileLimit(limits: string): number | undefined {
  const m = /^Max open files\s+(\S+)/m.exec(limits);
  if (m === null || m[1] === 'unlimited') return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** This process's soft open-file limit, or undefined when it cannot be read (not Linux). */
export function openFileLimit(): number | undefined {
  try {
    return parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * How many heartbeat connections to allow under a descriptor limit: a quarter of the limit (at
 * least {@link MIN_FD_RESERVE}) is kept for the API and the rest, then half of what remains goes
 * to the heartbeat port, half to the command socket (each agent holds one connection to each).
 */
export function heartbeatConnectionCap(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_HEARTBEAT_CONNECTIONS;
  const reserve = Math.max(MIN_FD_RESERVE, Math.floor(limit / 4));
  return Math.max(1, Math.floor((limit - reserve) / 2));
}
