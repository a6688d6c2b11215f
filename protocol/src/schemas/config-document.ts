/**
 * The config document of `GET /organizations/ORG/pushy/config/NODE` (spec 6, client spec A.5).
 *
 * The agent checks what it receives with this schema, possibly from the original server, so
 * extra properties are allowed, and key material is only required to be a non-empty string
 * (the agent's crypto code checks it properly). `curve_public_key` is optional: our server
 * and the original always send it, but a 1.x server does not, and the agent then falls back
 * to plaintext only if `allow_unencrypted` is set.
 *
 * @module
 */
import { Type, type Static } from '@sinclair/typebox';
import { MAX_TIMER_SECONDS } from '../constants.js';

/** The `push_jobs.heartbeat` object of the config document. */
export const HeartbeatConfigSchema = Type.Object({
  /** ZeroMQ endpoint of the heartbeat PUB socket, `tcp://HOST:10000`. */
  out_addr: Type.String({ minLength: 1 }),
  /** ZeroMQ endpoint of the command ROUTER socket, `tcp://HOST:10002`. */
  command_addr: Type.String({ minLength: 1 }),
  /** Seconds between heartbeats, a float (`heartbeat_interval / 1000`). */
  interval: Type.Number({ exclusiveMinimum: 0, maximum: MAX_TIMER_SECONDS }),
  /** Missed server heartbeats before the agent deems the server offline (3). */
  offline_threshold: Type.Integer({ minimum: 1 }),
  /** Received server heartbeats before the agent deems the server online (2). */
  online_threshold: Type.Integer({ minimum: 1 }),
});
/** Heartbeat settings of the config document. */
export type HeartbeatConfig = Static<typeof HeartbeatConfigSchema>;

/** The session key, encrypted to the requestor's RSA public key. */
export const EncodedSessionKeySchema = Type.Object({
  /** `"hmac_sha256"`. */
  method: Type.String({ minLength: 1 }),
  /** Base64 of RSA-encrypt(PKCS#1 v1.5, 32-byte session key). */
  key: Type.String({ minLength: 1 }),
});
/** Encoded session key. */
export type EncodedSessionKey = Static<typeof EncodedSessionKeySchema>;

/** The config document, fields in the order the server emits them. */
export const ConfigDocumentSchema = Type.Object({
  type: Type.Literal('config'),
  /** `server_name`. */
  host: Type.String(),
  push_jobs: Type.Object({ heartbeat: HeartbeatConfigSchema }),
  /** NODE from the path. */
  node: Type.String({ minLength: 1 }),
  /** ORG (name) from the path. */
  organization: Type.String({ minLength: 1 }),
  /** Server RSA public key, PEM SubjectPublicKeyInfo. */
  public_key: Type.String({ minLength: 1 }),
  /** Server CURVE public key, Z85 (40 characters). Its presence means protocol 2.x with CURVE. */
  curve_public_key: Type.Optional(Type.String({ minLength: 1 })),
  /**
   * The node's session key, encrypted to the requesting client's key. Sent only to the node's own
   * client (a user reading the config gets no key: a deliberate fix of the original).
   */
  encoded_session_key: Type.Optional(EncodedSessionKeySchema),
  /** Seconds between forced reconfigures (`config_lifetime`). */
  lifetime: Type.Number({ minimum: 0, maximum: MAX_TIMER_SECONDS }),
  /** Seconds of allowed message timestamp skew (`max_time_skew`). */
  max_message_skew: Type.Number({ minimum: 0 }),
  /** The server's ZeroMQ body limit in bytes (the Ruby agent ignores it). */
  max_body_size: Type.Integer({ minimum: 0 }),
  /** The server incarnation id. */
  incarnation_id: Type.String({ minLength: 1 }),
});
/** Config document. */
export type ConfigDocument = Static<typeof ConfigDocumentSchema>;
