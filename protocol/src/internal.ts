/**
 * `@push-jobs/protocol/internal`: everything of this package, for the server (the agent uses
 * `@push-jobs/protocol/lite`, the same without the TypeBox schema objects and the run-time Ajv
 * compiler). Beyond the public entry (`@push-jobs/protocol`):
 *
 * - the ZeroMQ message codec: `[header, json]` frames, `hmac_sha256` and `rsa2048_sha1`
 *   signing, session keys, skew and replay checks (`encodeMessage`, `openMessage`), and the
 *   typed builders of the server's messages (`commitMessage`, `sealServerMessage`);
 * - the wire message schemas and the validators generated from them;
 * - the logging surface the server and the agent share (`Logger`), a bounded map for per-peer
 *   state (`SecondChanceMap`), Z85, HTTP dates, job ids, key caches and the Chef-signing parts.
 *
 * None of it is a contract: it may change in any release.
 *
 * @module
 */
export * from './index.js';
export * from './chef-auth/index.js';
export * from './chef-node.js';
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
