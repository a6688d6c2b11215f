/**
 * Client heartbeats and server liveness (client spec A.14).
 *
 * - Every `interval` seconds (the first at once): when online, count a missed server heartbeat
 *   (going offline once more than `offline_threshold` were missed), then send a heartbeat if still
 *   online.
 * - Each verified server heartbeat resets the missed count; when offline, more than
 *   `online_threshold` of them bring the server back online.
 * - A change of the server's incarnation id means it restarted: after a random delay in
 *   `[0, interval)` the heartbeater asks for a full reconfigure.
 *
 * @module
 */
import type { HeartbeatConfig } from '@push-jobs/protocol/lite';
import { SILENT_LOGGER, type AgentLogger } from './connection.js';

/** What the heartbeater drives. */
export interface HeartbeaterHooks {
  /** Sends one client heartbeat. */
  sendHeartbeat(): void;
  /** The server went offline (`false`) or came back online (`true`). */
  availabilityChanged(online: boolean): void;
  /** The server restarted: reconfigure (already delayed). */
  serverRestarted(previous: string, current: string): void;
}

/** Options of {@link Heartbeater}. */
export interface HeartbeaterOptions {
  /** `push_jobs.heartbeat` of the config. */
  heartbeat: HeartbeatConfig;
  /** The server incarnation id from the config. */
  serverIncarnationId: string;
  hooks: HeartbeaterHooks;
  log?: AgentLogger;
  /** Prefix of log lines, e.g. `[node]`. */
  logPrefix?: string;
  /** Random source in [0, 1). @default Math.random */
  random?: () => number;
}

/** See the module documentation. A new one is made at every (re)configure. */
export class Heartbeater {
  private readonly options: HeartbeaterOptions;
  private readonly log: AgentLogger;
  private onlineValue = true;
  private offlineCounter = 0;
  private onlineCounter = 0;
  private sent = 0;
  private serverIncarnation: string;
  private timer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(options: HeartbeaterOptions) {
    this.options = options;
    this.log = options.log ?? SILENT_LOGGER;
    this.serverIncarnation = options.serverIncarnationId;
  }

  /** Whether the server is considered online. */
  get online(): boolean {
    return this.onlineValue;
  }

  /** The last known server incarnation id. */
  get serverIncarnationId(): string {
    return this.serverIncarnation;
  }

  /** Client heartbeats sent so far. */
  get heartbeatsSent(): number {
    return this.sent;
  }

  /** Starts the loop; the first pass runs at once. The server counts as online. */
  start(): void {
    if (this.stopped || this.timer !== undefined) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.options.heartbeat.interval * 1000);
  }

  /** Stops the loop and any pending restart reconfigure. Idempotent. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    this.timer = undefined;
    this.restartTimer = undefined;
  }

  /** A verified server heartbeat arrived. */
  heartbeatReceived(incarnationId: string | undefined, sequence: number | undefined): void {
    if (this.stopped) return;
    const prefix = this.options.logPrefix ?? '';
    if (this.onlineCounter <= 3) {
      this.log.info(`${prefix} Received server heartbeat (sequence ${String(sequence)})`);
    }
    if (incarnationId !== undefined && incarnationId !== this.serverIncarnation) {
      const previous = this.serverIncarnation;
      this.serverIncarnation = incarnationId;
      const delay = (this.options.random ?? Math.random)() * this.options.heartbeat.interval;
      this.log.info(
        `${prefix} Server restart detected (incarnation ID changed from ${previous} to ${incarnationId}). ` +
          `Reconfiguring after a randomly chosen ${delay.toFixed(3)} second delay`,
      );
      if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (!this.stopped) this.options.hooks.serverRestarted(previous, incarnationId);
      }, delay * 1000);
    }
    this.offlineCounter = 0;
    if (!this.onlineValue && this.onlineCounter > this.options.heartbeat.online_threshold) {
      this.setOnline(true);
    } else {
      this.onlineCounter += 1;
    }
  }

  private tick(): void {
    if (this.stopped) return;
    const prefix = this.options.logPrefix ?? '';
    try {
      if (this.onlineValue) {
        if (this.offlineCounter > this.options.heartbeat.offline_threshold) {
          this.log.warn(
            `${prefix} Server has missed ${this.offlineCounter} heartbeats in a row. ` +
              'Considering it offline, and stopping heartbeat.',
          );
          this.onlineCounter = 0;
          this.setOnline(false);
        } else {
          this.offlineCounter += 1;
        }
      }
      if (this.onlineValue && !this.stopped) {
        this.sent += 1;
        if (this.sent <= 3) this.log.info(`${prefix} Sending heartbeat ${this.sent} (logging first 3)`);
        else this.log.debug(`${prefix} Sending heartbeat ${this.sent}`);
        this.options.hooks.sendHeartbeat();
      }
    } catch (err) {
      this.log.error(
        `${prefix} Error in heartbeat / offline detection: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  private setOnline(online: boolean): void {
    this.onlineValue = online;
    this.log.info(
      `${this.options.logPrefix ?? ''} Considering server ${online ? 'online, and starting' : 'offline, and stopping'} to heartbeat`,
    );
    this.options.hooks.availabilityChanged(online);
  }
}
