/**
 * The agent's lifecycle (client spec A.4, A.14, A.15, A.18): start-up (config fetch, sockets,
 * heartbeats), reconfiguration (periodic, on server restart, when the command channel stays
 * silent, on request), failover when the server goes silent (ours: a config re-fetch, see
 * {@link Agent}) and shutdown. Signals and `process.exit` belong to the executable, not here,
 * so several agents can live in one process.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { errorMessage } from '@push-jobs/protocol/lite';
import { curveKeyPair } from 'zeromq';
import type { CompiledAgentOptions } from './config/index.js';
import {
  AgentConnection,
  AgentStartError,
  fetchAgentConfig,
  SILENT_LOGGER,
  type AgentIdentity,
  type AgentLogger,
  type FetchedConfig,
  type HeartbeatFeed,
} from './connection.js';
import {
  AllServersFailedError,
  DEFAULT_REFETCH_BACKOFF,
  fetchFirstAnswering,
  LogThrottle,
  RefetchLoop,
  sameConnectionConfig,
  ServerList,
  withoutQuery,
  type RefetchBackoffOptions,
} from './failover.js';
import { Heartbeater } from './heartbeater.js';
import { agentTlsOptions } from './http.js';
import { loadOrRegisterClientKey } from './register.js';
import type { JobRunnerPort, RunnerReply } from './runner-types.js';

/** Builds the runner given the function it answers through. */
export type JobRunnerFactory = (reply: (reply: RunnerReply) => void) => JobRunnerPort;

/** Options of {@link Agent.create} besides the compiled agent options. */
export interface AgentCreateOptions {
  /**
   * The job runner, or a factory that receives the reply function. A runner given directly
   * answers through {@link Agent.reply}.
   */
  runner: JobRunnerPort | JobRunnerFactory;
  /** @default a logger that drops everything */
  log?: AgentLogger;
  /** The client key PEM; by default read from `options.client_key`. */
  clientKeyPem?: string;
  /** The agent's incarnation id. @default a random UUID */
  incarnationId?: string;
  /**
   * Milliseconds without any message on the command socket, after (re)connecting, before a
   * reconfigure (A.6 encryption sanity check); 0 disables it. @default 4000
   */
  commandSilenceMs?: number;
  /**
   * Milliseconds between checks of the reconfigure deadline and, while a job runs, of whether a
   * pending reconfigure may proceed. @default 5000
   */
  pollMs?: number;
  /** Random source in [0, 1) (splay and restart delay). @default Math.random */
  random?: () => number;
  /**
   * Retries of the first config fetch when the server is unreachable or answers 5xx, and the
   * milliseconds between them. @default `options.http_retry_count` and `options.http_retry_delay`
   */
  startRetries?: { count: number; delayMs: number };
  /** Aborts {@link Agent.create} while it waits to retry the config fetch. */
  signal?: AbortSignal;
  /** Where server heartbeats come from. @default a SUB socket per connection */
  heartbeatFeed?: HeartbeatFeed;
  /**
   * Bounds of the back-off between rounds of config re-fetches after the server went offline
   * (each delay is drawn from its upper half). @default 1 s doubling to 30 s
   */
  refetchBackoff?: Partial<RefetchBackoffOptions>;
  /** Milliseconds each server may take to answer a re-fetch after the server went offline. @default 10000 */
  refetchTimeoutMs?: number;
}

/** What the agent is doing. */
export type AgentLifecycleState = 'running' | 'reconfiguring' | 'stopped';

/** A snapshot of the agent, from {@link Agent.status}. */
export interface AgentStatus {
  state: AgentLifecycleState;
  /** Whether the server is considered online (A.14). */
  serverOnline: boolean;
  /** The server's incarnation id as last seen. */
  serverIncarnationId: string;
  /** The agent's own incarnation id. */
  incarnationId: string;
  /** Whether a verified message arrived on the command socket of the current connection. */
  commandChannelVerified: boolean;
  /** Completed reconfigures (not counting the start). */
  reconfigures: number;
  /** Client heartbeats sent on the current configuration. */
  heartbeatsSent: number;
  /** Messages dropped by the current connection because they did not verify. */
  droppedMessages: number;
  /** The server URL the current config came from (one of `chef_server_urls`). */
  serverUrl: string;
  /** The server's host and command address, from the current config. */
  server: { host: string; commandAddress: string };
  /** Whether the agent is re-fetching its config because the server went offline. */
  refetching: boolean;
  /** Times the agent moved to another server instance (other ZeroMQ addresses). */
  moves: number;
  /** The runner's state. */
  job: ReturnType<JobRunnerPort['state']>;
}

