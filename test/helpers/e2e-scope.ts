// One test's world in the end-to-end suites: a scratch dir, and the servers, clients and agents
// the test started, stopped in reverse order after it (whatever the test's outcome).
import { readFileSync } from 'node:fs';
import type { PushApiClient } from '@push-jobs/protocol';
import { PG_URL, removeDir, tempDir, uniqueOrg } from '@push-jobs/testing';
import { startFleet, type Fleet, type FleetOptions } from '../fleet/fleet.js';
import { AgentProcess, type AgentProcessOptions } from './agent-process.js';
import { ServerProcess, type ServerProcessOptions } from './server-process.js';

/** A server process and an admin client of it. */
export interface ServerAndClient {
  server: ServerProcess;
  api: PushApiClient;
}

/** See the module documentation; {@link E2eScope.use} makes one per test of a `describe`. */
export class E2eScope {
  private scratch: string | undefined;
  private readonly cleanups: (() => unknown)[] = [];

  private constructor(private readonly prefix: string) {}

  /** A scope renewed before each test of the enclosing `describe` and closed after it. */
  static use(prefix: string): E2eScope {
    const scope = new E2eScope(prefix);
    beforeEach(() => {
      scope.scratch = tempDir(prefix);
    });
    afterEach(() => scope.close());
    return scope;
  }

  /** This test's scratch dir. */
  get dir(): string {
    if (this.scratch === undefined) throw new Error(`${this.prefix}: no test is running`);
    return this.scratch;
  }

  /** Runs `cleanup` after the test (the last registered first). */
  defer(cleanup: () => unknown): void {
    this.cleanups.push(cleanup);
  }

  /** Starts a server and an admin client, both stopped after the test. */
  async server(options: ServerProcessOptions = {}): Promise<ServerAndClient> {
    return this.withClient(await ServerProcess.start(options));
  }

  /**
   * Starts a server on the embedded SQLite or on the shared PostgreSQL (with an org and admin
   * of its own there), both stopped after the test.
   */
  serverOn(store: 'sqlite' | 'postgres', options: ServerProcessOptions = {}): Promise<ServerAndClient> {
    if (store === 'sqlite') return this.server(options);
    const org = uniqueOrg('e2e');
    return this.server({ databaseUrl: PG_URL, org, admin: `${org}-admin`, ...options });
  }

  /** Restarts `server` on its data dir and ports (a new incarnation) with a new admin client. */
  async restart(server: ServerProcess): Promise<ServerAndClient> {
    return this.withClient(await server.restart());
  }

  /** Starts an agent process, stopped and removed after the test. */
  async agent(server: ServerProcess, options: AgentProcessOptions): Promise<AgentProcess> {
    const agent = await AgentProcess.start(server, options);
    this.defer(() => agent.remove());
    return agent;
  }

  /**
   * Starts `nodes` simulated agents named `PREFIX-...` in one fleet worker, registered with the
   * server's validator: they answer every command (succeeded) as the original client does, with
   * no result fields. Stopped after the test. `options` override the fleet's (e.g. make them
   * print lines).
   */
  async simulatedAgents(
    server: ServerProcess,
    prefix: string,
    nodes: number,
    options: Partial<FleetOptions> = {},
  ): Promise<Fleet> {
    const fleet = await startFleet({
      orgUrl: server.orgUrl,
      nodes,
      processes: 1,
      prefix,
      failureRate: 0,
      durationMs: 10,
      ...options,
      registrar: {
        userId: server.validatorName,
        privateKeyPem: readFileSync(server.validatorKeyPath, 'utf8'),
      },
    });
    this.defer(() => fleet.stop());
    return fleet;
  }

  private withClient(server: ServerProcess): ServerAndClient {
    this.defer(() => server.stop());
    const api = server.adminClient();
    this.defer(() => api.close());
    return { server, api };
  }

  private async close(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup();
    removeDir(this.scratch);
    this.scratch = undefined;
  }
}
