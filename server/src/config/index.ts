/**
 * Server configuration: the {@link ServerConfig} type, its defaults and the layered loader.
 *
 * @module
 */
export type { ServerConfig } from './types.js';
export * from './defaults.js';
export * from './load.js';
