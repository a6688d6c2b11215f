/**
 * Several cluster instances in one test process, on one PostgreSQL schema of the test's own:
 * each with its own store (pool), data directory (server id and keys), HTTP port and ZeroMQ
 * ports, as separate processes would have. Requests are signed as the org's admin.
 *
 * @module
 */
import {
  dropSchema,
  removeDir,
  schemaName,
  schemaUrl,
  signedRequest,
  tempDir,
  until,
  uniqueOrg,
  type SignedResponse,
} from '@push-jobs/testing';
import { DEFAULT_SERVER_CONFIG, type ServerConfig } from '../../src/config/index.js';
import {
  associateUser,
  createClientWithKey,
  createOrgWithDefaults,
  createUserWithKey,
} from '../../src/identity/index.js';
import { startPushServer, type PushServer } from '../../src/push-server.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';
import { FakeAgent, type Behavior } from './fake-agent.js';

/** One running instance. */
export interface Instance {
  name: string;
  server: PushServer;
  store: Store;
  apiUrl: string;
  dataDir: string;
}

/** Settings every instance of a test cluster gets. */
const CLUSTER_TEST_CONFIG: Partial<ServerConfig> = {
  server_name: '127.0.0.1',
  zeromq_listen_address: 'tcp://127.0.0.1',
  command_port: 0,
  server_heartbeat_port: 0,
  heartbeat_interval: 200,
  rehab_timer: 200,
  wait_complete_time: 2,
  cluster: true,
  cluster_lease_seconds: 3,
};

/** A test cluster: its schema, org, admin, instances and agents. */
export class TestCluster {
  readonly instances = new Map<string, Instance>();
  readonly agents: FakeAgent[] = [];
  private adminKey = '';
  readonly admin = 'alice';

  private constructor(
    readonly schema: string,
    readonly org: string,
    private readonly extra: Partial<ServerConfig>,
  ) {}

  /** Makes the schema, the org and its admin (no instance yet). */
  static async create(extra: Partial<ServerConfig> = {}): Promise<TestCluster> {
    const cluster = new TestCluster(schemaName('pj_cluster_'), uniqueOrg('cl'), extra);
    const store = await openStore(cluster.url);
    try {
      await createOrgWithDefaults(store, { name: cluster.org });
      cluster.adminKey = (await createUserWithKey(store, { name: cluster.admin })).privateKey!;
      await associateUser(store, cluster.org, cluster.admin, { admin: true });
    } finally {
      await store.close();
    }
    return cluster;
  }

  /** The admin's private key (PEM). */
  get adminKeyPem(): string {
    return this.adminKey;
  }

  get url(): string {
    return schemaUrl(this.schema);
  }

  /** Starts an instance; `dataDir` again is the same server restarting. */
  async start(
    name: string,
    options: { dataDir?: string; config?: Partial<ServerConfig> } = {},
  ): Promise<Instance> {
    const store = await openStore(this.url);
    const dataDir = options.dataDir ?? tempDir(`pj-cl-${name}-`);
    try {
      const config: ServerConfig = {
        ...DEFAULT_SERVER_CONFIG,
        ...CLUSTER_TEST_CONFIG,
        ...this.extra,
        ...options.config,
        data_dir: dataDir,
        database_url: this.url,
        instance_name: name,
      };
      const server = await startPushServer({ config, store });
      const apiUrl = await server.app.listen({ host: '127.0.0.1', port: 0 });
      const instance = { name, server, store, apiUrl, dataDir };
      this.instances.set(name, instance);
      return instance;
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  get(name: string): Instance {
    const instance = this.instances.get(name);
    if (instance === undefined) throw new Error(`no instance ${name}`);
    return instance;
  }

  /** Stops an instance as a crash would (no lease given back, nothing flushed). */
  async kill(name: string): Promise<void> {
    const instance = this.get(name);
    this.instances.delete(name);
    await instance.server.kill();
    await instance.store.close();
  }

  /** Stops an instance cleanly. */
  async stop(name: string): Promise<void> {
    const instance = this.get(name);
    this.instances.delete(name);
    await instance.server.close();
    await instance.store.close();
  }

  /** A request to one instance, signed as the admin. */
  request(name: string, method: string, path: string, body?: unknown): Promise<SignedResponse> {
    return signedRequest(
      { baseUrl: this.get(name).apiUrl, userId: this.admin, privateKey: this.adminKey },
      method,
      `/organizations/${this.org}/pushy${path}`,
      body,
    );
  }

  /** Posts a job on an instance; returns its id. */
  async startJob(name: string, body: Record<string, unknown>): Promise<string> {
    const res = await this.request(name, 'POST', '/jobs', body);
    if (res.status !== 201) throw new Error(`POST jobs on ${name}: ${res.status} ${res.text}`);
    return (res.json as { uri: string }).uri.split('/').pop()!;
  }

  /** The job as an instance's API shows it. */
  async job(name: string, id: string): Promise<{ status: string; nodes: Record<string, string[]> }> {
    const res = await this.request(name, 'GET', `/jobs/${id}`);
    if (res.status !== 200) throw new Error(`GET job on ${name}: ${res.status} ${res.text}`);
    return res.json as { status: string; nodes: Record<string, string[]> };
  }

  /** Waits until the job's status, as `name` shows it, is final; returns the job. */
  async finalJob(
    name: string,
    id: string,
    timeoutMs = 30_000,
  ): Promise<{ status: string; nodes: Record<string, string[]> }> {
    let job = await this.job(name, id);
    await until(
      async () => {
        job = await this.job(name, id);
        return !['new', 'voting', 'running'].includes(job.status);
      },
      `job ${id} final on ${name}`,
      { timeoutMs },
    );
    return job;
  }

  /** `node_states` of an instance: node name → availability. */
  async nodeStates(name: string): Promise<Map<string, string>> {
    const res = await this.request(name, 'GET', '/node_states');
    const list = res.json as { node_name: string; availability: string }[];
    return new Map(list.map((n) => [n.node_name, n.availability]));
  }

  /** Waits until every instance's `node_states` shows every node of `nodes` available. */
  async allAvailable(
    nodes: readonly string[],
    on: readonly string[] = [...this.instances.keys()],
  ): Promise<void> {
    for (const name of on) {
      let states = new Map<string, string>();
      await until(
        async () => {
          states = await this.nodeStates(name);
          return nodes.every((n) => states.get(n) === 'available');
        },
        () =>
          `${nodes.join(',')} available on ${name} (it shows ${JSON.stringify([...states])}; leases ` +
          `${JSON.stringify([...this.instances.values()].map((i) => [i.name, i.server.cluster?.lease.stats]))})`,
      );
    }
  }

  /** Starts a fake agent for `node` on instance `name` (its client is created first). */
  async agent(name: string, node: string, behavior: Partial<Behavior> = {}): Promise<FakeAgent> {
    const store = this.get(name).store;
    const key = (await createClientWithKey(store, { org: this.org, name: node })).privateKey!;
    const agent = await FakeAgent.start({
      apiUrl: this.get(name).apiUrl,
      org: this.org,
      node,
      clientKeyPem: key,
      behavior,
      heartbeatIntervalMs: 100,
    });
    this.agents.push(agent);
    return agent;
  }

  /** Stops every agent and instance, drops the schema and the data directories. */
  async close(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.stop()));
    const dirs = [...this.instances.values()].map((i) => i.dataDir);
    for (const name of [...this.instances.keys()]) await this.kill(name).catch(() => undefined);
    for (const dir of dirs) removeDir(dir);
    await dropSchema(this.schema);
  }
}
