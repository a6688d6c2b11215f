// The real push server in-process for tests: the built @push-jobs/server on SQLite in a temp dir,
// HTTP and ZeroMQ on random ports of 127.0.0.1, an org with an admin user, test timers (200 ms
// heartbeats) unless told otherwise; with requests signed as the admin over real HTTP.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isFinalJobState } from '@push-jobs/protocol';
import {
  DEFAULT_SERVER_CONFIG,
  associateUser,
  createClientWithKey,
  createOrgWithDefaults,
  createUserWithKey,
  openStore,
  startPushServer,
  type PushServer,
  type PushServerOptions,
  type ServerConfig,
  type Store,
} from '@push-jobs/server';
import { signedRequest, type SignedResponse } from './signed-request.js';
import { removeDir, tempDir } from './temp.js';
import { waitForValue } from './wait.js';

/** The timers of a test server: agents notice it (and it them) within a fraction of a second. */
export const TEST_TIMERS = {
  heartbeat_interval: 200,
  rehab_timer: 200,
  wait_complete_time: 1,
} as const satisfies Partial<ServerConfig>;

export interface PushFixtureOptions {
  /** The org made at start; `acme` unless given. */
  org?: string;
  /** The org's admin user; `alice` unless given. */
  admin?: string;
  /** More users, members of the org but not admins. */
  members?: readonly string[];
  /** `'test'` ({@link TEST_TIMERS}, the default) or `'product'` (the product's defaults). */
  timers?: 'test' | 'product';
  /** Configuration over the test base (addresses, random ports, data dir, timers). */
  config?: Partial<ServerConfig>;
  /** Serve the REST API over https with this certificate and key. */
  https?: PushServerOptions['https'];
  /** The start of the temp data dir's name; `pj-push-` unless given. */
  tempPrefix?: string;
  /** How long {@link PushFixture.waitForJob} waits unless told; 10 s unless given. */
  jobTimeoutMs?: number;
}

/** What {@link PushFixture.start} hands the constructor (subclasses pass it on). */
export interface PushFixtureInit {
  server: PushServer;
  apiUrl: string;
  store: Store;
  dataDir: string;
  config: ServerConfig;
  options: PushFixtureOptions;
  userKeys: ReadonlyMap<string, string>;
}

/** A constructor of a fixture class, with the defaults of its suite. */
type FixtureClass<T> = (new (init: PushFixtureInit) => T) & { defaults?: PushFixtureOptions };

export class PushFixture {
  /** Options a subclass's suite starts with (what `start` is given wins). */
  static defaults: PushFixtureOptions = {};

  /** Starts the server; on a subclass, makes that subclass. */
  static async start<T extends PushFixture>(
    this: FixtureClass<T>,
    options: PushFixtureOptions = {},
  ): Promise<T> {
    const opts = { ...this.defaults, ...options };
    const org = opts.org ?? 'acme';
    const dataDir = tempDir(opts.tempPrefix ?? 'pj-push-');
    const store = await openStore(join(dataDir, 'push-jobs.sqlite'));
    try {
      await createOrgWithDefaults(store, { name: org });
      const userKeys = new Map<string, string>();
      for (const [name, admin] of [
        [opts.admin ?? 'alice', true] as const,
        ...(opts.members ?? []).map((m) => [m, false] as const),
      ]) {
        userKeys.set(name, (await createUserWithKey(store, { name })).privateKey!);
        await associateUser(store, org, name, { admin });
      }
      const config: ServerConfig = {
        ...DEFAULT_SERVER_CONFIG,
        server_name: '127.0.0.1',
        zeromq_listen_address: 'tcp://127.0.0.1',
        command_port: 0,
        server_heartbeat_port: 0,
        ...(opts.timers === 'product' ? {} : TEST_TIMERS),
        data_dir: dataDir,
        ...opts.config,
      };
      const server = await startPushServer({
        config,
        store,
        ...(opts.https === undefined ? {} : { https: opts.https }),
      });
      const apiUrl = await server.app.listen({ host: '127.0.0.1', port: 0 });
      return new this({ server, apiUrl, store, dataDir, config, options: { ...opts, org }, userKeys });
    } catch (error) {
      await store.close();
      removeDir(dataDir);
      throw error;
    }
  }

  readonly store: Store;
  readonly dataDir: string;
  readonly org: string;
  /** The admin user's name. */
  readonly admin: string;
  protected readonly options: PushFixtureOptions;
  private current: PushServer;
  private url: string;
  private readonly config: ServerConfig;
  private readonly userKeys: ReadonlyMap<string, string>;

