/**
 * What a resource action did and whom it notifies: shared by resources, the run list and the
 * converge context (which runs notified actions), so none of them imports another for it.
 *
 * @module
 */

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
