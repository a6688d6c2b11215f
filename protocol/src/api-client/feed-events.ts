/**
 * Narrowing what a feed delivers to the typed events of `schemas/feed-events.ts`, once, where
 * the events are read: a reader then switches on `event` and gets each event's data typed.
 *
 * The checks are the validators generated from the feed event schemas at build time (no TypeBox
 * or Ajv at run time). An event whose name is unknown (a newer server's) or whose data does not
 * match its schema narrows to `undefined`: a reader skips it, as it would skip any event it does
 * not know.
 *
 * @module
 */
import {
  nodeOutput_end,
  nodeOutput_output,
  jobFeed_job_complete,
  jobFeed_max_errors_exceeded,
  jobFeed_output,
  jobFeed_quorum_succeeded,
  jobFeed_quorum_vote,
  jobFeed_rehab,
  jobFeed_run_complete,
  jobFeed_run_start,
  jobFeed_start,
  jobFeed_summary,
  orgFeed_job_complete,
  orgFeed_start,
  orgFeed_start_of_history,
} from '../generated/validators.js';
import { ajvErrors, type AjvValidateFunction } from '../schemas/ajv-shared.js';
import type {
  JobFeedEventName,
  JobFeedMessage,
  NodeOutputEventName,
  NodeOutputMessage,
  OrgFeedEventName,
  OrgFeedMessage,
} from '../schemas/feed-events.js';
import type { ParsedFeedEvent } from './sse.js';

/** A job feed event as read: typed by its name, with the data text as received. */
export type ReadJobFeedEvent = JobFeedMessage<string | undefined> & { rawData: string };

/** An organization feed event as read: typed by its name, with the data text as received. */
export type ReadOrgFeedEvent = OrgFeedMessage<string | undefined> & { rawData: string };

const JOB_FEED_CHECKS: Readonly<Record<JobFeedEventName, AjvValidateFunction>> = {
  start: jobFeed_start as AjvValidateFunction,
  quorum_vote: jobFeed_quorum_vote as AjvValidateFunction,
  quorum_succeeded: jobFeed_quorum_succeeded as AjvValidateFunction,
  run_start: jobFeed_run_start as AjvValidateFunction,
  run_complete: jobFeed_run_complete as AjvValidateFunction,
  rehab: jobFeed_rehab as AjvValidateFunction,
  max_errors_exceeded: jobFeed_max_errors_exceeded as AjvValidateFunction,
  output: jobFeed_output as AjvValidateFunction,
  job_complete: jobFeed_job_complete as AjvValidateFunction,
  summary: jobFeed_summary as AjvValidateFunction,
};

const NODE_OUTPUT_CHECKS: Readonly<Record<NodeOutputEventName, AjvValidateFunction>> = {
  output: nodeOutput_output as AjvValidateFunction,
  end: nodeOutput_end as AjvValidateFunction,
};

const ORG_FEED_CHECKS: Readonly<Record<OrgFeedEventName, AjvValidateFunction>> = {
  start: orgFeed_start as AjvValidateFunction,
  job_complete: orgFeed_job_complete as AjvValidateFunction,
  start_of_history: orgFeed_start_of_history as AjvValidateFunction,
};

function checkOf<K extends string>(
  checks: Readonly<Record<K, AjvValidateFunction>>,
  event: string,
): AjvValidateFunction | undefined {
  return Object.hasOwn(checks, event) ? checks[event as K] : undefined;
}

/** `event` typed as a job feed event (spec 7.2), or `undefined` when it is not a known, well-formed one. */
export function narrowJobFeedEvent(event: ParsedFeedEvent): ReadJobFeedEvent | undefined {
  const check = checkOf(JOB_FEED_CHECKS, event.event);
  return check?.(event.data) === true ? (event as ReadJobFeedEvent) : undefined;
}

/** `event` typed as an organization feed event (spec 7.3), or `undefined` (see {@link narrowJobFeedEvent}). */
export function narrowOrgFeedEvent(event: ParsedFeedEvent): ReadOrgFeedEvent | undefined {
  const check = checkOf(ORG_FEED_CHECKS, event.event);
  return check?.(event.data) === true ? (event as ReadOrgFeedEvent) : undefined;
}

/** An event of a node's output stream as read: typed by its name, with the data text as received. */
export type ReadNodeOutputEvent = NodeOutputMessage<string | undefined> & { rawData: string };

/**
 * `event` typed as an event of a node's output stream (`output` or `end`), or `undefined` when it
 * is not a known, well-formed one.
 */
export function narrowNodeOutputEvent(event: ParsedFeedEvent): ReadNodeOutputEvent | undefined {
  const check = checkOf(NODE_OUTPUT_CHECKS, event.event);
  return check?.(event.data) === true ? (event as ReadNodeOutputEvent) : undefined;
}

/**
 * Why {@link narrowJobFeedEvent} (`feed: 'job'`) or {@link narrowOrgFeedEvent} (`'org'`) gives
 * `undefined` for `event`: `"<instancePath> <message>"` per problem; empty when it narrows.
 */
export function feedEventErrors(feed: 'job' | 'org', event: ParsedFeedEvent): string[] {
  const check =
    feed === 'job' ? checkOf(JOB_FEED_CHECKS, event.event) : checkOf(ORG_FEED_CHECKS, event.event);
  if (check === undefined) return [`/ unknown ${feed} feed event '${event.event}'`];
  return ajvErrors(check, event.data);
}
