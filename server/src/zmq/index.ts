/**
 * The ZeroMQ transport: command ROUTER, heartbeat PUB (ZMTP spoken by the server itself), ZAP
 * handler and CURVE allow-list.
 *
 * @module
 */

export type {
  CommandTransport,
  CurveAllowList,
  HeartbeatTransport,
  InboundMessage,
  TransportStats,
} from './types.js';
export { createZmqContext, getZmqContext } from './context.js';
export type { ZmqContextOptions } from './context.js';
export { CURVE_KEY_BYTES, curveKeyFromZ85, generateCurveKeyPair } from './curve-keys.js';
export type { CurveKeyPair } from './curve-keys.js';
export {
  DEFAULT_CURVE_KEY_TTL_MS,
  DEFAULT_CURVE_SWEEP_INTERVAL_MS,
  MemoryCurveAllowList,
} from './curve-allow-list.js';
export type { MemoryCurveAllowListOptions } from './curve-allow-list.js';
export { ZAP_ENDPOINT, ZapHandler } from './zap-handler.js';
export type { ZapHandlerOptions } from './zap-handler.js';
export { COMMAND_ZAP_DOMAIN, DEFAULT_RECEIVE_HWM, ZmqCommandTransport } from './command-socket.js';
export type { ZmqCommandTransportOptions } from './command-socket.js';
export { ZmqHeartbeatTransport } from './heartbeat-socket.js';
export type { HeartbeatSocketStats, ZmqHeartbeatTransportOptions } from './heartbeat-socket.js';
export { heartbeatConnectionCap, openFileLimit, parseOpenFileLimit } from './fd-limit.js';
export { DEFAULT_RATE_LIMIT, PeerRateLimiter } from './rate-limiter.js';
export type { RateLimitOptions } from './rate-limiter.js';
export { normalizeEndpoint } from './endpoint.js';
