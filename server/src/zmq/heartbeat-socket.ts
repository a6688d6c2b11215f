/**
 * The PUB socket that broadcasts server heartbeats as `[header, body]`. PUB drops at the
 * high-water mark anyway, so a publish never waits: when a send is still in flight the new
 * message is dropped.
 *
 * @module
 */

import { Publisher } from 'zeromq';
import type { Context } from 'zeromq';
import { getZmqContext } from './context.js';
import { normalizeEndpoint } from './endpoint.js';
import type { HeartbeatTransport } from './types.js';

/** Options of {@link ZmqHeartbeatTransport.bind}. */
export interface ZmqHeartbeatTransportOptions {
  /** Where to bind, e.g. `tcp://*:10000`, or `tcp://127.0.0.1:0` for any free port. */
  endpoint: string;
  /** @default getZmqContext() */
  context?: Context;
  /** ZMQ_SNDHWM per subscriber. @default 1000 */
  sendHighWaterMark?: number;
}

/** {@link HeartbeatTransport} on a zeromq.js Publisher. */
export class ZmqHeartbeatTransport implements HeartbeatTransport {
  /** The endpoint actually bound (with the real port when 0 was asked). */
  readonly endpoint: string;
  private readonly socket: Publisher;
  private busy = false;
  private publishedCount = 0;
  private droppedCount = 0;

  private constructor(socket: Publisher, endpoint: string) {
    this.socket = socket;
    this.endpoint = endpoint;
  }

  /** Creates the Publisher and binds it. */
  static async bind(options: ZmqHeartbeatTransportOptions): Promise<ZmqHeartbeatTransport> {
    const socket = new Publisher({
      context: options.context ?? getZmqContext(),
      linger: 0,
      sendHighWaterMark: options.sendHighWaterMark ?? 1000,
    });
    try {
      await socket.bind(normalizeEndpoint(options.endpoint));
    } catch (error) {
      socket.close();
      throw error;
    }
    return new ZmqHeartbeatTransport(socket, socket.lastEndpoint ?? options.endpoint);
  }

  /** Messages handed to the socket. */
  get published(): number {
    return this.publishedCount;
  }

  /** Messages dropped because a send was in flight, it failed, or the socket was closed. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Publishes `[header, body]`; false (dropped) when a send is in flight or the socket is closed. */
  publish(header: Buffer, body: Buffer): boolean {
    if (this.busy || this.socket.closed) {
      this.droppedCount++;
      return false;
    }
    this.busy = true;
    this.publishedCount++;
    this.socket.send([header, body]).then(
      () => {
        this.busy = false;
      },
      () => {
        this.busy = false;
        this.publishedCount--;
        this.droppedCount++;
      },
    );
    return true;
  }

  /** Closes the socket (idempotent). */
  async close(): Promise<void> {
    this.socket.close();
  }
}
