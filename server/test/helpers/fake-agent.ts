/**
 * A protocol-level push-jobs client for tests, over real sockets: it does what a real agent does
 * on the wire (client spec A.4-A.9, A.14) with a scripted behavior instead of running commands.
 *
 * - Generates a CURVE key pair and fetches its config with a signed
 *   `GET /organizations/ORG/pushy/config/NODE?ccpk=...&version=2.0` (signing version 1.3).
 * - Decrypts the session key; SUBscribes to `out_addr` and verifies the server heartbeats
 *   (`rsa2048_sha1`, with the config's `public_key`), recording the server incarnation and
 *   sequence.
 * - Connects a DEALER to `command_addr` (CURVE when the config has `curve_public_key`), sends a
 *   `heartbeat` every interval (the first at once), and answers `abort`, `commit` and `run` as its
 *   {@link Behavior} says. Every message in both directions is HMAC-signed with the session key.
 * - Like the real agent, it drops a periodic heartbeat that finds the DEALER's small send queue
 *   (SNDHWM 3) full, and waits for room for every other message: its replies and whatever a test
 *   sends. (A busy machine leaves libzmq's I/O thread behind; a burst of sends then finds the queue
 *   full, and a message dropped there would never reach the server.)
 *
 * Every timer is unref'd, and {@link FakeAgent.stop} leaves nothing running.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import {
  PROTOCOL_VERSION,
  decryptSessionKey,
  encodeMessage,
  formatHttpDate,
  openMessage,
  signRequest,
  validators,
  type ConfigDocument,
  type MessageBody,
} from '@push-jobs/protocol/internal';
import { until } from '@push-jobs/testing';
import type { PushFixture } from '@push-jobs/testing/push-server';
import { Dealer, Subscriber } from 'zeromq';
import { generateCurveKeyPair, type CurveKeyPair } from '../../src/zmq/curve-keys.js';

/** How the agent answers the server. */
export interface Behavior {
  /** Reply to `commit`: `ack_commit`, `nack_commit`, or nothing. @default 'ack' */
  onCommit: 'ack' | 'nack' | 'ignore';
  /** Reply to `run`: `ack_run`, `nack_run`, or nothing. @default 'ack' */
  onRun: 'ack' | 'nack' | 'ignore';
  /** What an acked run ends with, after {@link runDelayMs}; `none` runs until aborted. @default 'succeeded' */
  result: 'succeeded' | 'failed' | 'none';
  /** Milliseconds between `ack_run` and the result. @default 0 */
  runDelayMs: number;
  /** Output sent with the result when the commit asked for `capture`. */
  stdout?: string;
  /** Output sent with the result when the commit asked for `capture`. */
  stderr?: string;
  /** Whether to send client heartbeats. @default true */
  heartbeats: boolean;
}

/** The behavior of a real, healthy client. */
export const DEFAULT_BEHAVIOR: Readonly<Behavior> = Object.freeze({
  onCommit: 'ack',
  onRun: 'ack',
  result: 'succeeded',
  runDelayMs: 0,
  heartbeats: true,
});

/** Options of {@link FakeAgent.start}. */
export interface FakeAgentOptions {
  /** Base URL of the REST API, e.g. `http://127.0.0.1:PORT`. */
  apiUrl: string;
  org: string;
  /** Node name (also the client name unless {@link clientName} is given). */
  node: string;
  /** The client's RSA private key (PEM). */
  clientKeyPem: string;
  /** Client name that signs the config request. @default node */
  clientName?: string;
  behavior?: Partial<Behavior>;
  /** Milliseconds between client heartbeats. @default the config's `interval` */
  heartbeatIntervalMs?: number;
  /** The `client` field of messages (a short hostname). @default `${node}-host` */
  hostname?: string;
  /** Told what the agent does, one line at a time. */
  log?: (line: string) => void;
}

/** A verified message the agent received. */
export interface ReceivedMessage {
  /** `command` for the DEALER, `heartbeat` for the SUB socket. */
  channel: 'command' | 'heartbeat';
  type: string;
  body: MessageBody;
  /** The agent's incarnation when it arrived. */
  incarnationId: string;
  /** Epoch milliseconds of receipt. */
  at: number;
}

