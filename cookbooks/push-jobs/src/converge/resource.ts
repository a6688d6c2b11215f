/**
 * The resource model: a resource knows its desired state, reads the current state, and
 * changes only what differs (or, in why-run, says what it would change).
 *
 * @module
 */
import type { RecipeName } from '../attributes/types.js';
import type { ConvergeContext } from './context.js';
import type { Notification, ResourceOutcome } from './outcome.js';

export { UP_TO_DATE, type Notification, type NotificationTiming, type ResourceOutcome } from './outcome.js';

/** A resource action in the run list. */
export interface Resource {
  /** Resource type: `file`, `template`, `directory`, `push_jobs_package`, `service`. */
  readonly type: string;
  /** `type[id]`. */
  readonly name: string;
  /** The action to run. */
  readonly action: string;
  /** The recipe that declared it. */
  readonly recipe: RecipeName;
  /** Sent when the resource is updated (unless its outcome names its own). */
  readonly notifies: readonly Notification[];
  /** Brings the resource to its desired state (or reports what it would do in why-run). */
  converge(ctx: ConvergeContext): Promise<ResourceOutcome>;
}
