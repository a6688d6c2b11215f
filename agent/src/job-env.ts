/**
 * The environment a job's process runs with (client spec A.12, "Environment").
 *
 * @module
 */
import { ERROR_CODES, PushJobsError } from '@push-jobs/protocol/lite';

/** Prefix given to job `env` keys the job may not overwrite (when `allowed_overwritable_env_vars` is set). */
export const JOB_ENV_RENAME_PREFIX = 'CHEF_PUSH_ENV_';
/** Set to the node name for every job. */
export const CHEF_PUSH_NODE_NAME = 'CHEF_PUSH_NODE_NAME';
/** Set to the job id for every job. */
export const CHEF_PUSH_JOB_ID = 'CHEF_PUSH_JOB_ID';
/** Set to the path of the file sent with the job, when there is one. */
export const CHEF_PUSH_JOB_FILE = 'CHEF_PUSH_JOB_FILE';

/** A job `env` that cannot be passed to a process (bad key or value). */
export class JobEnvironmentError extends PushJobsError {
  /** The offending variable name. */
  readonly variable: string;

  constructor(message: string, variable: string) {
    super(ERROR_CODES.INVALID_ARGUMENT, message);
    this.variable = variable;
  }
}

/** A job variable the agent refuses by default (see {@link unsafeJobEnvReason}). */
export class UnsafeJobEnvironmentError extends JobEnvironmentError {
  constructor(variable: string, reason: string) {
    super(
      `job environment variable ${JSON.stringify(variable)} is refused: it ${reason}; ` +
        `the agent's allowed_unsafe_job_env_vars setting can allow it`,
      variable,
    );
    this.name = 'UnsafeJobEnvironmentError';
  }
}

/**
 * Why a job may not set a variable by default, by family. Each family names the variables exactly
 * (compared case-insensitively: some programs read lower-case spellings, npm reads any case) or by
 * prefix (a name ending in `*`). What they have in common: setting them makes a program the
 * allow-list approved load other code, run other programs, read other configuration, or trust
 * other servers than the node's own setup says, so a job writer could run anything through any
 * allowed entry. The list is deliberately broad; a node that needs one of them for a job lists it
 * in `allowed_unsafe_job_env_vars`.
 */