/** Replies kept while the agent swaps its connection (sent on the new one). */
const MAX_PENDING_REPLIES = 16;
/** How often a reconfigure checks whether a committed job has started or been released, ms. */
const COMMITTED_POLL_MS = 50;

/** How long a config fetch (at start, or a reconfigure) may take per server, ms. */
const FETCH_TIMEOUT_MS = 30_000;
/** The same for the re-fetches after the server went offline, ms. */
const REFETCH_TIMEOUT_MS = 10_000;

/** A failed config fetch retries after this many seconds (A.15). */
const FETCH_FAILURE_DELAY_S = 120;
/** A failed enqueue forces a reconfigure within this many seconds (A.6). */
const SEND_FAILURE_DELAY_S = 60;

/**
 * A start-up step (registration, the first config fetch), retried `count` times `delayMs` apart
 * while the failure is retryable (A.4: the original retried 5 times, 30 s apart, then exited
 * for the init system to restart it).
 */
async function withStartRetries<T>(
  step: () => Promise<T>,
  log: AgentLogger,
  nodeName: string,
  retries: { count: number; delayMs: number },
  signal: AbortSignal | undefined,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof AgentStartError) || !err.retryable || attempt >= retries.count) throw err;
      log.warn(
        `[${nodeName}] ${err.message}; retry ${attempt + 1} of ${retries.count} in ${retries.delayMs / 1000} s`,
      );
      await abortableDelay(retries.delayMs, signal);
    }
  }
}

/** Resolves after `ms`, or rejects with an AgentStartError when `signal` aborts first. */
function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = (): void => {
      clearTimeout(timer);
      reject(new AgentStartError('stopped while waiting to retry the config fetch', 0));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, ms);
    if (signal?.aborted === true) stop();
    else signal?.addEventListener('abort', stop, { once: true });
  });
}

/**
 * The push-jobs agent; see the module documentation.
 *
 * **When the server goes offline** (missed heartbeats, A.14) the agent releases a job committed
 * but not running (its `run` cannot come) and re-fetches its config (ours; the original only
 * reopened its sockets on the cached config), from the server after the current one in
 * `chef_server_urls` onwards (with one URL, a load balancer: that URL), so that it lands on a
 * live server instance:
 *
 * - a config of another instance (other ZeroMQ addresses, or another server incarnation): the
 *   sockets and heartbeater are rebuilt from it ("Moved to server ...");
 * - a config of the same instance: the sockets are rebuilt once (the ones that went silent may
 *   sit on a half-open TCP connection), and kept when they already were;
 * - no answer from any server: the sockets are reopened on the cached config (as the original
 *   did, so a server that comes back at the same address is found) and the fetch is tried again
 *   after a back-off with jitter ({@link AgentCreateOptions.refetchBackoff}), until a fetch
 *   succeeds or the server is back online.
 *
 * A running job runs on; its replies made while the server is offline are kept (up to 16) and
 * sent once the agent is connected to a server that answers. The agent keeps its incarnation id
 * and CURVE key pair for its whole life, so a server sees a node that moved, not a new one.
 */
