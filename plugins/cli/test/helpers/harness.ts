// Test harness of the CLI: the real push server in-process (SQLite in a temp dir, random
// ports), real agents with the real job runner, the CLI run through @oclif/test's runCommand
// (from src/, as NODE_ENV=test), and an isolated environment (HOME, PUSH_JOBS_*).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, AllowList, compileAgentOptions, JobRunner } from '@push-jobs/agent';
import {
  DEFAULT_SERVER_CONFIG,
  associateUser,
  createClientWithKey,
  createOrgWithDefaults,
  createUserWithKey,
  openStore,
  startPushServer,
  type PushServer,
  type Store,
} from '@push-jobs/server';
import { run } from '@oclif/core';
import { isFinalJobState, PushApiClient, type Job } from '@push-jobs/protocol';
import { readFileSync } from 'node:fs';
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

export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The real push server, with an admin `alice` and a plain member `bob` (keys in files). */
export class CliTestServer {
  server!: PushServer;
  apiUrl = '';
  aliceKey = '';
  bobKey = '';
  /** The CA certificate of an https server. */
  ca: string | undefined;
  readonly agents: Agent[] = [];

  private constructor(
    readonly store: Store,
    readonly dataDir: string,
  ) {}

  static async start(opts: { https?: { cert: string; key: string } } = {}): Promise<CliTestServer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'pj-cli-'));
    const store = await openStore(join(dataDir, 'push-jobs.sqlite'));
    const h = new CliTestServer(store, dataDir);
    h.ca = opts.https?.cert;
    await createOrgWithDefaults(store, { name: ORG });
    const alice = (await createUserWithKey(store, { name: 'alice' })).privateKey!;
    await associateUser(store, ORG, 'alice', { admin: true });
    const bob = (await createUserWithKey(store, { name: 'bob' })).privateKey!;
    await associateUser(store, ORG, 'bob', { admin: false });
    h.aliceKey = join(dataDir, 'alice.pem');
    h.bobKey = join(dataDir, 'bob.pem');
    writeFileSync(h.aliceKey, alice, { mode: 0o600 });
    writeFileSync(h.bobKey, bob, { mode: 0o600 });
    h.server = await startPushServer({
      config: {
        ...DEFAULT_SERVER_CONFIG,
        server_name: '127.0.0.1',
        zeromq_listen_address: 'tcp://127.0.0.1',
        command_port: 0,
        server_heartbeat_port: 0,
        heartbeat_interval: 200,
        rehab_timer: 200,
        wait_complete_time: 1,
        data_dir: dataDir,
      },
      store,
      ...(opts.https === undefined ? {} : { https: opts.https }),
    });
    h.apiUrl = await h.server.app.listen({ host: '127.0.0.1', port: 0 });
    return h;
  }

  /** The organization URL. */
  get orgUrl(): string {
    return `${this.apiUrl}/organizations/${ORG}`;
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
    const key = (await createClientWithKey(this.store, { org: ORG, name: node })).privateKey!;
    const keyPath = join(this.dataDir, `${node}.pem`);
    writeFileSync(keyPath, key, { mode: 0o600 });
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
    await until(() => this.server.tracker.isAvailable(ORG, node), `${node} available`);
    return agent;
  }

  /**
   * Waits until every node in `nodes` is available and, where the server reports what nodes do,
   * idle: a node still ending an earlier test's job is available but nacks (liveness is not what
   * most tests are about).
   */
  async waitAvailable(...nodes: string[]): Promise<void> {
    await until(
      () => nodes.every((n) => this.server.tracker.isAvailable(ORG, n)),
      `${nodes.join(', ')} available`,
    );
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

  async close(): Promise<void> {
    await Promise.all(this.agents.splice(0).map((a) => a.shutdown()));
    await this.server.close();
    await this.store.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

const SAVED = new Map<string, string | undefined>();
const HOMES: string[] = [];

/**
 * Isolates the environment: a fresh empty HOME (no ~/.chef, no ~/.push-jobs), no PUSH_JOBS_*,
 * CHEF_PROFILE or KNIFE_HOME variables, then `vars`. Undo with {@link restoreEnv}.
 */
export function isolateEnv(vars: Record<string, string> = {}): string {
  const home = mkdtempSync(join(tmpdir(), 'pj-cli-home-'));
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
  for (const home of HOMES.splice(0)) rmSync(home, { recursive: true, force: true });
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
 * does, but with the arguments as given (runCommand joins and re-splits them on spaces).
 */
export async function cli<T = unknown>(args: string[]): Promise<CliRun<T>> {
  const { error, result, stderr, stdout } = await captureOutput<T>(() => run(args, { root: CLI_ROOT }));
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
