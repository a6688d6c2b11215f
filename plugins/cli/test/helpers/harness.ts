// Test harness of the CLI: the shared in-process push server (SQLite in a temp dir, random
// ports, 200 ms heartbeats) with a plain member `bob` beside the admin `alice`, real agents with
// the real job runner, the CLI run through @oclif/test's runCommand (from src/, as
// NODE_ENV=test), and an isolated environment (HOME, PUSH_JOBS_*).
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, AllowList, compileAgentOptions, JobRunner } from '@push-jobs/agent';
import { run } from '@oclif/core';
import { isFinalJobState, PushApiClient, type Job } from '@push-jobs/protocol';
import { removeDir, tempDir, until } from '@push-jobs/testing';
import { PushFixture, type PushFixtureInit } from '@push-jobs/testing/push-server';
import { captureOutput } from '@oclif/test';

export const ORG = 'acme';

/** The plugin's root directory (its package.json). */
export const CLI_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What the tests' agents may run. */
export const TEST_WHITELIST = {
  echo: 'echo hello',
  fail: 'echo oops >&2; exit 3',
  sleep: 'sleep 30',
  env: 'echo "release=$RELEASE"',
  pwd: 'pwd',
  'cat-file': 'cat "$CHEF_PUSH_JOB_FILE"',
};

/** The real push server, with an admin `alice` and a plain member `bob` (keys in files). */
export class CliTestServer extends PushFixture {
  static override defaults = { tempPrefix: 'pj-cli-', members: ['bob'] };

  /** alice's key file. */
  readonly aliceKey: string;
  /** bob's key file. */
  readonly bobKey: string;
  readonly agents: Agent[] = [];

  constructor(init: PushFixtureInit) {
    super(init);
    this.aliceKey = this.userKeyFile('alice');
    this.bobKey = this.userKeyFile('bob');
  }

  /** The CA certificate of an https server. */
  get ca(): string | undefined {
    return this.options.https?.cert.toString();
  }

  /** Connection settings as PUSH_JOBS_* variables (alice, the admin). */
  env(user: 'alice' | 'bob' = 'alice'): Record<string, string> {
    return {
      PUSH_JOBS_SERVER_URL: this.orgUrl,
      PUSH_JOBS_USER: user,
      PUSH_JOBS_KEY: user === 'alice' ? this.aliceKey : this.bobKey,
    };
  }

  /** An API client of the protocol package, signed as `user`. */
  client(user: 'alice' | 'bob' = 'alice'): PushApiClient {
    const key = readFileSync(user === 'alice' ? this.aliceKey : this.bobKey, 'utf8');
    return new PushApiClient({
      serverUrl: this.orgUrl,
      userId: user,
      privateKey: key,
      ...(this.ca === undefined ? {} : { ca: this.ca }),
    });
  }

  /** Waits until the job is in a final state and returns it. */
  async finalJob(id: string): Promise<Job> {
    const client = this.client();
    try {
      let job = await client.getJob(id);
      await until(async () => {
        job = await client.getJob(id);
        return isFinalJobState(job.status);
      }, `job ${id} to finish`);
      return job;
    } finally {
      client.close();
    }
  }

  /** Starts a real agent for `node` with the real job runner and `whitelist`. */
  async startAgent(node: string, whitelist: Record<string, string> = TEST_WHITELIST): Promise<Agent> {
    const keyPath = await this.clientKeyFile(node);
    const options = compileAgentOptions({
      flags: { chef_server_url: this.orgUrl, node_name: node, client_key: keyPath },
      env: {},
      host: { fqdn: `${node}.example.com`, hostname: node },
    });
    const fileDir = join(this.dataDir, `files-${node}`);
    mkdirSync(fileDir, { recursive: true });
    const allowList = new AllowList(whitelist);
    // PJ_TEST_AGENT_LOG=1 shows the agents' logs (info and above) on stderr.
    const show = (level: string) => (message: string) => {
      if (process.env.PJ_TEST_AGENT_LOG === '1')
        process.stderr.write(`[agent ${node} ${level}] ${message}\n`);
    };
    const agent = await Agent.create(options, {
      log: { debug: () => undefined, info: show('info'), warn: show('warn'), error: show('error') },
      runner: (reply) =>
        new JobRunner({
          allowList: () => allowList,
          nodeName: node,
          fileDir,
          maxBodySize: options.max_body_size,
          abortGraceMs: 500,
          reply,
        }),
    });
    this.agents.push(agent);
    await until(() => this.isAvailable(node), `${node} available`);
    return agent;
  }

