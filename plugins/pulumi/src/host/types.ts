/**
 * Types shared by the host step renderers.
 *
 * @module
 */

/** The commands of one host step, as `remote.Command` takes them. */
export interface HostCommands {
  /** Runs on create, and again when the step's inputs change (it is idempotent). */
  readonly create: string;
  /** Runs on delete: undoes what `create` did. Absent for read-only steps. */
  readonly delete?: string;
}
