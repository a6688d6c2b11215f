/**
 * A real pino logger whose lines land in an array (a pino destination stream), for tests that
 * check what the server logs.
 *
 * @module
 */
import { pino, type Logger, type Level } from 'pino';

/** One parsed log line: pino's fields (`level` as a name) plus the line's own. */
export interface LogLine extends Record<string, unknown> {
  level: string;
  msg: string;
}

/** A logger at `level` writing into `lines`. */
export function captureLogs(level: Level = 'debug'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level, formatters: { level: (label) => ({ level: label }) } },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  return { logger, lines };
}
