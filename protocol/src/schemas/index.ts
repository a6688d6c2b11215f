/**
 * JSON Schemas of everything that crosses a process boundary, with types derived from them.
 *
 * @module
 */
export * from './agent-config.js';
export * from './client-messages.js';
export * from './common.js';
export * from './config-document.js';
export * from './feed-events.js';
export * from './rest.js';
export * from './server-config.js';
export * from './server-messages.js';
export * from './validate.js';
export * from './ajv-shared.js';
