// Two server instances for the agent's failover tests: the fixture's server and a second one on
// the same store (same orgs, clients and keys; its own ports, incarnation and keys), and a
// load balancer in front of their REST APIs that sends each connection to the first backend
// that accepts it (a dead one refuses: its listener is gone), as a TCP balancer with passive
// health checks does.
import { startPushServer, type PushServer } from '@push-jobs/server';
import { removeDir, signedRequest, tempDir, waitForValue, type SignedResponse } from '@push-jobs/testing';
export { FirstUpBalancer } from '@push-jobs/testing';
import type { PushFixture } from '@push-jobs/testing/push-server';
import { isFinalJobState } from '@push-jobs/protocol';
import type { HeartbeatFeed } from '../../src/connection.js';
import { SharedHeartbeatFeed } from '../../src/heartbeat-feed.js';

/** A second server instance sharing `h`'s store, with requests signed as `h`'s admin. */
export class SecondInstance {
  private constructor(
    private readonly h: PushFixture,
    readonly server: PushServer,
    readonly apiUrl: string,
    private readonly dataDir: string,
  ) {}

  static async start(h: PushFixture): Promise<SecondInstance> {
    const dataDir = tempDir('pj-agent-second-');
    const server = await startPushServer({
      config: { ...h.server.config, command_port: 0, server_heartbeat_port: 0, data_dir: dataDir },
      store: h.store,
    });
    const apiUrl = await server.app.listen({ host: '127.0.0.1', port: 0 });
    return new SecondInstance(h, server, apiUrl, dataDir);
  }

  /** `chef_server_url` of the org on this instance. */
  get orgUrl(): string {
    return `${this.apiUrl}/organizations/${this.h.org}`;
  }

  isAvailable(node: string): boolean {
    return this.server.tracker.isAvailable(this.h.org, node);
  }

  request(method: string, path: string, body?: unknown): Promise<SignedResponse> {
    const signer = { baseUrl: this.apiUrl, userId: this.h.admin, privateKey: this.h.adminKey };
    return signedRequest(signer, method, path, body);
  }

  /** Posts a job to this instance and waits until it is final. */
  async runJob(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const res = await this.request('POST', `/organizations/${this.h.org}/pushy/jobs`, body);
    if (res.status !== 201) throw new Error(`POST jobs: ${res.status} ${res.text}`);
    const id = (res.json as { uri: string }).uri.split('/').pop()!;
    return waitForValue(
      `job ${id} to finish on the second instance`,
      async () => {
        const job = (await this.request('GET', `/organizations/${this.h.org}/pushy/jobs/${id}`))
          .json as Record<string, unknown>;
        return isFinalJobState(String(job['status'])) ? job : undefined;
      },
      { intervalMs: 50 },
    );
  }

  async close(): Promise<void> {
    await this.server.close();
    removeDir(this.dataDir);
  }
}

/** The port of `http://host:port`. */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** A heartbeat feed whose frames can be held back, as a network that drops them would. */
export class PausableHeartbeatFeed implements HeartbeatFeed {
  paused = false;
  /** Subscriptions made so far (one per connection the agent opened). */
  subscriptions = 0;
  private readonly inner = new SharedHeartbeatFeed();

  subscribe(outAddr: string, listener: (frames: Buffer[]) => void): () => void {
    this.subscriptions += 1;
    return this.inner.subscribe(outAddr, (frames) => {
      if (!this.paused) listener(frames);
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A logger that keeps every line (`LEVEL message`) and can show them (`PJ_TEST_AGENT_LOG=1`). */
export class LogLines {
  readonly lines: string[] = [];
  private readonly watchers: ((line: string) => void)[] = [];

  constructor(private readonly tag = '') {}

  /** Calls `fn` with each line logged from now on. */
  watch(fn: (line: string) => void): void {
    this.watchers.push(fn);
  }

  /** Whether a line matches. */
  has(pattern: RegExp): boolean {
    return this.lines.some((line) => pattern.test(line));
  }

  private add(level: string, message: string): void {
    const line = `${level} ${message}`;
    this.lines.push(line);
    for (const fn of this.watchers) fn(line);
    if (process.env.PJ_TEST_AGENT_LOG === '1') process.stderr.write(`[agent${this.tag}] ${line}\n`);
  }

  readonly debug = (message: string): void => this.add('DEBUG', message);
  readonly info = (message: string): void => this.add('INFO', message);
  readonly warn = (message: string): void => this.add('WARN', message);
  readonly error = (message: string): void => this.add('ERROR', message);
}
