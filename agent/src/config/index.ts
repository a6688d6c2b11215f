/**
 * The agent's configuration: the config file reader, the command line and the effective
 * options.
 *
 * @module
 */
export * from './cli-args.js';
export * from './options.js';
export * from './ruby-config.js';
