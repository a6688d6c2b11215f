/**
 * The logging surface the server core and the agent share: a {@link Logger} takes structured
 * fields and a message (`log.info({ job }, 'job running')`), or a message alone, and makes child
 * loggers that add fields to every line (`log.child({ component: 'broker' })`). A pino logger
 * is one as it is (the server's); {@link createLogger} makes one over any {@link LogSink} (the
 * agent's, which writes the original client's line format).
 *
 * Fields are data, never formatted into the message by the surface: a sink decides how to show
 * them. Never put secrets (keys, signatures, passwords) in either.
 *
 * @module
 */

/** Structured fields of a log line (`job`, `node`, `err`, ...). */
export type LogFields = Readonly<Record<string, unknown>>;

/** The levels of the surface, lowest first. */
export const LOG_METHODS = ['debug', 'info', 'warn', 'error'] as const;

/** One of {@link LOG_METHODS}. */
export type LogMethodName = (typeof LOG_METHODS)[number];

/** Logs one line: fields and a message, or a message alone. */
export interface LogMethod {
  (fields: LogFields, message: string): void;
  (message: string): void;
}

/** The shared logging surface (pino's loggers have this shape). */
export interface Logger {
  /** A logger adding `bindings` to every line it logs (and its own children's). */
  child(bindings: LogFields): Logger;
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

/** Where the lines of a {@link createLogger} logger go. */
export interface LogSink {
  /** Whether lines at `level` are written (checked before a line's fields are merged). */
  enabled(level: LogMethodName): boolean;
  /** Writes one line; `fields` holds the child bindings, then the line's own fields. */
  write(level: LogMethodName, message: string, fields: LogFields): void;
}

const NO_FIELDS: LogFields = Object.freeze({});

/** A {@link Logger} writing to `sink`, with `bindings` on every line. */
export function createLogger(sink: LogSink, bindings: LogFields = NO_FIELDS): Logger {
  const method =
    (level: LogMethodName): LogMethod =>
    (fieldsOrMessage: LogFields | string, message?: string): void => {
      if (!sink.enabled(level)) return;
      if (typeof fieldsOrMessage === 'string') return sink.write(level, fieldsOrMessage, bindings);
      const fields = bindings === NO_FIELDS ? fieldsOrMessage : { ...bindings, ...fieldsOrMessage };
      sink.write(level, message ?? '', fields);
    };
  return {
    child: (more) => createLogger(sink, { ...bindings, ...more }),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
  };
}

/** A logger that drops everything. */
export const SILENT_LOGGER: Logger = createLogger({
  enabled: () => false,
  write: () => undefined,
});
