/**
 * The `push-jobs-client` daemon without the process plumbing (client spec A.2, A.18, A.19):
 * parses the command line, reads the config file, builds the {@link JobRunner} and the
 * {@link Agent}, logs, keeps the allow-list current (config file watch and {@link
 * DaemonHandle.reload}) and cleans `file_dir` every hour. Signals and `process.exit` belong to
 * `bin/push-jobs-client`, so tests can drive a daemon in-process too.
 *
 * @module
 */
import { createWriteStream, existsSync, readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_AGENT_LOCKFILE_NAME,
  errorMessage,
  exitCodeFor,
  EXIT_CODES,
  type ApiRequestOptions,
  type LogLevel,
  type PushApiClient,
} from '@push-jobs/protocol/lite';
import { Agent } from './agent.js';
import { AllowList } from './allow-list.js';
import {
  AGENT_USAGE,
  compileAgentOptions,
  findDefaultConfigFile,
  parseAgentArgs,
  UsageError,
  type AgentOptions,
  type CompiledAgentOptions,
  type ConfigEnv,
} from './config/index.js';
import { configuredFacts, NodeFactsReporter, type NodeFactsApi } from './facts/index.js';
import { agentApiClient } from './http.js';
import { JobRunner, processGroupAlive } from './job-runner.js';
import { createAgentLogger, type LogOutput } from './log.js';
import { escapeControlCharacters } from './log-escape.js';
import { RunningJobsFile, runningJobsFileName, stopOrphanedJobs } from './running-jobs.js';

/** Something text can be written to (`process.stdout`, a test buffer). */
export type DaemonOutput = LogOutput;

/** Input of {@link startDaemon}. */
export interface DaemonIo {
  /** The arguments, without the node and script paths. */
  argv: readonly string[];
  /** The environment (for `ENV[...]` in the config file). */
  env: ConfigEnv;
  /** Where `--help`, `--version` and (by default) the log go. */
  stdout: DaemonOutput;
  /** Where start-up errors go. */
  stderr: DaemonOutput;
  /** Milliseconds between checks of the config file for changes; 0 disables the watch. @default 500 */
  watchIntervalMs?: number;
}

/** A started (or finished) daemon, from {@link startDaemon}. */
export interface DaemonHandle {
  /** Settles with the exit code once the daemon has stopped (at once for `--help` or an error). */
  done: Promise<number>;
  /**
   * Re-reads the config file and swaps the allow-list; resolves `true` when it did. A bad file
   * keeps the old allow-list and logs an error.
   */
  reload(): Promise<boolean>;
  /** Reconfigures the agent (A.15; SIGUSR1). */
  reconfigure(): Promise<void>;
  /** Graceful shutdown: stops the runner (killing a running job), then the agent; `done` resolves 0. */
  shutdown(): Promise<void>;
  /** Logs a line through the daemon's logger (no-op when the daemon did not start). */
  log(level: LogLevel, message: string): void;
}

/** How often `file_dir` is cleaned (A.17). */
export const FILE_DIR_CLEAN_INTERVAL_MS = 3_600_000;

/** How long a job left running by a previous agent gets after SIGTERM before SIGKILL, ms. */
export const ORPHAN_GRACE_MS = 5000;

/** Default `file_cache_path` (the lock file default and the running-jobs file live in it). */
export const DEFAULT_FILE_CACHE_PATH = '/var/chef/cache';

/** The agent package's version (`Push Client: <version>`). */
export function agentVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const version =
    typeof pkg === 'object' && pkg !== null && 'version' in pkg ? (pkg as { version: unknown }).version : '';
  return String(version);
}

/**
 * The exit codes `push-jobs-client` promises (the original client's): 2 for a usage error; a
 * start error's own code (1, 2 or 255, see `AgentStartError`); 1 for anything else.
 */
export const AGENT_EXIT_POLICY = { distinct: [EXIT_CODES.USAGE] } as const;

function finished(code: number): DaemonHandle {
  return {
    done: Promise.resolve(code),
    reload: () => Promise.resolve(false),
    reconfigure: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
    log: () => undefined,
  };
}

/** Milliseconds each node object request may take. */
const FACTS_REQUEST_TIMEOUT_MS = 30_000;

/**
 * A signed API client of whichever server the agent's current config came from (with
 * `chef_server_urls`, the node object goes where the agent is connected); one client per URL,
 * made when first used.
 */
