/**
 * The agent's wire side (client spec A.4-A.9, A.16): the signed config fetch, the session key,
 * the SUB (server heartbeats) and DEALER (commands) sockets, message verification and dispatch,
 * and the outgoing envelope.
 *
 * One {@link AgentConnection} lives from one (re)configure to the next; the agent builds a new
 * one each time (the outgoing sequence starts again from 1).
 *
 * @module
 */
import {
  ApiTlsError,
  DEFAULT_MAX_MESSAGE_SKEW_SECONDS,
  PROTOCOL_VERSION,
  decryptSessionKey,
  encodeMessage,
  formatHttpDate,
  openMessage,
  SequenceTracker,
  liteValidators,
  type AgentJobState,
  type ClientEnvelope,
  type ClientMessageType,
  type CommitMessage,
  type ConfigDocument,
  type MessageBody,
  type OutputMessage,
  type ServerMessage,
  type SignatureMemo,
  errorMessage,
  ERROR_CODES,
  PushJobsError,
} from '@push-jobs/protocol/lite';
import { Dealer, Subscriber } from 'zeromq';
import { ReplayGuard } from './replay-guard.js';
import { retryInterrupted, zmqErrorCode } from './zmq-retry.js';
import { agentApiClient, type AgentTlsOptions } from './http.js';
import type { CommitOptions, JobRunnerPort, RunnerReply, RunnerResultFields } from './runner-types.js';
import type { OutputChunk } from './output-stream.js';
import { SendQueue, type Frames } from './send-queue.js';
import { SILENT_LOGGER, type AgentLogger } from './log.js';

// The agent's logger role lives in log.ts; long exported from here too.
export { SILENT_LOGGER, type AgentLogger };

/** A CURVE key pair, Z85 text (40 characters each). */
export interface CurveKeyPair {
  publicKey: string;
  secretKey: string;
}

/** Who the agent is: fixed for the life of the process. */
export interface AgentIdentity {
  /** The `node` field and the node in the config URL. */
  nodeName: string;
  /** The client that signs the config request. */
  clientName: string;
  /** The client's RSA private key (PEM). */
  clientKeyPem: string;
  /** The `client` field (short hostname). */
  hostname: string;
  /** The `org` field. */
  orgName: string;
  /** `https://host/organizations/ORG`: the first of {@link chefServerUrls}. */
  chefServerUrl: string;
  /**
   * Every server URL the agent may use, in order (`chef_server_urls`); all of the same org.
   * @default [chefServerUrl]
   */
  chefServerUrls?: readonly string[];
  /** The agent's per-process incarnation id (UUID). */
  incarnationId: string;
  /** The agent's per-process CURVE key pair. */
  curve: CurveKeyPair;
  /** Whether a config without `curve_public_key` may be used unencrypted (1.x fallback). */
  allowUnencrypted: boolean;
  /** Largest outgoing message body, in bytes (A.16). */
  maxBodySize: number;
  /** TLS settings of the config fetch. @default verify with Node's roots */
  tls?: AgentTlsOptions;
}

/** Why the agent cannot start; {@link exitCode} is what the original process exited with. */
export class AgentStartError extends PushJobsError {
  /** 1: no CURVE key from the server; 255: no session key; 2: anything else (config fetch). */
  readonly exitCode: number;
  /** Whether trying again may help (the server was unreachable or answered 5xx). */
  readonly retryable: boolean;

  constructor(message: string, exitCode: number, retryable = false) {
    super(retryable ? ERROR_CODES.UNAVAILABLE : ERROR_CODES.CONFIG, message);
    this.exitCode = exitCode;
    this.retryable = retryable;
  }
}

/** A fetched and checked config with its decrypted session key. */
export interface FetchedConfig {
  config: ConfigDocument;
  sessionKey: Buffer;
  /** True when the server gave no CURVE key and the agent runs unencrypted (legacy mode). */
  legacy: boolean;
}

