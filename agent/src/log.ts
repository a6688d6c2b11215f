/**
 * The agent's logging, on the protocol's logging surface ({@link Logger}): the daemon's logger
 * writes the original client's lines, `[timestamp] LEVEL: message` (the timestamp only with
 * `include_timestamp`), one line per call whatever the message holds (see
 * {@link escapeControlCharacters}).
 *
 * The agent's modules log through {@link AgentLogger}, one message per call; a {@link Logger}
 * is one. Fields, which the agent's own lines do not use, follow the message as ` key=value`.
 *
 * @module
 */
import {
  createLogger,
  LOG_LEVELS,
  SILENT_LOGGER,
  type LogFields,
  type Logger,
  type LogLevel,
} from '@push-jobs/protocol/lite';
import { escapeControlCharacters } from './log-escape.js';

/** Where the agent's modules log: every method takes one line. */
export interface AgentLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A logger that drops everything. */
export { SILENT_LOGGER };

/** Something text can be written to (`process.stdout`, a file stream, a test buffer). */
export interface LogOutput {
  write(text: string): unknown;
}

/** The daemon's logger: the logging surface, plus lines at any agent level (`fatal` too). */
export interface AgentLog extends Logger {
  at(level: LogLevel, message: string): void;
}

function withFields(message: string, fields: LogFields): string {
  let line = message;
  for (const [key, value] of Object.entries(fields)) {
    line += ` ${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
  }
  return line;
}

/** A logger at `level` writing the original client's lines to `out`. */
export function createAgentLogger(out: LogOutput, level: LogLevel, timestamps: boolean): AgentLog {
  const min = LOG_LEVELS.indexOf(level);
  const enabled = (lvl: LogLevel): boolean => LOG_LEVELS.indexOf(lvl) >= min;
  const at = (lvl: LogLevel, message: string): void => {
    if (!enabled(lvl)) return;
    const stamp = timestamps ? `[${new Date().toISOString()}] ` : '';
    out.write(`${stamp}${lvl.toUpperCase()}: ${escapeControlCharacters(message)}\n`);
  };
  const logger = createLogger({
    enabled,
    write: (lvl, message, fields) => at(lvl, withFields(message, fields)),
  });
  return { ...logger, at };
}