export class Agent {
  /** The agent's identity (node, org, keys, incarnation). */
  readonly identity: AgentIdentity;
  private readonly log: AgentLogger;
  private readonly prefix: string;
  private readonly runnerPort: JobRunnerPort;
  private readonly silenceMs: number;
  private readonly pollMs: number;
  private readonly random: () => number;
  private readonly heartbeatFeed: HeartbeatFeed | undefined;
  private readonly refetchTimeoutMs: number;
  /** The servers, in order, and which one the current config came from. */
  private readonly servers: ServerList;
  /** Re-fetches the config after the server went offline, with back-off. */
  private readonly refetch: RefetchLoop;
  /** Failure lines of the re-fetch: one a minute when nothing changes. */
  private readonly refetchThrottle = new LogThrottle();
  private fetched: FetchedConfig;
  private conn: AgentConnection | undefined;
  private heartbeater: Heartbeater | undefined;
  private commandSeen = false;
  private silenceTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private deadline = Number.POSITIVE_INFINITY;
  private reconfiguring: Promise<boolean> | undefined;
  private reconfigureCount = 0;
  private moveCount = 0;
  /** Whether the sockets were rebuilt since the server last went offline. */
  private reopenedSinceOffline = false;
  private stopping = false;
  private stoppedPromise: Promise<void> | undefined;
  private resolveRun: () => void = () => undefined;
  private readonly runPromise: Promise<void>;
  /** Replies the runner made while no connection to a live server was open (sent once one is). */
  private pendingReplies: RunnerReply[] = [];

  private constructor(identity: AgentIdentity, fetched: FetchedConfig, create: AgentCreateOptions) {
    this.identity = identity;
    this.fetched = fetched;
    this.log = create.log ?? SILENT_LOGGER;
    this.prefix = `[${identity.nodeName}]`;
    this.silenceMs = create.commandSilenceMs ?? 4000;
    this.pollMs = create.pollMs ?? 5000;
    this.random = create.random ?? Math.random;
    this.heartbeatFeed = create.heartbeatFeed;
    this.refetchTimeoutMs = create.refetchTimeoutMs ?? REFETCH_TIMEOUT_MS;
    this.servers = new ServerList(identity.chefServerUrls ?? [identity.chefServerUrl]);
    this.refetch = new RefetchLoop({
      round: (round) => this.refetchRound(round),
      retrying: (_round, delayMs, error) => this.refetchFailed(delayMs, error),
      backoff: { ...DEFAULT_REFETCH_BACKOFF, ...create.refetchBackoff },
      random: this.random,
    });
    this.runnerPort =
      typeof create.runner === 'function' ? create.runner((reply) => this.reply(reply)) : create.runner;
    this.runPromise = new Promise<void>((resolve) => {
      this.resolveRun = resolve;
    });
  }

  /**
   * Starts an agent (A.4): reads the client key, makes the CURVE key pair and incarnation id,
   * fetches the config, opens the sockets and starts heartbeating and the periodic reconfigure.
   * Throws {@link AgentStartError} (with the original exit code) when it cannot start.
   */
  static async create(options: CompiledAgentOptions, create: AgentCreateOptions): Promise<Agent> {
    const log = create.log ?? SILENT_LOGGER;
    const retries = create.startRetries ?? {
      count: options.http_retry_count,
      delayMs: options.http_retry_delay * 1000,
    };
    const tls = agentTlsOptions(options);
    // A caller that replaced chef_server_url in compiled options means that server alone.
    const listed = options.chef_server_urls as readonly string[] | undefined;
    const urls =
      listed !== undefined && listed.length > 0 && listed[0] === options.chef_server_url
        ? [...listed]
        : [options.chef_server_url];
    // Start-up goes to the first server that answers; an answer no other server can change
    // (a 401, a bad document, a certificate) stops it, as with one server.
    const firstAnswering = <T>(step: (url: string) => Promise<T>): Promise<{ value: T; url: string }> =>
      fetchFirstAnswering(urls, step, {
        tryNext: (err) => err instanceof AgentStartError && err.retryable,
        describe: (err) => withoutQuery(errorMessage(err)),
      }).catch((err: unknown) => {
        if (!(err instanceof AllServersFailedError)) throw err;
        throw new AgentStartError(`No server answered: ${err.message}`, 2, true);
      });
    const clientKeyPem =
      create.clientKeyPem ??
      (
        await withStartRetries(
          () =>
            firstAnswering((url) => loadOrRegisterClientKey({ ...options, chef_server_url: url }, log, tls)),
          log,
          options.node_name,
          retries,
          create.signal,
        )
      ).value;
    const { publicKey, secretKey } = curveKeyPair();
    const identity: AgentIdentity = {
      nodeName: options.node_name,
      clientName: options.client_name,
      clientKeyPem,
      hostname: options.hostname,
      orgName: options.org_name,
      chefServerUrl: urls[0]!,
      chefServerUrls: urls,
      incarnationId: create.incarnationId ?? randomUUID(),
      curve: { publicKey, secretKey },
      allowUnencrypted: options.allow_unencrypted,
      maxBodySize: options.max_body_size,
      tls,
    };
    const p = `[${identity.nodeName}]`;
    if (options.config_file !== undefined) log.info(`${p} Using config file ${options.config_file}`);
    log.info(`${p} Using node name: ${identity.nodeName}`);
    log.info(`${p} Using org name: ${identity.orgName}`);
    log.info(`${p} Using Chef server: ${identity.chefServerUrl}`);
    if (urls.length > 1) log.info(`${p} Other servers, in order: ${urls.slice(1).join(', ')}`);
    log.info(`${p} Using private key: ${options.client_key}`);
    log.info(`${p} Incarnation ID: ${identity.incarnationId}`);
    log.info(`${p} Allowing fallback to unencrypted connection: ${String(identity.allowUnencrypted)}`);
    const first = await withStartRetries(
      () => firstAnswering((url) => fetchAgentConfig(identity, log, FETCH_TIMEOUT_MS, url)),
      log,
      identity.nodeName,
      retries,
      create.signal,
    );
    const agent = new Agent(identity, first.value, create);
    agent.servers.use(first.url);
    if (first.url !== identity.chefServerUrl) log.info(`${p} Using server ${first.url}`);
    agent.connect();
    log.info(`${p} Started client.`);
    return agent;
  }