/**
 * The URL of the config document (A.4): `pushy/config/NODE?ccpk=...&version=2.0`, under
 * `serverUrl` (by default the identity's `chefServerUrl`).
 */
export function configUrl(identity: AgentIdentity, serverUrl = identity.chefServerUrl): URL {
  const base = serverUrl.endsWith('/') ? serverUrl : `${serverUrl}/`;
  const url = new URL(`pushy/config/${encodeURIComponent(identity.nodeName)}`, base);
  url.search = `?ccpk=${encodeURIComponent(identity.curve.publicKey)}&version=2.0`;
  return url;
}

/**
 * Fetches the config with a signed GET (A.4) from `serverUrl` (by default the identity's
 * `chefServerUrl`; one of `chef_server_urls`), validates it, checks the encryption mode (A.5)
 * and decrypts the session key. Throws {@link AgentStartError}.
 */
export async function fetchAgentConfig(
  identity: AgentIdentity,
  log: AgentLogger = SILENT_LOGGER,
  timeoutMs = 30_000,
  serverUrl = identity.chefServerUrl,
): Promise<FetchedConfig> {
  const url = configUrl(identity, serverUrl);
  log.info(`[${identity.nodeName}] Retrieving configuration from ${url.href}`);
  let status: number;
  let text: string;
  const client = agentApiClient(
    serverUrl,
    identity.clientName,
    identity.clientKeyPem,
    identity.tls,
    timeoutMs,
  );
  try {
    const res = await client.requestRaw('GET', url.href);
    status = res.status;
    text = res.body.toString('utf8');
  } catch (err) {
    // A certificate problem does not go away by itself; a network one may.
    const retryable = !(err instanceof ApiTlsError);
    throw new AgentStartError(`Could not download push jobs config: ${errorMessage(err)}`, 2, retryable);
  } finally {
    client.close();
  }
  if (status !== 200) {
    throw new AgentStartError(
      `Could not download push jobs config: HTTP ${status} ${text.slice(0, 200)}`,
      2,
      status >= 500,
    );
  }
  let config: ConfigDocument;
  try {
    config = liteValidators.configDocument.assert(JSON.parse(text) as unknown);
  } catch (err) {
    throw new AgentStartError(`Could not download push jobs config: ${errorMessage(err)}`, 2);
  }
  let legacy = false;
  if (config.curve_public_key === undefined) {
    if (!identity.allowUnencrypted) {
      throw new AgentStartError(
        'Exiting: No key returned from server; server may be using 1.x protocol. ' +
          'Set allow_unencrypted to connect without encryption.',
        1,
      );
    }
    log.warn(
      `[${identity.nodeName}] No key returned from server; falling back to 1.x protocol (no encryption)`,
    );
    legacy = true;
  }
  const encoded = config.encoded_session_key;
  const sessionKey =
    encoded === undefined ? undefined : decryptSessionKey(encoded.key, identity.clientKeyPem);
  if (sessionKey === undefined) throw new AgentStartError('No session key found in config', 255);
  return { config, sessionKey, legacy };
}

/** What the connection reports to the agent. */
export interface ConnectionEvents {
  /** A verified server heartbeat. */
  serverHeartbeat(incarnationId: string, sequence: number): void;
  /**
   * A verified message arrived on the command socket (the channel works), whether or not it is
   * a well-formed server message; `type` is its `type` as sent ('' when it has none).
   */
  commandReceived(type: string): void;
  /** The DEALER refused a message (A.6: move the reconfigure deadline). */
  sendFailed(error: unknown): void;
}

/** Options of {@link AgentConnection.open}. */
export interface AgentConnectionOptions {
  identity: AgentIdentity;
  fetched: FetchedConfig;
  runner: JobRunnerPort;
  events: ConnectionEvents;
  log?: AgentLogger;
  /** Where server heartbeats come from. @default a SUB socket of this connection's own */
  heartbeatFeed?: HeartbeatFeed;
}