export const UNSAFE_JOB_ENV_VARS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  // glibc's own list of variables it drops for set-uid programs (sysdeps/generic/unsecvars.h),
  // every LD_* (the dynamic loader's), the malloc tunables, and the macOS loader's.
  'changes how programs are loaded (dynamic loader, C library)': [
    'LD_*',
    'DYLD_*',
    'GCONV_PATH',
    'GETCONF_DIR',
    'GLIBC_TUNABLES',
    'HOSTALIASES',
    'LOCALDOMAIN',
    'LOCPATH',
    'MALLOC_*',
    'NIS_PATH',
    'NLSPATH',
    'RESOLV_HOST_CONF',
    'RES_OPTIONS',
    'TMPDIR',
    'TMP',
    'TEMP',
    'TZDIR',
  ],
  // Startup files, exported functions and behaviour of sh, bash, ksh and zsh: BASH_ENV and ENV
  // are expanded (so `$(…)` runs) when a shell starts; SHELLOPTS=xtrace with PS4='$(…)' runs code
  // on every command; IFS and CDPATH change how a script's words and `cd` resolve.
  'changes how shells start or parse commands': [
    'BASH_ENV',
    'ENV',
    'BASH_FUNC_*',
    'SHELLOPTS',
    'BASHOPTS',
    'BASH_XTRACEFD',
    'BASH_LOADABLES_PATH',
    'BASH_COMPAT',
    'PS0',
    'PS1',
    'PS2',
    'PS3',
    'PS4',
    'PROMPT_COMMAND',
    'IFS',
    'CDPATH',
    'GLOBIGNORE',
    'EXECIGNORE',
    'FPATH',
    'ZDOTDIR',
    'SHELL',
  ],
  'changes which program a command name runs': ['PATH'],
  // Interpreter options and module search paths: each can load code before the script runs.
  'makes an interpreter load other code (Python, Perl, Ruby, Node.js, Java, Lua, PHP, Tcl, Go)': [
    'PYTHON*',
    'PERL*',
    'RUBY*',
    'GEM_*',
    'GEMRC',
    'BUNDLE_*',
    'BUNDLER_*',
    'NODE_*',
    'NPM_CONFIG_*',
    'JAVA_*',
    '_JAVA_OPTIONS',
    'JDK_JAVA_OPTIONS',
    'CLASSPATH',
    'LUA_*',
    'PHPRC',
    'PHP_INI_SCAN_DIR',
    'TCLLIBPATH',
    'GOFLAGS',
    'GOENV',
    'GOROOT',
    'GOPATH',
    'GOTOOLCHAIN',
    'GOPROXY',
    'PIP_*',
    'MAKEFLAGS',
    'MFLAGS',
    'GNUMAKEFLAGS',
    'MAKEFILES',
  ],
  // Programs other programs run on their behalf (git over ssh, pagers, editors, password prompts).
  'names a program that other programs run': [
    'GIT_*',
    'SSH_ASKPASS*',
    'SUDO_ASKPASS',
    'SUDO_EDITOR',
    'EDITOR',
    'VISUAL',
    'PAGER',
    'MANPAGER',
    'MANOPT',
    'LESS',
    'LESSOPEN',
    'LESSCLOSE',
    'LESSKEY*',
    'BROWSER',
    'SYSTEMD_*',
    'VIMINIT',
    'EXINIT',
    'MYVIMRC',
  ],
  // Where programs find their per-user configuration, which can itself name programs to run
  // (git's core.sshCommand, an AWS credential_process, a kubeconfig exec plugin, ~/.ssh/config).
  'moves where programs read their configuration': [
    'HOME',
    'XDG_*',
    'KUBECONFIG',
    'DOCKER_CONFIG',
    'DOCKER_HOST',
    'AWS_CONFIG_FILE',
    'AWS_SHARED_CREDENTIALS_FILE',
    'BOTO_CONFIG',
    'CURL_HOME',
    'WGETRC',
    'NETRC',
    'INPUTRC',
    'TERMINFO',
    'TERMINFO_DIRS',
    'TERMCAP',
    'OPENSSL_*',
  ],
  // Which servers a program trusts or goes through: with its own CA and proxy, a job writer could
  // serve chef-client a run list of their choosing.
  'changes which servers programs trust or connect through': [
    'SSL_CERT_FILE',
    'SSL_CERT_DIR',
    'CURL_CA_BUNDLE',
    'REQUESTS_CA_BUNDLE',
    'HTTP_PROXY',
    'HTTPS_PROXY',
    'FTP_PROXY',
    'ALL_PROXY',
    'NO_PROXY',
  ],
  // The agent's own variables (and the pre-2015 names old scripts may still read): a job must not
  // point CHEF_PUSH_JOB_FILE at a file it did not send. CHEF_PUSH_ENV_* is where renamed job
  // variables go, and stays open to jobs.
  "is one of the agent's own variables": ['CHEF_PUSH_*', 'PUSHY_*'],
});

/** A name a shell can hold: letters, digits and `_`, not starting with a digit. */
const PORTABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/u;

const EXACT_UNSAFE = new Map<string, string>();
const PREFIX_UNSAFE: [string, string][] = [];
for (const [reason, names] of Object.entries(UNSAFE_JOB_ENV_VARS)) {
  for (const name of names) {
    if (name.endsWith('*')) PREFIX_UNSAFE.push([name.slice(0, -1), reason]);
    else EXACT_UNSAFE.set(name, reason);
  }
}

/**
 * Why a job variable that would reach the job's process under `name` is unsafe, or `undefined`
 * when it is not. Unsafe are the names of {@link UNSAFE_JOB_ENV_VARS} (compared case-insensitively),
 * any name that is not a portable shell name (letters, digits, `_`: this covers the `BASH_FUNC_f%%`
 * and `f()` spellings of exported bash functions), and any value that starts with `()` (a function
 * definition, which unpatched bash imports from any variable). `CHEF_PUSH_ENV_*` names are safe:
 * that is where the agent puts renamed job variables.
 */