  /** The runner the agent drives. */
  get runner(): JobRunnerPort {
    return this.runnerPort;
  }

  /** Settles once the agent has stopped ({@link shutdown}). */
  run(): Promise<void> {
    return this.runPromise;
  }

  /** A snapshot of the agent's state. */
  status(): AgentStatus {
    const { config } = this.fetched;
    return {
      state: this.stopping ? 'stopped' : this.reconfiguring !== undefined ? 'reconfiguring' : 'running',
      serverOnline: this.heartbeater?.online ?? false,
      serverIncarnationId: this.heartbeater?.serverIncarnationId ?? config.incarnation_id,
      incarnationId: this.identity.incarnationId,
      commandChannelVerified: this.commandSeen,
      reconfigures: this.reconfigureCount,
      heartbeatsSent: this.heartbeater?.heartbeatsSent ?? 0,
      droppedMessages: this.conn?.dropped().length ?? 0,
      serverUrl: this.servers.current,
      server: { host: config.host, commandAddress: config.push_jobs.heartbeat.command_addr },
      refetching: this.refetch.active,
      moves: this.moveCount,
      job: this.runnerPort.state(),
    };
  }

  /**
   * Sends a runner's reply on the current connection. While the agent swaps connections, or its
   * server is offline, it is kept and sent once a connection to a live server is open (a job's
   * result must not be lost to a reconfigure or a failover); when stopped it is dropped with a
   * warning.
   */
  reply(reply: RunnerReply): void {
    const conn = this.conn;
    if (this.stopping) {
      this.log.warn(`${this.prefix} Dropping '${reply.type}' packet because client was stopped`);
      return;
    }
    if (conn === undefined || this.heartbeater?.online === false) {
      // Live output is not kept across a reconnect: the final reply carries the whole output.
      if (reply.type === 'output') return;
      if (this.pendingReplies.length >= MAX_PENDING_REPLIES) {
        this.log.warn(`${this.prefix} Dropping '${reply.type}' packet because client was reconnecting`);
        return;
      }
      this.pendingReplies.push(reply);
      return;
    }
    void conn.sendReply(reply);
  }

  /**
   * A full reconfigure (A.15): refetches the config and rebuilds the sockets, the heartbeater
   * and the reconfigure deadline. The config comes from the server it came from last, or else
   * the next of `chef_server_urls` that answers. A failed fetch keeps the old sockets and
   * retries in about 120 s. Concurrent calls share one reconfigure.
   *
   * Unlike the original it does not wait for a running job (the job goes on; its result goes
   * out on the new connection), so heartbeats, availability and aborts keep flowing while a long
   * command runs. A job committed but not running is waited for (its `run` would go to the old
   * connection); where the agent learns that its server is gone (a restart, a command channel
   * that stays silent, the server going offline) it is released first: its `run` can never come.
   */
  reconfigure(reason = 'requested'): Promise<void> {
    // Shared with a re-fetch round, it may reject: that round's loop has logged it already.
    return this.runReconfigure(reason, false).then(
      () => undefined,
      () => undefined,
    );
  }

