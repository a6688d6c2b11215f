/**
 * The signed JSON client of the push-jobs REST API and its event feeds, shared by the CLI, the
 * agent and test harnesses. It needs only `node:http`/`node:https` and this package's signing
 * code (no schema libraries).
 *
 * @example
 * ```ts
 * import { PushApiClient, isPushApiError } from '@push-jobs/protocol';
 *
 * const client = new PushApiClient({ serverUrl: 'https://push.example.com/organizations/acme', userId: 'alice', privateKey });
 * try {
 *   const job = await client.getJob(id);
 * } catch (err) {
 *   if (isPushApiError(err) && err.status === 404) console.error(err.serverMessage);
 * }
 * ```
 *
 * @module
 */
export {
  DEFAULT_API_TIMEOUT_MS,
  PushApiClient,
  type ApiQuery,
  type ApiRequestOptions,
  type ApiResponse,
  type ChefNode,
  type FeedOptions,
  type FeedStream,
  type JobListPage,
  type JobOutput,
  type PushApiClientOptions,
  type SearchResult,
} from './client.js';
export {
  API_ERROR_CODES,
  ApiConflictError,
  ApiForbiddenError,
  ApiHttpError,
  ApiNotFoundError,
  ApiResponseError,
  ApiServerError,
  ApiTimeoutError,
  ApiTlsError,
  ApiUnauthorizedError,
  ApiUnreachableError,
  ApiValidationError,
  PushApiError,
  errorForStatus,
  isPushApiError,
  serverErrorMessage,
  type ApiErrorCode,
  type ApiErrorContext,
} from './errors.js';
export {
  DEFAULT_MAX_EVENT_SIZE,
  SseEventTooLargeError,
  SseParser,
  toFeedEvent,
  type ParsedFeedEvent,
  type SseMessage,
} from './sse.js';
export {
  feedEventErrors,
  narrowJobFeedEvent,
  narrowNodeOutputEvent,
  narrowOrgFeedEvent,
  type ReadJobFeedEvent,
  type ReadNodeOutputEvent,
  type ReadOrgFeedEvent,
} from './feed-events.js';
