/**
 * Runs a resource collection: each resource in order, immediate notifications right away,
 * delayed notifications once at the end (deduplicated; a restart makes a reload of the same
 * service unnecessary). Stops at the first failure: what ran before stays converged.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { RecipeName } from '../attributes/types.js';
import { CookbookError, errorMessage } from '../errors.js';
import type { ConvergeContext } from './context.js';
import type { ResourceReport } from './report.js';
import type { Notification, Resource, ResourceOutcome } from './resource.js';

/** What {@link runResources} returns: the entries and whether it failed. */
export interface RunResult {
  /** One entry per action run. */
  entries: ResourceReport[];
  /** The failure, if a resource failed. */
  error?: CookbookError;
}

function logOutcome(ctx: ConvergeContext, name: string, action: string, outcome: ResourceOutcome): void {
  const suffix = outcome.updated ? '' : ' (up to date)';
  ctx.log(`  * ${name} action ${action}${suffix}`);
  const prefix = ctx.whyRun && outcome.updated ? '    - Would ' : '    - ';
  for (const message of outcome.messages) ctx.log(`${prefix}${message}`);
  if (outcome.updated && outcome.diff !== undefined) {
    for (const line of outcome.diff.replace(/\n$/u, '').split('\n')) ctx.log(`    ${line}`);
  }
}

function toCookbookError(err: unknown, resource: string): CookbookError {
  if (err instanceof CookbookError) return err;
  return new CookbookError(`${resource}: ${errorMessage(err)}`, { cause: err });
}

/** Runs the resources and their notifications; never throws (a failure ends the run). */
export async function runResources(resources: readonly Resource[], ctx: ConvergeContext): Promise<RunResult> {
  const entries: ResourceReport[] = [];
  const delayed: { notification: Notification; by: string; recipe: RecipeName }[] = [];
  let recipe: RecipeName | undefined;

  const notify = async (
    notification: Notification,
    by: string,
    from: RecipeName,
  ): Promise<CookbookError | undefined> => {
    const target = ctx.targets.get(notification.target);
    if (target === undefined) {
      ctx.log(`  (no ${notification.target} in this run: not sending ${notification.action} from ${by})`);
      return undefined;
    }
    const skip = target.skipReason?.(notification.action);
    if (skip !== undefined) {
      ctx.log(`  * ${notification.target} action ${notification.action} (skipped: ${skip})`);
      return undefined;
    }
    const started = performance.now();
    try {
      const outcome = await target.run(notification.action, ctx);
      logOutcome(ctx, notification.target, notification.action, outcome);
      entries.push({
        name: notification.target,
        action: notification.action,
        recipe: from,
        updated: outcome.updated,
        ...(outcome.diff === undefined ? {} : { diff: outcome.diff }),
        messages: outcome.messages,
        notifiedBy: by,
        elapsedMs: performance.now() - started,
      });
      return undefined;
    } catch (err) {
      const error = toCookbookError(err, notification.target);
      entries.push({
        name: notification.target,
        action: notification.action,
        recipe: from,
        updated: false,
        messages: [],
        notifiedBy: by,
        failed: true,
        error: error.message,
        elapsedMs: performance.now() - started,
      });
      return error;
    }
  };

  for (const resource of resources) {
    if (resource.recipe !== recipe) {
      recipe = resource.recipe;
      ctx.recipe = recipe;
      ctx.log(`Recipe: push-jobs::${recipe}`);
    }
    const started = performance.now();
    let outcome: ResourceOutcome;
    try {
      outcome = await resource.converge(ctx);
    } catch (err) {
      const error = toCookbookError(err, resource.name);
      ctx.log(`  * ${resource.name} action ${resource.action}`);
      ctx.log(`    ERROR: ${error.message}`);
      entries.push({
        name: resource.name,
        action: resource.action,
        recipe: resource.recipe,
        updated: false,
        messages: [],
        failed: true,
        error: error.message,
        elapsedMs: performance.now() - started,
      });
      return { entries, error };
    }
    logOutcome(ctx, resource.name, resource.action, outcome);
    entries.push({
      name: resource.name,
      action: resource.action,
      recipe: resource.recipe,
      updated: outcome.updated,
      ...(outcome.diff === undefined ? {} : { diff: outcome.diff }),
      messages: outcome.messages,
      elapsedMs: performance.now() - started,
    });
    if (!outcome.updated) continue;
    for (const notification of outcome.notifications ?? resource.notifies) {
      if (notification.timing === 'immediately') {
        const error = await notify(notification, resource.name, resource.recipe);
        if (error !== undefined) return { entries, error };
      } else {
        delayed.push({ notification, by: resource.name, recipe: resource.recipe });
      }
    }
  }

  if (delayed.length > 0) ctx.log('Running delayed notifications');
  // Once per target and action; a restart covers a reload of the same target.
  const seen = new Set<string>();
  const restarting = new Set(
    delayed.filter((d) => d.notification.action === 'restart').map((d) => d.notification.target),
  );
  for (const { notification, by, recipe: from } of delayed) {
    const key = `${notification.target} ${notification.action}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (notification.action === 'reload' && restarting.has(notification.target)) continue;
    const error = await notify(notification, by, from);
    if (error !== undefined) return { entries, error };
  }
  return { entries };
}

/** Fills a report's counters from its entries. */
export function countUpdated(entries: readonly ResourceReport[]): number {
  return entries.filter((e) => e.updated).length;
}