function currentServerApi(agent: Agent, make: (url: string) => PushApiClient): NodeFactsApi {
  const clients = new Map<string, PushApiClient>();
  const current = (): PushApiClient => {
    const url = agent.status().serverUrl;
    let client = clients.get(url);
    if (client === undefined) {
      client = make(url);
      clients.set(url, client);
    }
    return client;
  };
  return {
    getNode: (name: string, options?: ApiRequestOptions) => current().getNode(name, options),
    request: <T = unknown>(method: string, path: string, body?: unknown, options?: ApiRequestOptions) =>
      current().request<T>(method, path, body, options),
    close: () => {
      for (const client of clients.values()) client.close();
      clients.clear();
    },
  };
}

/**
 * Starts writing the node object with the host's facts (unless `report_facts` is false).
 * `PUSH_JOBS_CLIENT_FACTS_RECHECK_MS` overrides the re-check period (tests).
 */
function startFactsReporter(
  options: CompiledAgentOptions,
  agent: Agent,
  logger: ReturnType<typeof createAgentLogger>,
  env: ConfigEnv,
): NodeFactsReporter | undefined {
  const p = `[${options.node_name}]`;
  if (options.report_facts === false) {
    logger.info(`${p} Node facts reporting is off (report_facts false)`);
    return undefined;
  }
  const recheck = Number(env.PUSH_JOBS_CLIENT_FACTS_RECHECK_MS);
  const reporter = new NodeFactsReporter({
    nodeName: options.node_name,
    api: currentServerApi(agent, (url) =>
      agentApiClient(
        url,
        options.client_name,
        agent.identity.clientKeyPem,
        agent.identity.tls,
        FACTS_REQUEST_TIMEOUT_MS,
      ),
    ),
    agentVersion: agentVersion(),
    log: (level, message) => logger.at(level, message),
    ...(Number.isInteger(recheck) && recheck > 0 ? { recheckMs: recheck } : {}),
  });
  void reporter.start(configuredFacts(options), AllowList.fromConfig(options.whitelist).keys());
  return reporter;
}

