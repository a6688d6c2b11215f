/**
 * Store logic as dialect-neutral programs. Each store method is written once, as a generator
 * that yields SQL operations (`?` placeholders) and receives their results; a store runs it
 * with its own driver: SQLite synchronously inside `db.transaction()`, PostgreSQL
 * asynchronously on one checked-out client between BEGIN and COMMIT.
 *
 * @module
 */

/**
 * A value bound to a `?` placeholder. Drivers encode Dates and booleans for their dialect; a
 * Buffer is bytes (a BLOB in SQLite, `bytea` in PostgreSQL).
 */
export type SqlParam = string | number | boolean | Date | Buffer | null;

/** One SQL operation a program asks its driver to execute. */
export interface SqlOp {
  /** `all`: every row; `get`: the first row or undefined; `run`: the number of rows changed. */
  kind: 'all' | 'get' | 'run';
  /** One statement with `?` placeholders and no `?` anywhere else. */
  sql: string;
  params: readonly SqlParam[];
}

/** A store program: yields operations, receives their results, returns `T`. */
export type Program<T> = Generator<SqlOp, T, unknown>;

/** Every row of a query. */
export function* all<R>(sql: string, ...params: SqlParam[]): Program<R[]> {
  return (yield { kind: 'all', sql, params }) as R[];
}

/** The first row of a query, or undefined. */
export function* get<R>(sql: string, ...params: SqlParam[]): Program<R | undefined> {
  return (yield { kind: 'get', sql, params }) as R | undefined;
}

/** Executes a statement; resolves to the number of rows it changed. */
export function* run(sql: string, ...params: SqlParam[]): Program<number> {
  return (yield { kind: 'run', sql, params }) as number;
}

/**
 * Runs a program synchronously: each operation is executed by `execute`, and an error it
 * throws is thrown into the program (which may catch it).
 */
export function driveSync<T>(program: Program<T>, execute: (op: SqlOp) => unknown): T {
  let step = program.next();
  while (!step.done) {
    let result: unknown;
    try {
      result = execute(step.value);
    } catch (error) {
      step = program.throw(error);
      continue;
    }
    step = program.next(result);
  }
  return step.value;
}

/** Runs a program asynchronously, like {@link driveSync} with an async `execute`. */
export async function driveAsync<T>(
  program: Program<T>,
  execute: (op: SqlOp) => Promise<unknown>,
): Promise<T> {
  let step = program.next();
  while (!step.done) {
    let result: unknown;
    try {
      result = await execute(step.value);
    } catch (error) {
      step = program.throw(error);
      continue;
    }
    step = program.next(result);
  }
  return step.value;
}

/** Rewrites `?` placeholders as PostgreSQL's `$1`, `$2`, ... */
export function toPostgresPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