/**
 * A source of the server's heartbeat frames (PUB, `out_addr`). Each connection opens its own
 * SUB socket by default; a process running many agents (the fleet simulator) may share one
 * SUB socket per address instead ({@link SharedHeartbeatFeed}), since each SUB connection costs
 * the server a file descriptor. Every agent still checks every heartbeat itself (timestamp,
 * sequence, contents); a shared feed may offer a {@link SignatureMemo} so that the RSA signature
 * of one published frame is verified once for all of them.
 */
export interface HeartbeatFeed {
  /** Delivers the frames published at `outAddr` to `listener` until the returned function is called. */
  subscribe(outAddr: string, listener: (frames: Buffer[]) => void): () => void;
  /** Shares signature verdicts of the frames this feed hands to several listeners. */
  readonly signatureMemo?: SignatureMemo;
}

/** One message that did not verify, kept for inspection. */
export interface DroppedMessage {
  channel: 'command' | 'heartbeat';
  code: string;
  message: string;
}

/** How long a job reply waits for room in the DEALER's send queue (SNDHWM 3) before it is dropped. */
const REPLY_SEND_PATIENCE_MS = 10_000;

/** A reply that waited this long for room in the send queue is logged. */
const SLOW_SEND_WARN_MS = 1000;

/**
 * An output chunk waiting for room in the send queue looks this often whether a control message
 * came meanwhile (which then goes first), ms.
 */
const OUTPUT_WAIT_SLICE_MS = 20;

/** The most {@link AgentConnection.dropped} entries kept. */
const MAX_DROPPED_KEPT = 100;

/** The schema problems named in the log line of a message that does not match. */
const MAX_SCHEMA_ERRORS_LOGGED = 5;

/** Fails to compile when a message type is left unhandled by a switch over `type`. */
function unhandled(message: never): never {
  throw new Error(`unhandled server message ${JSON.stringify(message)}`);
}

/** The live sockets of one configuration; see the module documentation. */
export class AgentConnection {
  /** The config this connection was built from. */
  readonly config: ConfigDocument;
  /** Whether the command socket runs without CURVE. */
  readonly legacy: boolean;
  private readonly identity: AgentIdentity;
  private readonly sessionKey: Buffer;
  private readonly runner: JobRunnerPort;
  private readonly events: ConnectionEvents;
  private readonly log: AgentLogger;
  /** The connection's own SUB socket, unless a shared {@link HeartbeatFeed} is used. */
  private readonly sub: Subscriber | undefined;
  private readonly unsubscribe: (() => void) | undefined;
  /** Offered by a shared {@link HeartbeatFeed}: one RSA verify per published heartbeat. */
  private readonly signatureMemo: SignatureMemo | undefined;
  private readonly dealer: Dealer;
  private readonly loops: Promise<void>[];
  private readonly droppedLog: DroppedMessage[] = [];
  private sequence = 0;
  /** Server heartbeats: `sequence` must go forward per server incarnation. */
  private readonly heartbeatSequences = new SequenceTracker({ maxPeers: 4 });
  /** Commands: the same signed message is never acted on twice. */
  private readonly replayGuard: ReplayGuard;
  /** Control messages first, then live output (see {@link SendQueue}). */
  private readonly queue: SendQueue;
  private closedValue = false;
  /** Whether the last send failed: a failing streak is logged once, and its end once. */
  private sendFailing = false;

