/**
 * `@push-jobs/protocol/lite`: everything of this package except the TypeBox schema objects and
 * the run-time Ajv compiler, for long-lived small processes (the agent). Its validators are
 * generated at build time from the same schemas ({@link liteValidators}); types are the same
 * as the main entry point's.
 *
 * @module
 */
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
export * from './lite-validators.js';
export * from './quorum.js';
export * from './rsa-keys.js';
export * from './api-client/index.js';
export * from './wire/index.js';
export * from './z85.js';
export type * from './schemas/index.js';
