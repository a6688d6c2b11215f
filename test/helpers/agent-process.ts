// The real `push-jobs-client` executable as a child process, registering itself with the
// server's validator key (self-registration) and reading a JSON config file.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeDir, tempDir } from '@push-jobs/testing';
import type { ServerProcess } from './server-process.js';

/** The agent launcher (built lib; run `npm run build` first). */
export const AGENT_BIN = fileURLToPath(new URL('../../agent/bin/push-jobs-client.js', import.meta.url));

/** Options of {@link AgentProcess.start}. */
export interface AgentProcessOptions {
  node: string;
  whitelist: Record<string, unknown>;
  /** More agent configuration keys. */
  config?: Record<string, unknown>;
  /** Where the agent keeps its key, config and files; default a new temp dir. */
  dir?: string;
}

/** A running agent process; see the module documentation. */
export class AgentProcess {
  readonly output: string[] = [];
  private exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly node: string,
    readonly dir: string,
    readonly configPath: string,
    private readonly start: () => Promise<AgentProcess>,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const collect = (chunk: Buffer): void => void this.output.push(chunk.toString('utf8'));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
  }

  /** Writes the config (server URL, node, key paths, whitelist) and starts the agent. */
  static async start(server: ServerProcess, options: AgentProcessOptions): Promise<AgentProcess> {
    const dir = options.dir ?? tempDir(`pj-agent-${options.node}-`);
    mkdirSync(join(dir, 'files'), { recursive: true });
    const configPath = join(dir, 'push-jobs-client.json');
    const config = {
      chef_server_url: server.orgUrl,
      node_name: options.node,
      client_key: join(dir, 'client.pem'),
      validation_key: server.validatorKeyPath,
      file_dir: join(dir, 'files'),
      file_cache_path: dir,
      whitelist: options.whitelist,
      ...options.config,
    };
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    const launch = async (): Promise<AgentProcess> => {
      const child = spawn(process.execPath, [AGENT_BIN, '-c', configPath, '-l', 'info'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PUSH_JOBS_CLIENT_CONFIG_POLL_MS: '100' },
      });
      return new AgentProcess(child, options.node, dir, configPath, launch);
    };
    return launch();
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Rewrites the config file (the agent reloads its allow-list without a restart). */
  rewriteConfig(config: Record<string, unknown>): void {
    writeFileSync(this.configPath, JSON.stringify(config, null, 2));
  }

  /** The same agent (same dir, key and config) started again. */
  restart(): Promise<AgentProcess> {
    return this.start();
  }

  /** SIGKILL (a crash). */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and wait; resolves to the exit code. */
  async stop(): Promise<number | null> {
    if (this.running) this.child.kill('SIGTERM');
    return this.exited;
  }

  /** Stops the agent and removes its dir. */
  async remove(): Promise<void> {
    await this.stop();
    removeDir(this.dir);
  }
}
