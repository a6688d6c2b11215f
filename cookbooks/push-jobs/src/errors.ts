/**
 * The cookbook's one error class.
 *
 * @module
 */
import { ERROR_CODES, PushJobsError } from '@push-jobs/protocol';

export { errorMessage } from '@push-jobs/protocol';
import type { ConvergeReport } from './converge/report.js';

/** What a {@link CookbookError} is about, when it is about one attribute or one path. */
export interface CookbookErrorDetails {
  /** The attribute at fault, as a dotted path (`push_jobs.chef.node_name`). */
  attribute?: string;
  /** The file or directory at fault (as seen on the node, without the converge root). */
  path?: string;
  /** What was converged before the failure (set by `converge`). */
  report?: ConvergeReport;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * Thrown for bad attributes, an unsupported platform, a path that cannot be written, a package
 * that cannot be installed: one line naming the attribute or path and what to do. Code
 * `PJ_ERR_CONFIG`.
 */
export class CookbookError extends PushJobsError {
  /** The attribute at fault, as a dotted path, when there is one. */
  readonly attribute?: string;
  /** The path at fault, when there is one. */
  readonly path?: string;
  /** The partial converge report, when a converge failed part-way. */
  report?: ConvergeReport;

  constructor(message: string, details: CookbookErrorDetails = {}) {
    super(ERROR_CODES.CONFIG, message, { cause: details.cause });
    if (details.attribute !== undefined) this.attribute = details.attribute;
    if (details.path !== undefined) this.path = details.path;
    if (details.report !== undefined) this.report = details.report;
  }
}
