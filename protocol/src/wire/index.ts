/**
 * The ZeroMQ message codec of Chef Push Jobs: pure functions over Buffers, no socket code.
 *
 * Sending: `encodeMessage(body, { method: 'hmac_sha256', key })` gives `[header, body]` frames.
 * Receiving: `splitRouterFrames` (on a ROUTER), then `openMessage(frames, keySource, opts)`, which
 * decodes, parses, verifies, checks the timestamp and optionally the sequence, and returns
 * `{ ok: true, body, header }` or `{ ok: false, error }`; it never throws.
 *
 * @example
 * ```ts
 * const frames = encodeMessage(heartbeat, { method: 'hmac_sha256', key: sessionKey });
 * const res = openMessage(frames, (body) => keys.get(`${String(body.org)}/${String(body.node)}`));
 * if (!res.ok) log.warn({ code: res.error.code }, res.error.message);
 * ```
 *
 * @module
 */

export { normalizeBase64 } from './base64.js';
export { parseBody, type MessageBody } from './body.js';
export { WIRE_ERROR_FAMILY, WireCryptoError, WireMessageError } from './errors.js';
export {
  decodeMessage,
  encodeMessage,
  splitRouterFrames,
  type DecodedFrames,
  type DecodeOptions,
  type RouterFrames,
  type Signer,
} from './frames.js';
export {
  HEADER_PREFIX,
  formatHeader,
  isSigningMethod,
  parseHeader,
  type HeaderFields,
  type ParsedHeader,
  type ProtocolVersion,
  type SigningMethod,
} from './header.js';
export { hmacSign, hmacVerify } from './hmac.js';
export {
  ABORT_FIELD_ORDER,
  COMMIT_FIELD_ORDER,
  RUN_FIELD_ORDER,
  SERVER_HEARTBEAT_FIELD_ORDER,
  abortMessage,
  ackMessage,
  commitMessage,
  runMessage,
  sealServerMessage,
  serverHeartbeatMessage,
  type AbortBody,
  type AckBody,
  type CommitBody,
  type CommitFields,
  type RunBody,
  type ServerCommandBody,
  type ServerCommandType,
  type ServerEnvelope,
  type ServerMessageBody,
} from './messages.js';
export { toPrivateKey, toPublicKey, type RsaKeyInput } from './key-cache.js';
export {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_MESSAGE_SKEW_SECONDS,
  DEFAULT_MAX_SEQUENCE_PEERS,
  HMAC_SHA256_BYTES,
  MAX_HEADER_BYTES,
  SESSION_KEY_BYTES,
} from './limits.js';
export {
  openMessage,
  SignatureMemo,
  type HmacKeyResolver,
  type MessageKeySource,
  type OpenOptions,
  type OpenResult,
  type ReplayCheck,
} from './open.js';
export { rsaSha1Sign, rsaSha1Verify, sha1Base64 } from './rsa.js';
export { SecondChanceMap, type SecondChance } from './second-chance-map.js';
export { SequenceTracker, type SequenceTrackerOptions, type SequenceVerdict } from './sequence.js';
export { decryptSessionKey, encryptSessionKey, generateSessionKey } from './session-key.js';
export { checkSkew, skewError, type SkewVerdict } from './skew.js';
export {
  WIRE_ERROR_BRAND,
  WIRE_ERROR_CODES,
  isWireError,
  wireError,
  type WireError,
  type WireErrorCode,
} from './wire-error.js';