  private constructor(options: AgentConnectionOptions) {
    const { identity, fetched } = options;
    this.identity = identity;
    this.config = fetched.config;
    this.sessionKey = fetched.sessionKey;
    this.legacy = fetched.legacy;
    this.runner = options.runner;
    this.events = options.events;
    this.log = options.log ?? SILENT_LOGGER;
    this.queue = new SendQueue({
      transmit: (frames, deadline, yieldTo) => this.sendWithin(frames, deadline, yieldTo),
      controlSent: (type, waited) => this.controlSent(type, waited),
      controlFailed: (type, err) => this.controlFailed(err),
      outputDropped: (count) => this.outputDropped(count),
    });
    this.replayGuard = new ReplayGuard(
      this.config.max_message_skew > 0 ? this.config.max_message_skew : DEFAULT_MAX_MESSAGE_SKEW_SECONDS,
    );
    const hb = this.config.push_jobs.heartbeat;
    if (options.heartbeatFeed === undefined) {
      this.sub = retryInterrupted(() => new Subscriber({ linger: 0 }));
    } else {
      this.signatureMemo = options.heartbeatFeed.signatureMemo;
      this.unsubscribe = options.heartbeatFeed.subscribe(hb.out_addr, (frames) =>
        this.onFrames('heartbeat', frames),
      );
    }
    const curve =
      fetched.legacy || this.config.curve_public_key === undefined
        ? {}
        : {
            curveServerKey: this.config.curve_public_key,
            curvePublicKey: identity.curve.publicKey,
            curveSecretKey: identity.curve.secretKey,
          };
    this.dealer = retryInterrupted(
      () =>
        new Dealer({
          linger: 0,
          receiveHighWaterMark: 0,
          sendHighWaterMark: 3,
          sendTimeout: 0,
          ...curve,
        }),
    );
    const sub = this.sub;
    if (sub !== undefined) {
      retryInterrupted(() => sub.subscribe());
      retryInterrupted(() => sub.connect(hb.out_addr));
    }
    retryInterrupted(() => this.dealer.connect(hb.command_addr));
    this.loops = [
      this.receiveLoop('command'),
      ...(this.sub === undefined ? [] : [this.receiveLoop('heartbeat')]),
    ];
  }

  /** Opens the SUB and DEALER sockets and starts receiving (A.6). */
  static open(options: AgentConnectionOptions): AgentConnection {
    return new AgentConnection(options);
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.closedValue;
  }

  /** The last messages that failed verification (at most 100). */
  dropped(): DroppedMessage[] {
    return [...this.droppedLog];
  }

  /** Sends a client `heartbeat` with the runner's job state (A.9). */
  sendHeartbeat(): Promise<void> {
    const { state, jobId } = this.runner.state();
    return this.send('heartbeat', jobId, {}, state);
  }

  /**
   * Sends a runner's reply in the envelope (A.9), applying the size limits (A.16). An `output`
   * chunk is queued behind every control message and may be shed (it resolves at once).
   */
  sendReply(reply: RunnerReply): Promise<void> {
    if (reply.type === 'output') {
      this.sendOutput(reply.jobId, reply.fields);
      return Promise.resolve();
    }
    return this.send(reply.type, reply.jobId, reply.fields ?? {});
  }

  /** Live output chunks handed to the socket, and shed (a full queue, or a socket that stayed full). */
  outputCounts(): { sent: number; dropped: number } {
    return { ...this.queue.outputCounts };
  }

  /** Closes both sockets and waits for the receive loops and pending sends. Idempotent. */
  async close(): Promise<void> {
    if (!this.closedValue) {
      this.closedValue = true;
      this.sub?.close();
      this.unsubscribe?.();
      this.queue.close();
      this.dealer.close();
    }
    await Promise.all(this.loops);
    await this.queue.idle();
  }

  // -------------------------------------------------------------------------------------------

  private send(
    type: ClientMessageType,
    jobId: string | null,
    fields: RunnerResultFields,
    jobState?: AgentJobState,
  ): Promise<void> {
    if (this.closedValue) {
      this.log.warn(`[${this.identity.nodeName}] Dropping packet because client was stopped`);
      return Promise.resolve();
    }
    // Heartbeats are dropped when the small send queue is full (A.6: a restarted server is not
    // flooded with stale ones). A job's replies are not: losing `succeeded` would leave the job
    // running on the server until its timeout, so they wait for room for a while.
    const patienceMs = type === 'heartbeat' ? 0 : REPLY_SEND_PATIENCE_MS;
    // Enveloped and signed when its turn comes: the envelope `sequence` follows the send order.
    return this.queue.sendControl(type, () => this.frames(type, jobId, fields, jobState), patienceMs);
  }

