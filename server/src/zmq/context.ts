/**
 * The one ZeroMQ context the server's sockets share. The ZAP handler is bound on an `inproc://`
 * endpoint, and inproc endpoints are visible only inside their context: every CURVE socket that
 * the handler must authenticate has to be created in the handler's context.
 *
 * @module
 */

import { Context } from 'zeromq';

/** Options of {@link createZmqContext}. */
export interface ZmqContextOptions {
  /** ZMQ_MAX_SOCKETS. @default 51200 (as the original server). */
  maxSockets?: number;
}

/**
 * Creates a ZeroMQ context for the server's sockets. It is not "blocky": closing it at process exit
 * never waits for unsent messages (all server sockets also use `linger: 0`).
 */
export function createZmqContext(options: ZmqContextOptions = {}): Context {
  return new Context({ blocky: false, maxSockets: options.maxSockets ?? 51_200 });
}

let shared: Context | undefined;

/** The process-wide server context, created on first use by {@link createZmqContext}. */
export function getZmqContext(): Context {
  shared ??= createZmqContext();
  return shared;
}