  /** Stops the heartbeats and timers and closes the sockets. Idempotent. */
  shutdown(): Promise<void> {
    if (this.stoppedPromise !== undefined) return this.stoppedPromise;
    this.stopping = true;
    this.log.info(`${this.prefix} Stopping client`);
    this.stoppedPromise = (async () => {
      this.clearTimers();
      this.refetch.stop();
      this.heartbeater?.stop();
      const conn = this.conn;
      this.conn = undefined;
      await conn?.close();
      this.resolveRun();
    })();
    return this.stoppedPromise;
  }

  // -------------------------------------------------------------------------------------------

  private clearTimers(): void {
    if (this.silenceTimer !== undefined) clearTimeout(this.silenceTimer);
    if (this.deadlineTimer !== undefined) clearInterval(this.deadlineTimer);
    this.silenceTimer = undefined;
    this.deadlineTimer = undefined;
  }

  /**
   * Starts on {@link fetched}: opens the sockets (unless `keepSockets` and there are some),
   * makes a new heartbeater (the server counts as online until it misses heartbeats) and sets the
   * reconfigure deadline. Ends a re-fetch after the server went offline.
   */
  private connect(keepSockets = false): void {
    const { config } = this.fetched;
    if (this.refetch.active) this.refetch.stop();
    this.refetchThrottle.reset();
    this.reopenedSinceOffline = false;
    if (!keepSockets || this.conn === undefined) this.openSockets(true);
    const heartbeater = new Heartbeater({
      heartbeat: config.push_jobs.heartbeat,
      serverIncarnationId: config.incarnation_id,
      log: this.log,
      logPrefix: this.prefix,
      random: this.random,
      hooks: {
        sendHeartbeat: () => void this.conn?.sendHeartbeat(),
        availabilityChanged: (online) => {
          if (this.heartbeater !== heartbeater) return;
          if (online) this.serverBackOnline();
          else this.serverWentOffline();
        },
        serverRestarted: () => {
          if (this.heartbeater !== heartbeater) return;
          this.runnerPort.releaseCommitted('the server restarted');
          void this.reconfigure('server restart');
        },
      },
    });
    this.heartbeater = heartbeater;
    // Kept replies (a job's result) go before the first heartbeat, which reports the job's state.
    this.flushPending();
    heartbeater.start();
    this.setDeadline(config.lifetime);
    if (this.deadlineTimer === undefined) {
      this.deadlineTimer = setInterval(() => {
        if (Date.now() < this.deadline) return;
        this.log.info(`${this.prefix} Reconfigure deadline reached`);
        this.setDeadline(this.fetched.config.lifetime);
        void this.reconfigure('periodic');
      }, this.pollMs);
    }
  }

  /**
   * Opens a connection on the cached config and, with `checkSilence`, arms the command-silence
   * check (A.6).
   */
  private openSockets(checkSilence: boolean): void {
    const conn = AgentConnection.open({
      identity: this.identity,
      fetched: this.fetched,
      runner: this.runnerPort,
      log: this.log,
      ...(this.heartbeatFeed === undefined ? {} : { heartbeatFeed: this.heartbeatFeed }),
      events: {
        serverHeartbeat: (incarnation, sequence) => {
          if (this.conn === conn) this.heartbeater?.heartbeatReceived(incarnation, sequence);
        },
        commandReceived: () => {
          if (this.conn === conn) this.commandSeen = true;
        },
        sendFailed: () => {
          if (this.conn === conn) {
            this.log.warn(`${this.prefix} Triggering reconfigure`);
            this.setDeadline(SEND_FAILURE_DELAY_S, true);
          }
        },
      },
    });
    this.conn = conn;
    this.commandSeen = false;
    if (this.silenceTimer !== undefined) clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
    if (checkSilence && this.silenceMs > 0 && !conn.legacy) {
      this.silenceTimer = setTimeout(() => {
        this.silenceTimer = undefined;
        if (this.conn !== conn || this.commandSeen || this.stopping) return;
        this.log.warn(
          `${this.prefix} No messages being received on command port in ${Math.round(this.silenceMs / 1000)}s. ` +
            'Possible encryption problem?',
        );
        // Whatever this server committed the runner to, it cannot reach it any more.
        this.runnerPort.releaseCommitted('the command channel stayed silent');
        void this.reconfigure('command channel silent');
      }, this.silenceMs);
    }
  }

