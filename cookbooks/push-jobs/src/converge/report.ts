/**
 * What a converge reports: one entry per resource action (and per notification run), the
 * number updated and the time taken, like a chef-client run summary.
 *
 * @module
 */
import type { InitSystem, PlatformFamily, RecipeName } from '../attributes/types.js';

/** One resource action of a converge. */
export interface ResourceReport {
  /** `type[id]`, e.g. `template[/etc/chef/push-jobs-client.rb]`. */
  name: string;
  /** The action run: `create`, `install`, `enable`, `start`, `restart`, `reload`, ... */
  action: string;
  /** The recipe that declared it. */
  recipe: RecipeName;
  /** True when the action changed something (in why-run: would have changed). */
  updated: boolean;
  /** A unified diff of the change (or a one-line description when there is no text to diff). */
  diff?: string;
  /** What was (or would be) done, one line each, like chef-client's `- ...` lines. */
  messages: string[];
  /** For an action run by a notification: the resource that notified. */
  notifiedBy?: string;
  /** True for the resource that failed (the last entry of a failed converge's report). */
  failed?: boolean;
  /** The failure message, when `failed`. */
  error?: string;
  /** Time spent on this action. */
  elapsedMs: number;
}

/** The result of a converge. */
export interface ConvergeReport {
  /** Every resource action run, in order (notifications last). */
  resources: ResourceReport[];
  /** How many entries of `resources` were updated. */
  updatedCount: number;
  /** How many entries `resources` has. */
  totalCount: number;
  /** Wall-clock time of the whole converge. */
  elapsedMs: number;
  /** True for a why-run (dry run): nothing was changed. */
  whyRun: boolean;
  /** False when a resource failed (the report then ends with it). */
  success: boolean;
  /** The converge root (`/` for the real machine). */
  root: string;
  /** The platform family converged for. */
  platformFamily: PlatformFamily;
  /** The init system of the service recipe. */
  initSystem: InitSystem;
  /** The recipes run, in order. */
  recipes: RecipeName[];
  /** Warnings (ignored legacy attributes, a missing key file, ownership not managed, ...). */
  warnings: string[];
}

/** `N/M resources updated in S seconds`, the closing line of a run. */
export function summaryLine(report: ConvergeReport): string {
  const seconds = (report.elapsedMs / 1000).toFixed(2);
  const verb = report.whyRun ? 'would have been updated' : 'updated';
  const status = report.success ? 'finished' : 'failed';
  const mode = report.whyRun ? ' (why-run)' : '';
  return `push-jobs-cookbook ${status}${mode}, ${report.updatedCount}/${report.totalCount} resources ${verb} in ${seconds} seconds`;
}