/** A message the agent dropped (bad frames, signature, timestamp). */
export interface RejectedMessage {
  channel: 'command' | 'heartbeat';
  code: string;
  message: string;
}

/** What the agent is doing, as it reports in `job_state`. */
export type AgentJobState = 'idle' | 'committed' | 'running';

/** Options of {@link FakeAgent.send}. */
export interface FakeSendOptions {
  /** Sign with this key instead of the session key (forged messages). */
  key?: Uint8Array;
  /** Send `fields` alone, without the envelope (node, client, ... job_id). @default true */
  envelope?: boolean;
  /**
   * When the DEALER's send queue is full: wait for room (true), or drop the message (false, as
   * the agent does with its periodic heartbeats). @default true
   */
  waitForRoom?: boolean;
}

interface Waiter {
  type: string;
  predicate: ((message: ReceivedMessage) => boolean) | undefined;
  resolve: (message: ReceivedMessage) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

interface Connection {
  config: ConfigDocument;
  sessionKey: Buffer;
  sub: Subscriber;
  dealer: Dealer;
  loops: Promise<void>[];
  sequence: number;
  sendChain: Promise<unknown>;
  heartbeatTimer: NodeJS.Timeout | undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function errorCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

/** A fake push-jobs client; see the module documentation. */
export class FakeAgent {
  /** The agent's settings. */
  readonly options: Readonly<FakeAgentOptions>;
  private behaviorValue: Behavior;
  private incarnation = randomUUID();
  private curve: CurveKeyPair = generateCurveKeyPair();
  private conn: Connection | undefined;
  private readonly receivedLog: ReceivedMessage[] = [];
  private readonly sentLog: MessageBody[] = [];
  private readonly rejectedLog: RejectedMessage[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly runTimers = new Set<NodeJS.Timeout>();
  private jobState: AgentJobState = 'idle';
  private currentJob: string | null = null;
  private capture = false;
  private serverIncarnationValue: string | undefined;
  private serverSequenceValue: number | undefined;
  private failedSends = 0;
  /** The server the agent talks to after {@link moveTo}. */
  private apiUrlOverride: string | undefined;

  private constructor(options: FakeAgentOptions) {
    this.options = options;
    this.behaviorValue = { ...DEFAULT_BEHAVIOR, ...options.behavior };
  }

  /** Creates the agent, fetches its config and connects. */
  static async start(options: FakeAgentOptions): Promise<FakeAgent> {
    const agent = new FakeAgent(options);
    await agent.connect();
    return agent;
  }

  /** The agent's incarnation ID (new at every {@link restart}). */
  get incarnationId(): string {
    return this.incarnation;
  }

  /** The agent's CURVE public key (Z85), sent as `ccpk`. */
  get curvePublicKey(): string {
    return this.curve.publicKey;
  }

  /** The config document of the current connection. */
  get config(): ConfigDocument {
    return this.connection().config;
  }

  /** The decrypted session key of the current connection. */
  get sessionKey(): Buffer {
    return Buffer.from(this.connection().sessionKey);
  }

  /** The server incarnation of the last verified server heartbeat. */
  get serverIncarnation(): string | undefined {
    return this.serverIncarnationValue;
  }

  /** The sequence of the last verified server heartbeat. */
  get serverSequence(): number | undefined {
    return this.serverSequenceValue;
  }

  /** The agent's job state and job. */
  get state(): { jobState: AgentJobState; jobId: string | null } {
    return { jobState: this.jobState, jobId: this.currentJob };
  }

  /** Sends that the DEALER refused (queue full or socket closed). */
  get sendFailures(): number {
    return this.failedSends;
  }

  /** The current behavior (a copy). */
  get behavior(): Behavior {
    return { ...this.behaviorValue };
  }

  /** Changes the behavior from now on; switching heartbeats on or off takes effect at once. */
  setBehavior(change: Partial<Behavior>): void {
    this.behaviorValue = { ...this.behaviorValue, ...change };
    if (this.conn !== undefined) this.scheduleHeartbeats(this.conn);
  }

  /** Verified messages received, in order, optionally of one type only. */
  received(type?: string): ReceivedMessage[] {
    return this.receivedLog.filter((m) => type === undefined || m.type === type);
  }

  /** Bodies sent on the command socket, in order, optionally of one type only. */
  sent(type?: string): MessageBody[] {
    return this.sentLog.filter((b) => type === undefined || b['type'] === type);
  }

  /** Messages dropped because they did not verify. */
  rejected(): RejectedMessage[] {
    return [...this.rejectedLog];
  }

  /** Forgets the received, sent and rejected messages. */
  clear(): void {
    this.receivedLog.length = 0;
    this.sentLog.length = 0;
    this.rejectedLog.length = 0;
  }

  /**
   * Resolves with the first message of `type` (matching `predicate`) received in the current
   * incarnation, already or within `timeoutMs`; rejects on timeout or {@link stop}.
   */
  waitFor(
    type: string,
    predicate?: (message: ReceivedMessage) => boolean,
    timeoutMs = 5000,
  ): Promise<ReceivedMessage> {
    const matches = (m: ReceivedMessage): boolean =>
      m.type === type && m.incarnationId === this.incarnation && (predicate === undefined || predicate(m));
    const found = this.receivedLog.find(matches);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<ReceivedMessage>((resolve, reject) => {
      const waiter: Waiter = {
        type,
        predicate: (m) => matches(m),
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`${this.options.node}: no '${type}' message within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      waiter.timer.unref();
      this.waiters.add(waiter);
    });
  }

  /**
   * Sends a message on the command socket: the envelope (spec 5.3 order) with `type`, where
   * `fields` replace envelope values in place and add the others at the end; signed with the
   * session key unless {@link FakeSendOptions.key} says otherwise. Sent after the messages sent
   * before it; waits for room in the send queue unless told not to. Resolves true once the DEALER
   * took the message, false when it did not (the queue was full and waiting was not asked, or the
   * socket closed); {@link sendFailures} counts those.
   */
  send(type: string, fields: Record<string, unknown> = {}, opts: FakeSendOptions = {}): Promise<boolean> {
    const conn = this.connection();
    const body = opts.envelope === false ? { type, ...fields } : this.envelope(conn, type, fields);
    const frames = encodeMessage(body, { method: 'hmac_sha256', key: opts.key ?? conn.sessionKey });
    this.sentLog.push(body);
    return this.enqueue(conn, frames, opts.waitForRoom ?? true);
  }

  /**
   * Sends arbitrary frames on the command socket (malformed messages), waiting for room like
   * {@link send}. Resolves true once the DEALER took them.
   */
  sendFrames(frames: Buffer[]): Promise<boolean> {
    return this.enqueue(this.connection(), frames, true);
  }

  /**
   * Ends the run in progress now, as if its {@link Behavior.runDelayMs} had elapsed, with `result`
   * (a run held with `result: 'none'` finishes when the test says). Resolves like {@link send};
   * false when no run is in progress.
   */
  finishRun(result: 'succeeded' | 'failed' = 'succeeded'): Promise<boolean> {
    const jobId = this.currentJob;
    if (this.jobState !== 'running' || jobId === null) return Promise.resolve(false);
    this.cancelRun();
    return this.sendResult(jobId, result);
  }

  /**
   * Ends the running job without telling the server, as if its result went to a server that went
   * away: the agent is idle from now on (its heartbeats say so). False when nothing runs.
   */
  loseResult(): boolean {
    if (this.jobState !== 'running') return false;
    this.cancelRun();
    this.goIdle();
    return true;
  }

  /** Closes the sockets and stops every timer; pending {@link waitFor}s reject. Idempotent. */
  async stop(): Promise<void> {
    for (const timer of this.runTimers) clearTimeout(timer);
    this.runTimers.clear();
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`${this.options.node}: agent stopped`));
    }
    this.waiters.clear();
    await this.disconnect();
  }

  /**
   * Moves to another server (another cluster instance) as an agent does when its server went
   * silent: closes its sockets, fetches its config from `apiUrl` and connects there, keeping its
   * incarnation, its keys and the job it holds (a running job goes on; its result goes to the
   * new server).
   */
  async moveTo(apiUrl: string): Promise<void> {
    await this.disconnect();
    this.apiUrlOverride = apiUrl;
    this.serverIncarnationValue = undefined;
    this.serverSequenceValue = undefined;
    await this.connect();
  }

  /**
   * Starts over as a new process would: a new incarnation ID and CURVE key pair, a fresh config
   * fetch, new sockets, sequence from 1, idle.
   */
  async restart(): Promise<void> {
    for (const timer of this.runTimers) clearTimeout(timer);
    this.runTimers.clear();
    await this.disconnect();
    this.incarnation = randomUUID();
    this.curve = generateCurveKeyPair();
    this.goIdle();
    this.serverIncarnationValue = undefined;
    this.serverSequenceValue = undefined;
    await this.connect();
  }

  // -------------------------------------------------------------------------------------------

  private log(line: string): void {
    this.options.log?.(`[${this.options.node}] ${line}`);
  }

  private connection(): Connection {
    if (this.conn === undefined) throw new Error(`${this.options.node}: agent is not connected`);
    return this.conn;
  }

  /** Fetches the config as a client does (client spec A.4). */
  private async fetchConfig(): Promise<{ config: ConfigDocument; sessionKey: Buffer }> {
    const { org, node, clientKeyPem } = this.options;
    const apiUrl = this.apiUrlOverride ?? this.options.apiUrl;
    const path = `/organizations/${encodeURIComponent(org)}/pushy/config/${encodeURIComponent(node)}`;
    const url = `${apiUrl.replace(/\/+$/, '')}${path}?ccpk=${encodeURIComponent(this.curve.publicKey)}&version=2.0`;
    const headers = signRequest({
      method: 'GET',
      path,
      userId: this.options.clientName ?? node,
      privateKey: clientKeyPem,
      version: '1.3',
    });
    this.log(`Retrieving configuration from ${url}`);
    const res = await fetch(url, { headers: { accept: 'application/json', ...headers } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${node}: config fetch failed: ${res.status} ${text}`);
    const config = validators.configDocument.assert(JSON.parse(text) as unknown);
    const encoded = config.encoded_session_key;
    const sessionKey = encoded === undefined ? undefined : decryptSessionKey(encoded.key, clientKeyPem);
    if (sessionKey === undefined) throw new Error(`${node}: No session key found in config`);
    return { config, sessionKey };
  }

  private async connect(): Promise<void> {
    const { config, sessionKey } = await this.fetchConfig();
    const hb = config.push_jobs.heartbeat;
    const sub = new Subscriber({ linger: 0 });
    const curve =
      config.curve_public_key === undefined
        ? {}
        : {
            curveServerKey: config.curve_public_key,
            curvePublicKey: this.curve.publicKey,
            curveSecretKey: this.curve.secretKey,
          };
    const dealer = new Dealer({
      linger: 0,
      receiveHighWaterMark: 0,
      sendHighWaterMark: 3,
      sendTimeout: 0,
      ...curve,
    });
    sub.subscribe();
    sub.connect(hb.out_addr);
    dealer.connect(hb.command_addr);
    const conn: Connection = {
      config,
      sessionKey,
      sub,
      dealer,
      loops: [],
      sequence: 0,
      sendChain: Promise.resolve(),
      heartbeatTimer: undefined,
    };
    conn.loops.push(this.receiveLoop(conn, 'heartbeat'), this.receiveLoop(conn, 'command'));
    this.conn = conn;
    this.log(`Started client (incarnation ${this.incarnation})`);
    this.scheduleHeartbeats(conn);
  }

  private async disconnect(): Promise<void> {
    const conn = this.conn;
    if (conn === undefined) return;
    this.conn = undefined;
    if (conn.heartbeatTimer !== undefined) clearInterval(conn.heartbeatTimer);
    conn.heartbeatTimer = undefined;
    conn.sub.close();
    conn.dealer.close();
    await Promise.all(conn.loops);
    await conn.sendChain;
  }

  private scheduleHeartbeats(conn: Connection): void {
    if (conn.heartbeatTimer !== undefined) clearInterval(conn.heartbeatTimer);
    conn.heartbeatTimer = undefined;
    if (!this.behaviorValue.heartbeats) return;
    const interval = this.options.heartbeatIntervalMs ?? conn.config.push_jobs.heartbeat.interval * 1000;
    const beat = (): void => {
      if (this.conn !== conn) return;
      void this.send('heartbeat', {}, { waitForRoom: false });
    };
    beat();
    conn.heartbeatTimer = setInterval(beat, interval);
    conn.heartbeatTimer.unref();
  }

  private envelope(conn: Connection, type: string, fields: Record<string, unknown>): MessageBody {
    conn.sequence += 1;
    const body: MessageBody = {
      node: this.options.node,
      client: this.options.hostname ?? `${this.options.node}-host`,
      protocol_version: PROTOCOL_VERSION,
      org: this.options.org,
      type,
      sequence: conn.sequence,
      timestamp: formatHttpDate(new Date()),
      incarnation_id: this.incarnation,
      ...(type === 'heartbeat' ? { job_state: this.jobState } : {}),
      job_id: this.currentJob,
    };
    // Object spread keeps the position of keys that already exist and appends the others.
    return { ...body, ...fields };
  }

  /**
   * Sends `frames` after every earlier send (zeromq.js allows one send in flight). The DEALER's
   * send timeout is 0: a full queue refuses at once (EAGAIN). Then, with `waitForRoom`, the send is
   * made again with no timeout, and zeromq.js resolves it when libzmq has room (or rejects it when
   * the socket closes).
   */
  private enqueue(conn: Connection, frames: Buffer[], waitForRoom: boolean): Promise<boolean> {
    const sent = conn.sendChain.then(async () => {
      const { dealer } = conn;
      if (dealer.closed) {
        this.failedSends++;
        return false;
      }
      try {
        await dealer.send(frames);
        return true;
      } catch (err) {
        if (!waitForRoom || dealer.closed || errorCode(err) !== 'EAGAIN') {
          this.failedSends++;
          this.log(`ZMQ socket enqueue error: ${errorMessage(err)}`);
          return false;
        }
      }
      dealer.sendTimeout = -1;
      try {
        await dealer.send(frames);
        return true;
      } catch (err) {
        this.failedSends++;
        this.log(`ZMQ socket enqueue error: ${errorMessage(err)}`);
        return false;
      } finally {
        if (!dealer.closed) dealer.sendTimeout = 0;
      }
    });
    conn.sendChain = sent;
    return sent;
  }

  private async receiveLoop(conn: Connection, channel: 'command' | 'heartbeat'): Promise<void> {
    const socket = channel === 'command' ? conn.dealer : conn.sub;
    try {
      for await (const frames of socket) {
        this.onFrames(conn, channel, frames);
      }
    } catch (err) {
      if (!socket.closed) this.log(`Error in ${channel} receive loop: ${errorMessage(err)}`);
    }
  }

  private onFrames(conn: Connection, channel: 'command' | 'heartbeat', frames: Buffer[]): void {
    if (this.conn !== conn) return;
    const maxSkewSeconds = conn.config.max_message_skew;
    const opened =
      channel === 'command'
        ? openMessage(frames, () => conn.sessionKey, { maxSkewSeconds })
        : openMessage(frames, conn.config.public_key, { maxSkewSeconds });
    if (!opened.ok) {
      this.rejectedLog.push({ channel, code: opened.error.code, message: opened.error.message });
      this.log(`Received invalid message on ${channel}: ${opened.error.message}`);
      return;
    }
    const body = opened.body;
    const type = typeof body['type'] === 'string' ? body['type'] : '';
    const message: ReceivedMessage = { channel, type, body, incarnationId: this.incarnation, at: Date.now() };
    this.receivedLog.push(message);
    try {
      if (channel === 'heartbeat') this.onServerHeartbeat(body);
      else this.onCommand(type, body);
    } finally {
      for (const waiter of this.waiters) {
        if (waiter.type !== type || (waiter.predicate !== undefined && !waiter.predicate(message))) continue;
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        waiter.resolve(message);
      }
    }
  }

  private onServerHeartbeat(body: MessageBody): void {
    const incarnation = body['incarnation_id'];
    const sequence = body['sequence'];
    if (typeof incarnation === 'string') {
      if (this.serverIncarnationValue !== undefined && this.serverIncarnationValue !== incarnation) {
        this.log(
          `Server restart detected (incarnation ID changed from ${this.serverIncarnationValue} to ${incarnation})`,
        );
      }
      this.serverIncarnationValue = incarnation;
    }
    if (typeof sequence === 'number') this.serverSequenceValue = sequence;
  }

  private onCommand(type: string, body: MessageBody): void {
    const jobId = typeof body['job_id'] === 'string' ? body['job_id'] : null;
    switch (type) {
      case 'abort': {
        const was = this.currentJob;
        this.cancelRun();
        this.goIdle();
        void this.send('aborted', { job_id: was });
        return;
      }
      case 'ack':
        return;
      case 'commit':
        this.onCommit(jobId, body);
        return;
      case 'run':
        this.onRun(jobId);
        return;
      default:
        this.log(`Unknown message type '${type}'`);
    }
  }

  private onCommit(jobId: string | null, body: MessageBody): void {
    const reply = this.behaviorValue.onCommit;
    if (reply === 'ignore') return;
    const busy = this.jobState !== 'idle' && this.currentJob !== jobId;
    if (reply === 'nack' || jobId === null || busy) {
      void this.send('nack_commit', { job_id: jobId });
      return;
    }
    this.jobState = 'committed';
    this.currentJob = jobId;
    this.capture = body['capture'] === true;
    void this.send('ack_commit', { job_id: jobId });
  }

  private onRun(jobId: string | null): void {
    const reply = this.behaviorValue.onRun;
    if (reply === 'ignore') return;
    const committed = this.jobState === 'committed' && jobId !== null && this.currentJob === jobId;
    if (reply === 'nack' || !committed) {
      if (committed) this.goIdle();
      void this.send('nack_run', { job_id: jobId });
      return;
    }
    this.jobState = 'running';
    void this.send('ack_run', { job_id: jobId });
    const { result, runDelayMs } = this.behaviorValue;
    if (result === 'none') return;
    const timer = setTimeout(() => {
      this.runTimers.delete(timer);
      if (this.currentJob !== jobId || this.jobState !== 'running') return;
      void this.sendResult(jobId, result);
    }, runDelayMs);
    timer.unref();
    this.runTimers.add(timer);
  }

  /** Ends the run of `jobId` with `result`, sending the output when the commit asked for it. */
  private sendResult(jobId: string, result: 'succeeded' | 'failed'): Promise<boolean> {
    const output: Record<string, unknown> = {};
    if (this.capture) {
      if (this.behaviorValue.stdout !== undefined) output['stdout'] = this.behaviorValue.stdout;
      if (this.behaviorValue.stderr !== undefined) output['stderr'] = this.behaviorValue.stderr;
    }
    this.goIdle();
    return this.send(result, { job_id: jobId, ...output });
  }

  private cancelRun(): void {
    for (const timer of this.runTimers) clearTimeout(timer);
    this.runTimers.clear();
  }

  private goIdle(): void {
    this.jobState = 'idle';
    this.currentJob = null;
    this.capture = false;
  }
}

/**
 * Starts a fake agent for `node` of a fixture's org (its client created first, heartbeats every
 * 100 ms), adds it to `started` (for the test's clean-up) and waits until the server holds the
 * node available.
 */
export async function availableFakeAgent(
  h: PushFixture,
  started: FakeAgent[],
  node: string,
  behavior: Partial<Behavior> = {},
): Promise<FakeAgent> {
  const key = await h.createClient(node);
  const agent = await FakeAgent.start({
    apiUrl: h.apiUrl,
    org: h.org,
    node,
    clientKeyPem: key,
    behavior,
    heartbeatIntervalMs: 100,
  });
  started.push(agent);
  await until(() => h.server.tracker.isAvailable(h.org, node), `${node} available`);
  return agent;
}