  constructor(init: PushFixtureInit) {
    this.current = init.server;
    this.url = init.apiUrl;
    this.store = init.store;
    this.dataDir = init.dataDir;
    this.config = init.config;
    this.options = init.options;
    this.userKeys = init.userKeys;
    this.org = init.options.org ?? 'acme';
    this.admin = init.options.admin ?? 'alice';
  }

  /** The running server (a new one after {@link restart}). */
  get server(): PushServer {
    return this.current;
  }

  /** The REST API's base URL (`http://127.0.0.1:<port>`). */
  get apiUrl(): string {
    return this.url;
  }

  /** `chef_server_url` of the org. */
  get orgUrl(): string {
    return `${this.apiUrl}/organizations/${this.org}`;
  }

  /** The admin user's private key (PEM). */
  get adminKey(): string {
    return this.userKey(this.admin);
  }

  /** The private key (PEM) of a user made at start. */
  userKey(name: string): string {
    const key = this.userKeys.get(name);
    if (key === undefined) throw new Error(`no user ${name} in this fixture`);
    return key;
  }

  /** Writes a user's key to `<dataDir>/<name>.pem` (mode 0600) and returns the path. */
  userKeyFile(name: string): string {
    return this.writeKey(name, this.userKey(name));
  }

  /** Registers client `name` in the org and returns its private key (PEM). */
  async createClient(name: string): Promise<string> {
    return (await createClientWithKey(this.store, { org: this.org, name })).privateKey!;
  }

  /** Registers client `name`, writes its key to `<dataDir>/<name>.pem` (0600), returns the path. */
  async clientKeyFile(name: string): Promise<string> {
    return this.writeKey(name, await this.createClient(name));
  }

  /** Whether the server holds `node` available. */
  isAvailable(node: string): boolean {
    return this.server.tracker.isAvailable(this.org, node);
  }

  /** A request signed as the admin user, over real HTTP. */
  request(method: string, path: string, body?: unknown, accept?: string): Promise<SignedResponse> {
    const signer = { baseUrl: this.apiUrl, userId: this.admin, privateKey: this.adminKey };
    return signedRequest(signer, method, path, body, accept);
  }

  /** Posts a job and returns its id. */
  async startJob(body: Record<string, unknown>): Promise<string> {
    const res = await this.request('POST', `/organizations/${this.org}/pushy/jobs`, body);
    if (res.status !== 201) throw new Error(`POST jobs: ${res.status} ${res.text}`);
    return (res.json as { uri: string }).uri.split('/').pop()!;
  }

  /** The job as the REST API shows it. */
  async job(id: string): Promise<Record<string, unknown>> {
    return (await this.request('GET', `/organizations/${this.org}/pushy/jobs/${id}`)).json as Record<
      string,
      unknown
    >;
  }

  /** Polls the job until its status is final, and returns it. */
  async waitForJob(
    id: string,
    timeoutMs = this.options.jobTimeoutMs ?? 10_000,
  ): Promise<Record<string, unknown>> {
    return waitForValue(
      `job ${id} to finish`,
      async () => {
        const job = await this.job(id);
        return isFinalJobState(String(job['status'])) ? job : undefined;
      },
      { timeoutMs, intervalMs: 50 },
    );
  }

  /** The stored stdout of a job on a node. */
  async stdout(id: string, node: string): Promise<string> {
    const path = `/organizations/${this.org}/pushy/jobs/${id}/output/${node}/stdout`;
    const res = await this.request('GET', path, undefined, 'application/octet-stream');
    if (res.status !== 200) throw new Error(`GET output: ${res.status} ${res.text}`);
    return res.text;
  }

  /** A new server incarnation on the same store, data dir and ports (a real restart). */
  async restart(): Promise<void> {
    const port = (key: 'command' | 'heartbeat'): number =>
      Number(/:(\d+)$/.exec(this.server.endpoints[key])![1]);
    const config = {
      ...this.config,
      command_port: port('command'),
      server_heartbeat_port: port('heartbeat'),
    };
    const apiPort = Number(new URL(this.apiUrl).port);
    await this.current.close();
    this.current = await startPushServer({
      config,
      store: this.store,
      ...(this.options.https === undefined ? {} : { https: this.options.https }),
    });
    this.url = await this.current.app.listen({ host: '127.0.0.1', port: apiPort });
  }

  /** Stops the server, closes the store and removes the data dir. */
  async close(): Promise<void> {
    await this.current.close();
    await this.store.close();
    removeDir(this.dataDir);
  }

  private writeKey(name: string, key: string): string {
    const path = join(this.dataDir, `${name}.pem`);
    writeFileSync(path, key, { mode: 0o600 });
    return path;
  }
}
