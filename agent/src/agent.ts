/**
 * The agent's lifecycle (client spec A.4, A.14, A.15, A.18): start-up (config fetch, sockets,
 * heartbeats), reconfiguration (periodic, on server restart, when the command channel stays
 * silent, on request) and shutdown. Signals and `process.exit` belong to the executable, not here,
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
  /** The runner's state. */
  job: ReturnType<JobRunnerPort['state']>;
}

/** Replies kept while the agent swaps its connection (sent on the new one). */
const MAX_PENDING_REPLIES = 16;
/** How often a reconfigure checks whether a committed job has started or been released, ms. */
const COMMITTED_POLL_MS = 50;

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

/** The push-jobs agent; see the module documentation. */
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
  private fetched: FetchedConfig;
  private conn: AgentConnection | undefined;
  private heartbeater: Heartbeater | undefined;
  private commandSeen = false;
  private silenceTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private deadline = Number.POSITIVE_INFINITY;
  private reconfiguring: Promise<void> | undefined;
  private reconfigureCount = 0;
  private stopping = false;
  private stoppedPromise: Promise<void> | undefined;
  private resolveRun: () => void = () => undefined;
  private readonly runPromise: Promise<void>;
  /** Replies the runner made while no connection was open (sent once one is). */
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
    const clientKeyPem =
      create.clientKeyPem ??
      (await withStartRetries(
        () => loadOrRegisterClientKey(options, log, tls),
        log,
        options.node_name,
        retries,
        create.signal,
      ));
    const { publicKey, secretKey } = curveKeyPair();
    const identity: AgentIdentity = {
      nodeName: options.node_name,
      clientName: options.client_name,
      clientKeyPem,
      hostname: options.hostname,
      orgName: options.org_name,
      chefServerUrl: options.chef_server_url,
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
    log.info(`${p} Using private key: ${options.client_key}`);
    log.info(`${p} Incarnation ID: ${identity.incarnationId}`);
    log.info(`${p} Allowing fallback to unencrypted connection: ${String(identity.allowUnencrypted)}`);
    const fetched = await withStartRetries(
      () => fetchAgentConfig(identity, log),
      log,
      identity.nodeName,
      retries,
      create.signal,
    );
    const agent = new Agent(identity, fetched, create);
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
    return {
      state: this.stopping ? 'stopped' : this.reconfiguring !== undefined ? 'reconfiguring' : 'running',
      serverOnline: this.heartbeater?.online ?? false,
      serverIncarnationId: this.heartbeater?.serverIncarnationId ?? this.fetched.config.incarnation_id,
      incarnationId: this.identity.incarnationId,
      commandChannelVerified: this.commandSeen,
      reconfigures: this.reconfigureCount,
      heartbeatsSent: this.heartbeater?.heartbeatsSent ?? 0,
      droppedMessages: this.conn?.dropped().length ?? 0,
      job: this.runnerPort.state(),
    };
  }

  /**
   * Sends a runner's reply on the current connection. While the agent swaps connections it is
   * kept and sent on the next one (a job's result must not be lost to a reconfigure); when
   * stopped it is dropped with a warning.
   */
  reply(reply: RunnerReply): void {
    const conn = this.conn;
    if (this.stopping) {
      this.log.warn(`${this.prefix} Dropping '${reply.type}' packet because client was stopped`);
      return;
    }
    if (conn === undefined) {
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
   * and the reconfigure deadline. A failed fetch keeps the old sockets and retries in about
   * 120 s. Concurrent calls share one reconfigure.
   *
   * Unlike the original it does not wait for a running job (the job goes on; its result goes
   * out on the new connection), so heartbeats, availability and aborts keep flowing while a long
   * command runs. A job committed but not running is waited for (its `run` would go to the old
   * connection); where the agent learns that its server is gone (a restart, a command channel
   * that stays silent, the server going offline) it is released first: its `run` can never come.
   */
  reconfigure(reason = 'requested'): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.reconfiguring !== undefined) return this.reconfiguring;
    this.reconfiguring = this.doReconfigure(reason).finally(() => {
      this.reconfiguring = undefined;
    });
    return this.reconfiguring;
  }

  /** Stops the heartbeats and timers and closes the sockets. Idempotent. */
  shutdown(): Promise<void> {
    if (this.stoppedPromise !== undefined) return this.stoppedPromise;
    this.stopping = true;
    this.log.info(`${this.prefix} Stopping client`);
    this.stoppedPromise = (async () => {
      this.clearTimers();
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

  /** Opens sockets, heartbeater and deadline from {@link fetched}. */
  private connect(): void {
    const { config } = this.fetched;
    this.openSockets();
    const heartbeater = new Heartbeater({
      heartbeat: config.push_jobs.heartbeat,
      serverIncarnationId: config.incarnation_id,
      log: this.log,
      logPrefix: this.prefix,
      random: this.random,
      hooks: {
        sendHeartbeat: () => void this.conn?.sendHeartbeat(),
        availabilityChanged: (online) => {
          if (!online && this.heartbeater === heartbeater) void this.reopenSockets();
        },
        serverRestarted: () => {
          if (this.heartbeater !== heartbeater) return;
          this.runnerPort.releaseCommitted('the server restarted');
          void this.reconfigure('server restart');
        },
      },
    });
    this.heartbeater = heartbeater;
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

  /** Opens a connection on the cached config and arms the command-silence check. */
  private openSockets(): void {
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
    const pending = this.pendingReplies;
    this.pendingReplies = [];
    for (const reply of pending) void conn.sendReply(reply);
    if (this.silenceTimer !== undefined) clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
    if (this.silenceMs > 0 && !conn.legacy) {
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

  /**
   * The server went offline: rebuild the sockets from the cached config, no fetch (A.14). A job
   * committed but not running is released: its `run` would go to the old connection.
   */
  private async reopenSockets(): Promise<void> {
    if (this.stopping || this.reconfiguring !== undefined) return;
    this.runnerPort.releaseCommitted('the server went offline');
    this.log.info(`${this.prefix} Closing and reopening sockets since server is down ...`);
    const old = this.conn;
    this.conn = undefined;
    await old?.close();
    if (this.stopping || this.reconfiguring !== undefined || this.conn !== undefined) return;
    this.openSockets();
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

  private async doReconfigure(reason: string): Promise<void> {
    let logged = false;
    // A committed job either runs soon, is aborted, or is released: by the runner's own bound,
    // or where the agent learns that its server is gone (a restart, silence, going offline).
    while (!this.stopping && this.runnerPort.state().state === 'committed') {
      if (!logged) this.log.info(`${this.prefix} Job committed, delaying reconfigure until it runs`);
      logged = true;
      await new Promise((resolve) => setTimeout(resolve, COMMITTED_POLL_MS));
    }
    if (this.stopping) return;
    this.log.info(`${this.prefix} Reconfiguring client / reloading keys (${reason}) ...`);
    this.setDeadline(FETCH_FAILURE_DELAY_S);
    let fetched: FetchedConfig;
    try {
      fetched = await fetchAgentConfig(this.identity, this.log);
    } catch (err) {
      this.log.error(`${this.prefix} Error reconfiguring: ${errorMessage(err)}`);
      return;
    }
    if (this.stopping) return;
    this.heartbeater?.stop();
    this.heartbeater = undefined;
    const old = this.conn;
    this.conn = undefined;
    await old?.close();
    if (this.stopping) return;
    this.fetched = fetched;
    this.connect();
    this.reconfigureCount += 1;
    this.log.info(`${this.prefix} Reconfigured client.`);
  }
}