  /** Sends the replies kept while no live server was reachable, once one is. */
  private flushPending(): void {
    const conn = this.conn;
    if (conn === undefined || this.heartbeater?.online !== true || this.pendingReplies.length === 0) return;
    const pending = this.pendingReplies;
    this.pendingReplies = [];
    for (const reply of pending) void conn.sendReply(reply);
  }

  /**
   * The server went offline (A.14): release a committed job (its `run` would go to the old
   * connection) and re-fetch the config (see {@link Agent}).
   */
  private serverWentOffline(): void {
    if (this.stopping) return;
    this.runnerPort.releaseCommitted('the server went offline');
    if (this.refetch.active) return;
    this.reopenedSinceOffline = false;
    this.log.info(
      `${this.prefix} Server offline, re-fetching config from ${this.servers.order('next').join(', then ')}`,
    );
    this.refetch.start();
  }

  /**
   * Server heartbeats flow again: no more re-fetching (unless they come from a new incarnation:
   * its config, with its new keys, is still to be fetched); send what was kept.
   */
  private serverBackOnline(): void {
    const restarted = this.heartbeater?.serverIncarnationId !== this.fetched.config.incarnation_id;
    if (this.refetch.active && !restarted) {
      this.refetch.stop();
      this.log.info(
        `${this.prefix} Server back online at ${this.fetched.config.push_jobs.heartbeat.command_addr}; ` +
          'stopped re-fetching config',
      );
    }
    this.flushPending();
  }

  /**
   * One round of the re-fetch: after any reconfigure under way (a restart, a silent command
   * channel, periodic, requested), unless that one settled things.
   */
  private async refetchRound(round: number): Promise<boolean> {
    while (this.reconfiguring !== undefined) await this.reconfiguring.catch(() => false);
    if (this.stopping || !this.refetch.active) return true;
    return this.runReconfigure(round === 1 ? 'server offline' : `server offline, try ${round}`, true);
  }

  /** A round of the re-fetch failed: one line (rate-limited), naming the servers and the next try. */
  private refetchFailed(delayMs: number, error: unknown): void {
    const what = error === undefined ? 'no config' : withoutQuery(errorMessage(error));
    const urls = this.servers.order('next');
    const from = urls.length === 1 ? urls[0]! : 'any server';
    const line = `${this.prefix} Could not fetch config from ${from} (${what}); next try in ${(delayMs / 1000).toFixed(delayMs < 1000 ? 2 : 1)} s`;
    if (this.refetchThrottle.shouldShow(what)) this.log.warn(line);
    else this.log.debug(line);
  }

  /** The sockets that went silent are rebuilt on the cached config (A.14's fallback). */
  private async reopenOnCachedConfig(): Promise<void> {
    this.reopenedSinceOffline = true;
    this.log.info(`${this.prefix} Closing and reopening sockets since server is down ...`);
    const old = this.conn;
    this.conn = undefined;
    await old?.close();
    if (this.stopping || this.conn !== undefined) return;
    // No silence check: the re-fetch is under way already.
    this.openSockets(false);
    this.log.info(`${this.prefix} Done closing and reopening sockets.`);
  }

  /** Sets the reconfigure deadline `seconds` ahead, less a 0-10 % splay (A.15). */
  private setDeadline(seconds: number, onlyEarlier = false): void {
    const at =
      seconds > 0 ? Date.now() + seconds * 1000 * (1 - this.random() * 0.1) : Number.POSITIVE_INFINITY;
    if (onlyEarlier && at >= this.deadline) return;
    this.deadline = at;
    if (Number.isFinite(at)) {
      this.log.info(`${this.prefix} Reconfigure deadline set to ${new Date(at).toISOString()}`);
    }
  }

