/**
 * Every `push-jobs-cookbook` command, by oclif id: the package's explicit command list
 * (package.json `oclif.commands`).
 *
 * @module
 */
import Apply from './apply.js';

/** The commands, by id. */
export const COMMANDS = { apply: Apply };