export function unsafeJobEnvReason(name: string, value = ''): string | undefined {
  if (!PORTABLE_NAME.test(name)) {
    return 'is not a plain variable name (letters, digits and _); bash reads such names as exported functions';
  }
  const byValue = unsafeJobEnvValueReason(value);
  if (byValue !== undefined) return byValue;
  const upper = name.toUpperCase();
  if (upper.startsWith(JOB_ENV_RENAME_PREFIX)) return undefined;
  const exact = EXACT_UNSAFE.get(upper);
  if (exact !== undefined) return exact;
  for (const [prefix, reason] of PREFIX_UNSAFE) if (upper.startsWith(prefix)) return reason;
  return undefined;
}

/**
 * Why a job variable's value is unsafe under any name: a shell function definition (`() {…}`),
 * which bash before the 2014 fixes imported from every variable.
 */
export function unsafeJobEnvValueReason(value: string): string | undefined {
  return /^\s*\(\s*\)/u.test(value) ? 'holds a shell function definition' : undefined;
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
  /**
   * The agent's `allowed_unsafe_job_env_vars` setting: names (exact, case-sensitive) that a job
   * may set under their own name although {@link unsafeJobEnvReason} calls them unsafe.
   * Default: none.
   */
  readonly allowedUnsafe?: readonly string[] | undefined;
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
 * 3. A job variable that keeps its name must be safe ({@link unsafeJobEnvReason}) or listed in
 *    `allowedUnsafe`; otherwise the whole job is refused ({@link UnsafeJobEnvironmentError}).
 *    Renamed variables are always safe.
 * 4. If `fileName` is given, set `CHEF_PUSH_JOB_FILE=<fileName>`.
 * 5. Set `CHEF_PUSH_NODE_NAME=<nodeName>` (when given) and `CHEF_PUSH_JOB_ID=<jobId>`; these
 *    overwrite job values of the same names.
 * 6. Lay that map over a copy of `base` (entries of `base` whose value is `undefined` are
 *    dropped). So a job variable that is allowed to keep its name overrides the agent's own.
 *
 * The result is a fresh object; `base` and `jobEnv` are never modified. Only the `CHEF_PUSH_*`
 * names are set: the pre-2015 `PUSHY_*` names (`PUSHY_NODE_NAME`, `PUSHY_JOB_ID`,
 * `PUSHY_JOB_FILE`) are gone from the original too, and the original sets no variable for the
 * server URL.
 *
 * Differences from the original (deliberate): step 3 (the original applied any job variable,
 * so `LD_PRELOAD`, `PATH` or `BASH_ENV` ran a job writer's code through any allowed command);
 * a job variable whose name is empty or contains `=` or a NUL character, or whose value is not a
 * string or contains a NUL character, throws {@link JobEnvironmentError} instead of failing
 * inside process creation. Call this at commit time to refuse such jobs before acking. Names are
 * compared case-sensitively on every platform.
 *
 * @throws {JobEnvironmentError} for a job variable that cannot be passed to a process, and its
 *   subclass {@link UnsafeJobEnvironmentError} for one that is unsafe.
 */
export function buildJobEnvironment(options: JobEnvironmentOptions): Record<string, string> {
  const { base, jobEnv, jobId, fileName, allowedOverwritable, nodeName } = options;
  const allowed = allowedOverwritable == null ? undefined : new Set(allowedOverwritable);
  const allowedUnsafe = new Set(options.allowedUnsafe ?? []);

  const overlay = new Map<string, string>();
  if (jobEnv != null) {
    for (const [name, value] of Object.entries(jobEnv)) {
      checkVariable(name, value as unknown);
      const keep = allowed === undefined || allowed.has(name);
      if (!allowedUnsafe.has(name)) {
        // A renamed variable's name is harmless; a function definition is not, whatever its name.
        const reason = keep ? unsafeJobEnvReason(name, value) : unsafeJobEnvValueReason(value);
        if (reason !== undefined) throw new UnsafeJobEnvironmentError(name, reason);
      }
      const target = keep ? name : `${JOB_ENV_RENAME_PREFIX}${name}`;
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