  /** Queues a live output chunk (ours; sent only for jobs whose commit allowed it). */
  private sendOutput(jobId: string, chunk: OutputChunk): void {
    if (this.closedValue) return;
    const fields: OutputFields = { seq: chunk.seq, channel: chunk.channel, data: chunk.data };
    if (chunk.truncated === true) fields.truncated = true;
    this.queue.sendOutput(() => this.frames('output', jobId, fields, undefined));
  }

  private frames(
    type: ClientMessageType,
    jobId: string | null,
    fields: RunnerResultFields | OutputFields,
    jobState: AgentJobState | undefined,
  ): Frames | undefined {
    const json = this.envelope(type, jobId, fields, jobState);
    return json === undefined
      ? undefined
      : encodeMessage(json, { method: 'hmac_sha256', key: this.sessionKey });
  }

  private controlSent(type: string, waited: number): void {
    if (waited >= SLOW_SEND_WARN_MS) {
      this.log.warn(`[${this.identity.nodeName}] '${type}' waited ${waited} ms for room in the send queue`);
    }
    if (this.sendFailing && !this.dealer.closed) {
      this.sendFailing = false;
      this.log.info(`[${this.identity.nodeName}] Sending on the command socket again`);
    }
  }

  private controlFailed(err: unknown): void {
    if (this.dealer.closed) return;
    // One line per failing streak (a server that is gone makes every heartbeat fail).
    if (this.sendFailing) {
      this.log.debug(`[${this.identity.nodeName}] ZMQ socket enqueue error ${errorMessage(err)} (again)`);
      return;
    }
    this.sendFailing = true;
    this.log.error(`[${this.identity.nodeName}] ZMQ socket enqueue error ${errorMessage(err)}`);
    this.events.sendFailed(err);
  }

  private outputDropped(count: number): void {
    if (this.dealer.closed) return;
    this.log.debug(`[${this.identity.nodeName}] Shed ${count} output chunk(s): the send queue is backed up`);
  }

  /**
   * Sends on the DEALER, trying until `deadline` (Date.now() ms; a past one means one try). The
   * first try does not wait (there is almost always room). After a full queue (EAGAIN) the next
   * try waits for room up to the deadline: zeromq.js wakes it when libzmq reports the socket
   * writable, so the message leaves as soon as there is room, not at the next tick of a retry
   * timer (at 10,000 simulated agents on two cores, timer retries held replies back for over a
   * second). Other errors (EINTR) are tried again after a short pause. Resolves quietly when the
   * socket closes. With `yieldTo` (live output), the wait is cut in short slices and gives up
   * ('yielded') once `yieldTo()` is true: a control message is waiting.
   */
  private async sendWithin(
    frames: Frames,
    deadline: number,
    yieldTo?: () => boolean,
  ): Promise<'sent' | 'yielded'> {
    let waiting = false;
    try {
      for (;;) {
        if (this.dealer.closed) return 'sent';
        try {
          await this.dealer.send(frames);
          return 'sent';
        } catch (err) {
          const left = deadline - Date.now();
          if (this.dealer.closed) return 'sent';
          if (left <= 0) throw err;
          if (waiting && yieldTo?.() === true) return 'yielded';
          if (zmqErrorCode(err) !== 'EAGAIN') await new Promise((resolve) => setTimeout(resolve, 5));
          else {
            // Live output waits in short slices, so that a control message waits for it no longer.
            this.dealer.sendTimeout = yieldTo === undefined ? left : Math.min(left, OUTPUT_WAIT_SLICE_MS);
            waiting = true;
          }
        }
      }
    } finally {
      // Only after a waiting try: a setsockopt per message is not free.
      if (waiting && !this.dealer.closed) this.dealer.sendTimeout = 0;
    }
  }

