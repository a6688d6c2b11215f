/**
 * The server's one pino logger. {@link startPushServer} (or {@link buildApp} alone) makes it
 * first and hands it to Fastify (`loggerInstance`) and, as child loggers, to every component
 * (`{ component: 'jobs' | 'broker' | 'nodes' | 'zmq' | 'heartbeat' | 'zap' }`), so one level
 * and one destination govern every line the process writes.
 *
 * @module
 */
import { pino, type Logger as PinoLogger, type LoggerOptions } from 'pino';

/**
 * What the `logger` option of the server accepts: `false` (the default) logs nothing, `true`
 * logs at the configured `log_level` to stdout, an options object configures pino (its `level` defaults to the
 * configured `log_level`), and a pino logger is used as it is (tests pass one writing to a
 * stream).
 */
export type ServerLoggerOption = boolean | LoggerOptions | PinoLogger;

function isPinoLogger(option: ServerLoggerOption): option is PinoLogger {
  return typeof option === 'object' && typeof (option as Partial<PinoLogger>).child === 'function';
}

/**
 * The pino logger for `option` (see {@link ServerLoggerOption}); `level` is the configured
 * `log_level`, used when the option does not set one.
 */
export function createServerLogger(option: ServerLoggerOption | undefined, level: string): PinoLogger {
  if (option === undefined || option === false) return pino({ enabled: false });
  if (option === true) return pino({ level });
  if (isPinoLogger(option)) return option;
  return pino({ level, ...option });
}
