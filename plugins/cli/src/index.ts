/**
 * `@push-jobs/cli`: the oclif plugin with the `push jobs ...`, `push node status` and
 * `push whitelist ...` commands. oclif finds the commands in `lib/commands`; this entry point
 * exports the pieces other plugins can reuse.
 *
 * @module
 */
export { BaseCommand, errorEnvelope, type ErrorEnvelope, type SuccessEnvelope } from './base-command.js';
export {
  resolveConnection,
  createClient,
  type ConnectionFlags,
  type ResolvedConnection,
} from './config/connection.js';
export { CLI_ERROR_CODES, CliError, EXIT_CODES, toCliError } from './errors.js';