/** Reads and compiles the options; `file` is the config file read, if any. */
function loadOptions(flags: AgentOptions, env: ConfigEnv): CompiledAgentOptions {
  const path = flags.config_file ?? findDefaultConfigFile((p) => existsSync(p));
  if (path === undefined) return compileAgentOptions({ flags, env });
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read config file ${path}: ${errorMessage(err)}`, { cause: err });
  }
  return compileAgentOptions({ flags, file: { path, text }, env });
}

/**
 * Starts the daemon: see the module documentation. Never rejects for a bad command line or
 * config (the handle's `done` carries the exit code of {@link AGENT_EXIT_POLICY}: 2 for usage
 * errors, 1 for config errors, the `AgentStartError` code when the agent cannot start).
 */
export async function startDaemon(io: DaemonIo): Promise<DaemonHandle> {
  let flags: AgentOptions;
  try {
    const args = parseAgentArgs(io.argv);
    if (args.help) {
      io.stdout.write(AGENT_USAGE);
      return finished(0);
    }
    if (args.version) {
      io.stdout.write(`Push Client: ${agentVersion()}\n`);
      return finished(0);
    }
    flags = args.flags;
  } catch (err) {
    const hint = err instanceof UsageError ? ' (see push-jobs-client --help)' : '';
    io.stderr.write(`push-jobs-client: ${errorMessage(err)}${hint}\n`);
    return finished(exitCodeFor(err, AGENT_EXIT_POLICY));
  }

  let options: CompiledAgentOptions;
  try {
    options = loadOptions(flags, io.env);
  } catch (err) {
    io.stderr.write(`push-jobs-client: ${errorMessage(err)}\n`);
    return finished(exitCodeFor(err, AGENT_EXIT_POLICY));
  }

  const location = options.log_location;
  const upper = location.toUpperCase();
  const file =
    upper === 'STDOUT' || upper === 'STDERR' ? undefined : createWriteStream(location, { flags: 'a' });
  const out: DaemonOutput = file ?? (upper === 'STDERR' ? io.stderr : io.stdout);
  const logger = createAgentLogger(out, options.log_level, options.include_timestamp);
  const p = `[${options.node_name}]`;
  const closeLog = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (file === undefined) resolve();
      else file.end(() => resolve());
    });
  for (const warning of options.warnings) logger.warn(`${p} ${warning}`);

  let allowList = AllowList.fromConfig(options.whitelist);
  const configFile = options.config_file;
  let runner: JobRunner | undefined;
  let agent: Agent;
  const runningJobs = new RunningJobsFile(
    runningJobsFileName(options.file_cache_path ?? DEFAULT_FILE_CACHE_PATH, options.node_name),
    (level, message) => logger.at(level, `${p} ${message}`),
  );
  try {
    logger.info(`${p} Starting client ...`);
    // Before taking any job: stop what a killed agent left running (its locks go with it).
    await stopOrphanedJobs(runningJobs.file, {
      log: (level, message) => logger.at(level, `${p} ${message}`),
      groupAlive: processGroupAlive,
      graceMs: ORPHAN_GRACE_MS,
    });
    agent = await Agent.create(options, {
      log: logger,
      runner: (reply) => {
        runner = new JobRunner({
          allowList: () => allowList,
          nodeName: options.node_name,
          fileDir: options.file_dir,
          maxBodySize: options.max_body_size,
          allowedOverwritableEnvVars: options.allowed_overwritable_env_vars ?? null,
          allowedUnsafeEnvVars: options.allowed_unsafe_job_env_vars,
          defaultLockFile:
            options.lockfile ??
            join(options.file_cache_path ?? DEFAULT_FILE_CACHE_PATH, DEFAULT_AGENT_LOCKFILE_NAME),
          reply,
          runningJobs,
          log: (level, message) => logger.at(level, `${p} ${message}`),
          // The config's `environment` (the cookbook's environment_variables) is laid over the
          // agent's own environment for every job.
          ...(options.environment === undefined
            ? {}
            : { baseEnv: { ...process.env, ...options.environment } }),
        });
        return runner;
      },
    });
  } catch (err) {
    logger.error(`${p} ${errorMessage(err)}`);
    // A start-up error may quote the server's answer.
    io.stderr.write(`push-jobs-client: ${escapeControlCharacters(errorMessage(err))}\n`);
    await closeLog();
    return finished(exitCodeFor(err, AGENT_EXIT_POLICY));
  }

  const facts = startFactsReporter(options, agent, logger, io.env);
  let reloading = Promise.resolve(false);
  const reloadOnce = (): boolean => {
    if (configFile === undefined) {
      logger.warn(`${p} No config file to reload the allow-list from`);
      return false;
    }
    try {
      const next = loadOptions({ ...flags, config_file: configFile }, io.env);
      allowList = AllowList.fromConfig(next.whitelist);
      logger.info(`${p} Reloaded allow-list from ${configFile}: ${allowList.keys().join(', ')}`);
      void facts?.update(configuredFacts(next), allowList.keys());
      return true;
    } catch (err) {
      logger.error(`${p} Keeping the current allow-list: ${errorMessage(err)}`);
      return false;
    }
  };
  const reload = (): Promise<boolean> => {
    reloading = reloading.then(reloadOnce);
    return reloading;
  };

  const watchMs = io.watchIntervalMs ?? 500;
  const onChange = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    if (curr.nlink === 0) return; // removed (or being replaced): wait for the new file
    logger.info(`${p} Config file ${configFile ?? ''} changed`);
    void reload();
  };
  if (configFile !== undefined && watchMs > 0) {
    watchFile(configFile, { interval: watchMs, persistent: false }, onChange);
  }

  const clean = (): void => {
    void runner
      ?.cleanFileDir()
      .then((deleted) => {
        if (deleted.length > 0)
          logger.info(`${p} Removed ${deleted.length} old file(s) from ${options.file_dir}`);
      })
      .catch((err: unknown) => logger.warn(`${p} Cleaning ${options.file_dir} failed: ${errorMessage(err)}`));
  };
  clean();
  const cleaner = setInterval(clean, FILE_DIR_CLEAN_INTERVAL_MS);
  cleaner.unref();

  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(cleaner);
      if (configFile !== undefined) unwatchFile(configFile, onChange);
      await runner?.stop();
      await facts?.stop();
      await agent.shutdown();
      logger.info(`${p} Stopped client.`);
      await closeLog();
      resolveDone(0);
    })();
    return stopping;
  };
  void agent.run().then(shutdown);

  return {
    done,
    reload,
    reconfigure: () => agent.reconfigure('requested'),
    shutdown,
    log: (level, message) => logger.at(level, message),
  };
}
