/**
 * The environment a job's process runs with (client spec A.12, "Environment").
 *
 * @module
 */

/** Prefix given to job `env` keys the job may not overwrite (when `allowed_overwritable_env_vars` is set). */
export const JOB_ENV_RENAME_PREFIX = 'CHEF_PUSH_ENV_';
/** Set to the node name for every job. */
export const CHEF_PUSH_NODE_NAME = 'CHEF_PUSH_NODE_NAME';
/** Set to the job id for every job. */
export const CHEF_PUSH_JOB_ID = 'CHEF_PUSH_JOB_ID';
/** Set to the path of the file sent with the job, when there is one. */
export const CHEF_PUSH_JOB_FILE = 'CHEF_PUSH_JOB_FILE';

/** A job `env` that cannot be passed to a process (bad key or value). */
export class JobEnvironmentError extends Error {
  /** The offending variable name. */
  readonly variable: string;

  constructor(message: string, variable: string) {
    super(message);
    this.name = 'JobEnvironmentError';
    this.variable = variable;
  }
}

/** Inputs of {@link buildJobEnvironment}. */
export interface JobEnvironmentOptions {
  /** The agent's own environment (usually `process.env`); never modified. */
  readonly base: NodeJS.ProcessEnv;
  /** The commit's `env` object, if any. */
  readonly jobEnv?: Readonly<Record<string, string>> | undefined;
  /** The job id; always set as `CHEF_PUSH_JOB_ID`. */
  readonly jobId: string;
  /** Path of the file transferred with the job; set as `CHEF_PUSH_JOB_FILE` when given. */
  readonly fileName?: string | undefined;
  /**
   * The agent's `allowed_overwritable_env_vars` setting. `null`/`undefined` (not set): every
   * job variable keeps its name. A list (even an empty one): job variables not in it are renamed
   * to `CHEF_PUSH_ENV_<name>`.
   */
  readonly allowedOverwritable?: readonly string[] | null | undefined;
  /** The node name; set as `CHEF_PUSH_NODE_NAME` when given (the agent always gives it). */
  readonly nodeName?: string | undefined;
}

/**
 * Builds the environment of a job's process, following client spec A.12:
 *
 * 1. Start from the job's `env` (or nothing).
 * 2. If `allowedOverwritable` is a list, every job variable whose name is not in it (exact,
 *    case-sensitive comparison) is renamed to `CHEF_PUSH_ENV_<name>`; names in the list keep
 *    their names. If it is `null`/`undefined`, all names pass through unchanged. When two job
 *    variables end up with the same name, the later one (in the object's key order) wins.
 * 3. If `fileName` is given, set `CHEF_PUSH_JOB_FILE=<fileName>`.
 * 4. Set `CHEF_PUSH_NODE_NAME=<nodeName>` (when given) and `CHEF_PUSH_JOB_ID=<jobId>`; these
 *    overwrite job values of the same names.
 * 5. Lay that map over a copy of `base` (entries of `base` whose value is `undefined` are
 *    dropped). So a job variable that is allowed to keep its name overrides the agent's own.
 *
 * The result is a fresh object; `base` and `jobEnv` are never modified. Only the `CHEF_PUSH_*`
 * names are set: the pre-2015 `PUSHY_*` names (`PUSHY_NODE_NAME`, `PUSHY_JOB_ID`,
 * `PUSHY_JOB_FILE`) are gone from the original too, and the original sets no variable for the
 * server URL.
 *
 * Differences from the original (deliberate): a job variable whose name is empty or contains
 * `=` or a NUL character, or whose value is not a string or contains a NUL character, throws
 * {@link JobEnvironmentError} instead of failing inside process creation; call this at commit
 * time to reject such jobs early. Names are compared case-sensitively on every platform.
 *
 * @throws {JobEnvironmentError} for a job variable that cannot be passed to a process.
 */
export function buildJobEnvironment(options: JobEnvironmentOptions): Record<string, string> {
  const { base, jobEnv, jobId, fileName, allowedOverwritable, nodeName } = options;
  const allowed = allowedOverwritable == null ? undefined : new Set(allowedOverwritable);

  const overlay = new Map<string, string>();
  if (jobEnv != null) {
    for (const [name, value] of Object.entries(jobEnv)) {
      checkVariable(name, value as unknown);
      const target = allowed === undefined || allowed.has(name) ? name : `${JOB_ENV_RENAME_PREFIX}${name}`;
      overlay.delete(target); // keep "later wins" also for the insertion order of the result
      overlay.set(target, value);
    }
  }
  if (fileName !== undefined) overlay.set(CHEF_PUSH_JOB_FILE, fileName);
  if (nodeName !== undefined) overlay.set(CHEF_PUSH_NODE_NAME, nodeName);
  overlay.set(CHEF_PUSH_JOB_ID, jobId);

  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined) setOwn(env, name, value);
  }
  for (const [name, value] of overlay) setOwn(env, name, value);
  return env;
}

/** Assigns an own property, so a variable named `__proto__` is a plain entry too. */
function setOwn(target: Record<string, string>, name: string, value: string): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}

function checkVariable(name: string, value: unknown): asserts value is string {
  if (name.length === 0 || name.includes('=') || name.includes('\0')) {
    throw new JobEnvironmentError(
      `job environment variable name ${JSON.stringify(name)} is invalid (empty, or contains '=' or NUL)`,
      name,
    );
  }
  if (typeof value !== 'string') {
    throw new JobEnvironmentError(
      `job environment variable '${name}' must be a string, got ${typeof value}`,
      name,
    );
  }
  if (value.includes('\0')) {
    throw new JobEnvironmentError(`job environment variable '${name}' contains a NUL character`, name);
  }
}
