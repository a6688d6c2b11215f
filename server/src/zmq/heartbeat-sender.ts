/**
 * The server heartbeat (spec 5.2): every `heartbeat_interval` ms, on the PUB socket,
 * `{sequence, timestamp, server, type, incarnation_id}` signed `rsa2048_sha1` with the server's
 * private key. The first goes out one interval after start.
 *
 * @module
 */
import { hostname } from 'node:os';
import {
  encodeMessage,
  formatHttpDate,
  serverHeartbeatMessage,
  type RsaKeyInput,
} from '@push-jobs/protocol/internal';
import type { HeartbeatTransport } from './types.js';

/** Sends server heartbeats until stopped. */
export class HeartbeatSender {
  private sequence = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Heartbeats the socket could not take (PUB drops rather than waits). */
  dropped = 0;

  constructor(
    private readonly transport: HeartbeatTransport,
    private readonly privateKey: RsaKeyInput,
    private readonly incarnationId: string,
    private readonly intervalMs: number,
    private readonly server: string = hostname(),
  ) {}

  /** Starts the timer. */
  start(): void {
    this.timer = setInterval(() => this.beat(), this.intervalMs);
    this.timer.unref();
  }

  /** Sends one heartbeat now (public for tests). */
  beat(): void {
    const body = serverHeartbeatMessage({
      sequence: this.sequence++,
      timestamp: formatHttpDate(new Date()),
      server: this.server,
      incarnation_id: this.incarnationId,
    });
    const [header, bytes] = encodeMessage(body, { method: 'rsa2048_sha1', privateKey: this.privateKey });
    if (!this.transport.publish(header, bytes)) this.dropped++;
  }

  /** Stops the timer. */
  stop(): void {
    clearInterval(this.timer);
  }
}