  /** One reconfigure at a time; resolves whether it is done (see {@link doReconfigure}). */
  private runReconfigure(reason: string, afterOffline: boolean): Promise<boolean> {
    if (this.stopping) return Promise.resolve(true);
    if (this.reconfiguring !== undefined) return this.reconfiguring;
    this.reconfiguring = this.doReconfigure(reason, afterOffline).finally(() => {
      this.reconfiguring = undefined;
    });
    return this.reconfiguring;
  }

  /**
   * Fetches the config and starts on it. Resolves true when done (or stopping), false when a
   * fetch of an ordinary reconfigure failed (logged; the deadline retries it). With
   * `afterOffline` (the server went offline) the servers are tried from the one after the
   * current one, a failure reopens the sockets on the cached config once and rejects (the
   * re-fetch loop logs it and tries again), and a config of the same server keeps sockets that
   * were already rebuilt since the server went offline.
   */
  private async doReconfigure(reason: string, afterOffline: boolean): Promise<boolean> {
    let logged = false;
    // A committed job either runs soon, is aborted, or is released: by the runner's own bound,
    // or where the agent learns that its server is gone (a restart, silence, going offline).
    while (!this.stopping && this.runnerPort.state().state === 'committed') {
      if (!logged) this.log.info(`${this.prefix} Job committed, delaying reconfigure until it runs`);
      logged = true;
      await new Promise((resolve) => setTimeout(resolve, COMMITTED_POLL_MS));
    }
    if (this.stopping) return true;
    // The first line of a re-fetch says it all; its later rounds are quieter.
    const quiet = afterOffline && this.refetch.roundsRun > 1;
    const log = quiet ? debugOnly(this.log) : this.log;
    log.info(`${this.prefix} Reconfiguring client / reloading keys (${reason}) ...`);
    if (!afterOffline) this.setDeadline(FETCH_FAILURE_DELAY_S);
    let next: { value: FetchedConfig; url: string };
    try {
      next = await fetchFirstAnswering(
        this.servers.order(afterOffline ? 'next' : 'current'),
        (url) =>
          fetchAgentConfig(this.identity, log, afterOffline ? this.refetchTimeoutMs : FETCH_TIMEOUT_MS, url),
        { describe: (err) => withoutQuery(errorMessage(err)) },
      );
    } catch (err) {
      if (!afterOffline) {
        this.log.error(`${this.prefix} Error reconfiguring: ${withoutQuery(errorMessage(err))}`);
        return false;
      }
      if (!this.reopenedSinceOffline && !this.stopping) await this.reopenOnCachedConfig();
      throw err;
    }
    if (this.stopping) return true;
    const previous = this.fetched;
    const keepSockets =
      afterOffline &&
      this.reopenedSinceOffline &&
      this.conn !== undefined &&
      sameConnectionConfig(previous, next.value);
    this.heartbeater?.stop();
    this.heartbeater = undefined;
    if (!keepSockets) {
      const old = this.conn;
      this.conn = undefined;
      await old?.close();
      if (this.stopping) return true;
    }
    const urlChanged = next.url !== this.servers.current;
    this.fetched = next.value;
    this.servers.use(next.url);
    this.connect(keepSockets);
    this.reconfigureCount += 1;
    const was = previous.config.push_jobs.heartbeat;
    const now = next.value.config.push_jobs.heartbeat;
    if (was.command_addr !== now.command_addr || was.out_addr !== now.out_addr) {
      this.moveCount += 1;
      this.log.info(
        `${this.prefix} Moved to server ${next.value.config.host} (commands ${now.command_addr}, ` +
          `heartbeats ${now.out_addr}, incarnation ${next.value.config.incarnation_id}) via ${next.url}`,
      );
    } else if (urlChanged) {
      this.log.info(`${this.prefix} Now using server ${next.url} (same server ${next.value.config.host})`);
    }
    if (keepSockets) this.log.info(`${this.prefix} Same server; kept the reopened sockets`);
    this.log.info(`${this.prefix} Reconfigured client.`);
    return true;
  }
}

/** A logger whose info lines go to debug level (the repeated rounds of a re-fetch). */
function debugOnly(log: AgentLogger): AgentLogger {
  return {
    debug: (message) => log.debug(message),
    info: (message) => log.debug(message),
    warn: (message) => log.warn(message),
    error: (message) => log.error(message),
  };
}
