/**
 * The resource model: a resource knows its desired state, reads the current state, and
 * changes only what differs (or, in why-run, says what it would change).
 *
 * @module
 */
import type { RecipeName } from '../attributes/types.js';
import type { ConvergeContext } from './context.js';

/** When a notification runs: right after the notifying resource, or once at the end. */
export type NotificationTiming = 'immediately' | 'delayed';

/** "When I change, run `action` on `target`." */
export interface Notification {
  /** The target's name, e.g. `service[chef-push-jobs-client]`. */
  target: string;
  /** The action, e.g. `restart`, `reload`, `daemon_reload`. */
  action: string;
  /** When it runs. */
  timing: NotificationTiming;
}

/** What one resource action did. */
export interface ResourceOutcome {
  /** True when something changed (or would change, in why-run). */
  updated: boolean;
  /** A unified diff or a one-line description of the change. */
  diff?: string;
  /** What was done, one line each. */
  messages: string[];
  /** Notifications to send when updated, when they depend on the change (else the resource's). */
  notifications?: Notification[];
}

/** An up-to-date outcome. */
export const UP_TO_DATE: Readonly<ResourceOutcome> = Object.freeze({ updated: false, messages: [] });

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