  /**
   * Waits until every node in `nodes` is available and, where the server reports what nodes do,
   * idle: a node still ending an earlier test's job is available but nacks (liveness is not what
   * most tests are about).
   */
  async waitAvailable(...nodes: string[]): Promise<void> {
    await until(() => nodes.every((n) => this.isAvailable(n)), `${nodes.join(', ')} available`);
    const client = this.client();
    try {
      await until(
        async () => {
          const states = await Promise.all(nodes.map((n) => client.getNodeState(n)));
          return states.every((s) => s.state === undefined || s.state === 'idle');
        },
        `${nodes.join(', ')} idle`,
      );
    } finally {
      client.close();
    }
  }

  /** Creates a Chef node object. */
  async createNode(name: string, normal: Record<string, unknown> = {}): Promise<void> {
    await this.store.createNode(ORG, {
      name,
      chef_environment: '_default',
      json_class: 'Chef::Node',
      chef_type: 'node',
      run_list: [],
      normal,
      default: {},
      override: {},
      automatic: {},
    });
  }

  override async close(): Promise<void> {
    await Promise.all(this.agents.splice(0).map((a) => a.shutdown()));
    await super.close();
  }
}

const SAVED = new Map<string, string | undefined>();
const HOMES: string[] = [];

/**
 * Isolates the environment: a fresh empty HOME (no ~/.chef, no ~/.push-jobs), no PUSH_JOBS_*,
 * CHEF_PROFILE or KNIFE_HOME variables, then `vars`. Undo with {@link restoreEnv}.
 */
export function isolateEnv(vars: Record<string, string> = {}): string {
  const home = tempDir('pj-cli-home-');
  HOMES.push(home);
  const names = new Set([
    'HOME',
    'CHEF_PROFILE',
    'KNIFE_HOME',
    ...Object.keys(process.env).filter((k) => k.startsWith('PUSH_JOBS_')),
    ...Object.keys(vars),
  ]);
  for (const name of names) {
    if (!SAVED.has(name)) SAVED.set(name, process.env[name]);
    delete process.env[name];
  }
  process.env.HOME = home;
  Object.assign(process.env, vars);
  return home;
}

/** Restores what {@link isolateEnv} changed and removes the temporary HOMEs. */
export function restoreEnv(): void {
  for (const [name, value] of SAVED) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  SAVED.clear();
  for (const home of HOMES.splice(0)) removeDir(home);
}

/** What a CLI run gave. */
export interface CliRun<T = unknown> {
  stdout: string;
  stderr: string;
  exitCode: number;
  result: T | undefined;
  error: (Error & { oclif?: { exit?: number } }) | undefined;
}

/**
 * Runs the CLI (`['push', 'jobs', 'list', ...]`) in this process, as @oclif/test's runCommand
 * does, but with the arguments as given (runCommand joins and re-splits them on spaces); ANSI
 * codes are stripped unless `stripAnsi` is false.
 */
export async function cli<T = unknown>(
  args: string[],
  options: { stripAnsi?: boolean } = {},
): Promise<CliRun<T>> {
  const { error, result, stderr, stdout } = await captureOutput<T>(() => run(args, { root: CLI_ROOT }), {
    stripAnsi: options.stripAnsi ?? true,
  });
  process.exitCode = undefined;
  const exitCode = error === undefined ? 0 : ((error as { oclif?: { exit?: number } }).oclif?.exit ?? 1);
  return { stdout, stderr, exitCode, result, error };
}

/** Runs the CLI with `--json` and parses its output. */
export async function cliJson(args: string[]): Promise<{ json: unknown; run: CliRun }> {
  const run = await cli([...args, '--json']);
  let json: unknown;
  try {
    json = JSON.parse(run.stdout);
  } catch {
    throw new Error(`not JSON (exit ${run.exitCode}): ${run.stdout}\n${run.stderr}`);
  }
  return { json, run };
}
