/**
 * Node facts: collection, the node object the agent writes and the writer.
 *
 * @module
 */
export * from './collect.js';
export * from './node-document.js';
export * from './owned.js';
export * from './reporter.js';
