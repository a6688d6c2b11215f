/**
 * The error every search-query problem is reported with.
 *
 * @module
 */
import { ERROR_CODES, PushJobsError } from '@push-jobs/protocol/internal';

/**
 * A query that cannot be parsed (or uses syntax this search does not support). The message is
 * meant for the person who typed the query, and already names the position; a route returns it
 * as a 400.
 */
export class SearchQueryError extends PushJobsError {
  /** 0-based offset into {@link SearchQueryError.query} where the problem is. */
  readonly position: number;
  /** The query as given. */
  readonly query: string;

  /**
   * @param problem What is wrong, without the position (it is appended).
   * @param position 0-based offset into `query`.
   * @param query The whole query.
   */
  constructor(problem: string, position: number, query: string) {
    super(ERROR_CODES.INVALID_ARGUMENT, `${problem} (at position ${position} of the search query)`);
    this.name = 'SearchQueryError';
    this.position = position;
    this.query = query;
  }
}
