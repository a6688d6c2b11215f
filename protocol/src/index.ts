/**
 * `@push-jobs/protocol`: what the push-jobs server, agent and CLI share.
 *
 * - Chef request signing and verification, versions 1.0 to 1.3 ({@link signRequest},
 *   {@link verifyRequest}), interoperable with Ruby's mixlib-authentication.
 * - The ZeroMQ message codec: `[header, json]` frames, `hmac_sha256` and `rsa2048_sha1`
 *   signing, session keys, skew and replay checks ({@link encodeMessage}, {@link openMessage}).
 * - JSON Schemas (TypeBox, so plain JSON Schema at runtime) of every wire message, REST body,
 *   the config document and the agent config, with compiled ajv {@link validators}.
 * - Constants (states, default ports and intervals), quorum parsing, job ids, Z85, HTTP dates
 *   and error classes with stable codes.
 *
 * @example
 * ```ts
 * import { encodeMessage, formatHttpDate, generateSessionKey, openMessage } from '@push-jobs/protocol';
 *
 * const key = generateSessionKey();
 * const frames = encodeMessage({ type: 'heartbeat', timestamp: formatHttpDate(new Date()) }, { method: 'hmac_sha256', key });
 * const opened = openMessage(frames, () => key);
 * if (opened.ok) console.log(opened.body.type);
 * ```
 *
 * @module
 */
export * from './chef-auth/index.js';
export * from './agent-config-helpers.js';
export * from './constants.js';
export * from './errors.js';
export * from './exit-codes.js';
export * from './plain-object.js';
export * from './http-date.js';
export * from './job-id.js';
export * from './logging.js';
export * from './quorum.js';
export * from './rsa-keys.js';
export * from './schemas/index.js';
export * from './wire/index.js';
export * from './z85.js';
export * from './lite-validators.js';
export * from './api-client/index.js';