  /**
   * The outgoing body in the A.9 key order as JSON, or undefined when it cannot fit (A.16). The
   * JSON measured here is the JSON signed and sent: serialised once per message.
   */
  private envelope(
    type: ClientMessageType,
    jobId: string | null,
    fields: RunnerResultFields | OutputFields,
    jobState: AgentJobState | undefined,
  ): string | undefined {
    const id = this.identity;
    const limit = id.maxBodySize;
    const extra: RunnerResultFields & Partial<OutputFields> = { ...fields };
    const outputBytes =
      (extra.stdout === undefined ? 0 : Buffer.byteLength(extra.stdout)) +
      (extra.stderr === undefined ? 0 : Buffer.byteLength(extra.stderr));
    if (outputBytes > limit) {
      this.log.warn(
        `[${id.nodeName}] Command output ${outputBytes} is larger than the Client MAX_BODY_SIZE of ${limit}`,
      );
      delete extra.stdout;
      delete extra.stderr;
    }
    this.sequence += 1;
    // The envelope in the original client's order (A.9), then the job state, job id, output and
    // (ours, which the original server ignores) how the command ended.
    const body: ClientEnvelope & RunnerResultFields & Partial<OutputFields> & { job_state?: AgentJobState } =
      {
        node: id.nodeName,
        client: id.hostname,
        protocol_version: PROTOCOL_VERSION,
        org: id.orgName,
        type,
        sequence: this.sequence,
        timestamp: formatHttpDate(new Date()),
        incarnation_id: id.incarnationId,
        ...(jobState === undefined ? {} : { job_state: jobState }),
        job_id: jobId,
        ...extra,
      };
    let json = JSON.stringify(body);
    let size = Buffer.byteLength(json);
    if (size > limit && ('stdout' in body || 'stderr' in body)) {
      delete body.stdout;
      delete body.stderr;
      this.log.warn(`[${id.nodeName}] Deleted packet output: message size ${size} over ${limit}`);
      json = JSON.stringify(body);
      size = Buffer.byteLength(json);
    }
    if (size > limit) {
      this.log.error(
        `[${id.nodeName}] Client message size ${size} is larger than the Client MAX_BODY_SIZE of ${limit}`,
      );
      return undefined;
    }
    return json;
  }

  private async receiveLoop(channel: 'command' | 'heartbeat'): Promise<void> {
    const socket = channel === 'command' ? this.dealer : this.sub!;
    for (;;) {
      try {
        for await (const frames of socket) this.onFrames(channel, frames);
        return;
      } catch (err) {
        if (socket.closed) return;
        this.log.error(`[${this.identity.nodeName}] Error in ${channel} receive loop: ${errorMessage(err)}`);
      }
    }
  }

  private onFrames(channel: 'command' | 'heartbeat', frames: Buffer[]): void {
    if (this.closedValue) return;
    const maxSkewSeconds = this.config.max_message_skew;
    const opened =
      channel === 'command'
        ? openMessage(frames, () => this.sessionKey, { maxSkewSeconds })
        : openMessage(frames, this.config.public_key, {
            maxSkewSeconds,
            replay: { tracker: this.heartbeatSequences, peer: () => 'server' },
            ...(this.signatureMemo === undefined ? {} : { signatureMemo: this.signatureMemo }),
          });
    if (!opened.ok) {
      this.drop(channel, opened.error.code, opened.error.message);
      return;
    }
    if (channel === 'command' && this.replayGuard.isReplay(opened.header.signature)) {
      this.drop(channel, 'replay', 'the same signed command was received before');
      return;
    }
    const body = opened.body;
    // Narrowed once, here: everything below works on a well-formed ServerMessage.
    if (!liteValidators.serverMessage.check(body)) {
      this.onMalformed(channel, body);
      return;
    }
    try {
      if (channel === 'heartbeat') this.onHeartbeatChannel(body);
      else this.onCommand(body);
    } catch (err) {
      this.log.error(
        `[${this.identity.nodeName}] Error handling '${body.type}' message: ${errorMessage(err)}`,
      );
    }
  }

  private drop(channel: 'command' | 'heartbeat', code: string, message: string): void {
    this.droppedLog.push({ channel, code, message });
    if (this.droppedLog.length > MAX_DROPPED_KEPT) this.droppedLog.shift();
    this.log.error(`[${this.identity.nodeName}] Received invalid message on ${channel} socket: ${message}`);
  }

  /**
   * A verified message that is not a well-formed server message (an unknown type, a missing or
   * wrongly typed field): dropped and logged. A command the node must answer is answered as one
   * it cannot act on: a `commit` gets `nack_commit` and a `run` gets `nack_run` (with no job id,
   * since the message's cannot be trusted), and an `abort` stops whatever the agent holds, as
   * the original's abort does.
   */
  private onMalformed(channel: 'command' | 'heartbeat', body: MessageBody): void {
    const type = typeof body['type'] === 'string' ? body['type'] : '';
    if (channel === 'command') this.events.commandReceived(type);
    const problems = liteValidators.serverMessage.errors(body).slice(0, MAX_SCHEMA_ERRORS_LOGGED);
    this.drop(
      channel,
      'malformed_message',
      `'${type}' message does not match its schema: ${problems.join('; ')}`,
    );
    if (channel !== 'command') return;
    if (type === 'commit') void this.send('nack_commit', null, {});
    else if (type === 'run') void this.send('nack_run', null, {});
    else if (type === 'abort') this.runner.abort();
  }

  private onHeartbeatChannel(message: ServerMessage): void {
    if (message.type !== 'heartbeat') {
      this.log.error(
        `[${this.identity.nodeName}] Unexpected '${message.type}' message on the heartbeat socket`,
      );
      return;
    }
    this.events.serverHeartbeat(message.incarnation_id, message.sequence);
  }

  private onCommand(message: ServerMessage): void {
    this.events.commandReceived(message.type);
    switch (message.type) {
      case 'heartbeat':
        // The original server sends heartbeats only on the PUB socket; accept them here too.
        this.events.serverHeartbeat(message.incarnation_id, message.sequence);
        return;
      case 'commit':
        this.runner.commit(message.job_id, message.command, commitOptions(message));
        return;
      case 'run':
        this.runner.run(message.job_id);
        return;
      case 'abort':
        // Ours names the job it belongs to; the original's (rehab) names none.
        if (message.job_id === undefined) this.runner.abort();
        else this.runner.abort(message.job_id);
        return;
      case 'ack':
        return;
      default:
        unhandled(message);
    }
  }
}

/** The fields of an `output` message after the envelope. */
type OutputFields = Pick<OutputMessage, 'seq' | 'channel' | 'data' | 'truncated'>;

/** The optional fields of a `commit`, copied when set and not empty or zero (A.8). */
function commitOptions(message: CommitMessage): CommitOptions {
  const options: CommitOptions = {};
  const { user, dir, env, capture, file } = message;
  const runTimeout = message.run_timeout;
  const votingTimeout = message.voting_timeout;
  const runWaitTimeout = message.run_wait_timeout;
  if (runTimeout !== undefined && runTimeout > 0) options.runTimeout = runTimeout;
  if (votingTimeout !== undefined && votingTimeout > 0) options.votingTimeout = votingTimeout;
  if (runWaitTimeout !== undefined && runWaitTimeout > 0) options.runWaitTimeout = runWaitTimeout;
  if (user !== undefined && user !== '') options.user = user;
  if (dir !== undefined && dir !== '') options.dir = dir;
  if (env !== undefined) options.env = { ...env };
  if (capture === true) options.capture = true;
  if (file !== undefined && file !== '') options.file = file;
  const outputMax = message.output_stream_max_bytes;
  if (outputMax !== undefined && outputMax > 0) options.outputStreamMaxBytes = outputMax;
  return options;
}
