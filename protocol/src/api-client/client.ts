/**
 * A Chef-signed JSON client of the push-jobs REST API and its event feeds, on `node:http` and
 * `node:https` (so it can take a custom CA and `rejectUnauthorized: false`), without schema
 * libraries (the agent loads it too).
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

import type { SigningVersion } from '../chef-auth/canonical.js';
import { isSigningVersion } from '../chef-auth/canonical.js';
import { signRequest } from '../chef-auth/sign.js';
import { InvalidArgumentError } from '../errors.js';
import { toSigningKey } from '../rsa-keys.js';
import type { Job, JobCreation, JobList, NodeState, NodeStateList } from '../schemas/rest.js';
import {
  ApiResponseError,
  ApiTimeoutError,
  ApiTlsError,
  ApiUnreachableError,
  errorForStatus,
  isPushApiError,
  type PushApiError,
} from './errors.js';
import { SseParser, toFeedEvent, type ParsedFeedEvent } from './sse.js';

/** Default of {@link PushApiClientOptions.timeoutMs}. */
export const DEFAULT_API_TIMEOUT_MS = 30_000;

/** What a {@link PushApiClient} talks to, and as whom. */
export interface PushApiClientOptions {
  /**
   * The URL relative paths resolve against: usually the organization URL, e.g.
   * `https://push.example.com/organizations/acme` (Chef's `chef_server_url`). Paths that start
   * with `/` resolve against the server root.
   */
  serverUrl: string | URL;
  /** The user or client name requests are signed as (`X-Ops-UserId`). */
  userId: string;
  /** Its RSA private key: a `KeyObject` or PEM. Never logged, never part of an error message. */
  privateKey: KeyObject | string;
  /**
   * Chef signing protocol version.
   * @default '1.3'
   */
  signingVersion?: SigningVersion;
  /** Sent as `X-Ops-Server-API-Version` (and signed) when given. */
  serverApiVersion?: number;
  /**
   * Milliseconds a request may take, from sending it to the last byte of the answer (for an
   * event feed: until the response headers).
   * @default 30000
   */
  timeoutMs?: number;
  /** Certificate authorities to trust for `https` (PEM), instead of Node's bundled list. */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /**
   * Whether to verify the server's TLS certificate. `false` is for labs only.
   * @default true
   */
  rejectUnauthorized?: boolean;
  /** @default 'push-jobs-api-client' */
  userAgent?: string;
  /** Extra headers sent with every request. */
  headers?: Readonly<Record<string, string>>;
}

/** A query string, as an object; `undefined` members are left out. */
export type ApiQuery = Readonly<Record<string, string | number | boolean | undefined>>;

/** Per-request options of {@link PushApiClient.request} and {@link PushApiClient.requestRaw}. */
export interface ApiRequestOptions {
  /** @default 'application/json' */
  accept?: string;
  query?: ApiQuery;
  /** Extra headers for this request. */
  headers?: Readonly<Record<string, string>>;
  /** @default the client's timeoutMs */
  timeoutMs?: number;
  /** Aborts the request; it then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** A response of {@link PushApiClient.requestRaw}: any status, the body unparsed. */
export interface ApiResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The request URL. */
  url: string;
}

/** Options of {@link PushApiClient.events}. */
export interface FeedOptions {
  /** Sent as `Last-Event-ID`: the feed resumes after that event. */
  lastEventId?: string;
  /** Closes the feed. */
  signal?: AbortSignal;
  /**
   * Milliseconds without any byte (events or keepalives) after which the feed fails with an
   * {@link ApiTimeoutError}. The server sends a keepalive every `keep_alive_time` (15 s).
   * @default no idle limit
   */
  idleTimeoutMs?: number;
  /**
   * The most one event may buffer, in characters; a larger one breaks the feed off with an
   * {@link ApiUnreachableError}.
   * @default DEFAULT_MAX_EVENT_SIZE (16 MiB)
   */
  maxEventSize?: number;
  query?: ApiQuery;
}

/**
 * An open event feed: iterate it (once) for its events. The iteration ends when the server
 * ends the response or after {@link close}; it throws a {@link PushApiError} when the
 * connection breaks or the idle timeout expires.
 */
export interface FeedStream extends AsyncIterable<ParsedFeedEvent> {
  /** Ends the feed; a pending iteration finishes without an error. Idempotent. */
  close(): void;
  /** The id of the last event received, to resume with. */
  readonly lastEventId: string | undefined;
}

/** A Chef node object (`/organizations/ORG/nodes/NAME`); attributes are per precedence level. */
export interface ChefNode {
  name: string;
  chef_environment?: string;
  json_class?: string;
  chef_type?: string;
  run_list?: string[];
  normal?: Record<string, unknown>;
  default?: Record<string, unknown>;
  override?: Record<string, unknown>;
  automatic?: Record<string, unknown>;
  [other: string]: unknown;
}

/** A page of search results, in Chef's shape. */
export interface SearchResult<T> {
  /** How many objects matched in all. */
  total: number;
  start: number;
  rows: T[];
}

/** Jobs of `GET pushy/jobs`, with the total count when the server gave one (when paged). */
export interface JobListPage {
  jobs: JobList;
  total?: number;
}

/** A job's output on one channel. */
export interface JobOutput {
  /** The text exactly as captured. */
  output: string;
  /** Whether the agent cut the output at its size limit (`X-Push-Jobs-Output-Truncated`). */
  truncated: boolean;
}

/** Node's TLS verification failures and handshake errors. */
const TLS_ERROR_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'HOSTNAME_MISMATCH',
]);

function isTlsError(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? '';
  return TLS_ERROR_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_');
}

function describeNetworkError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code !== undefined && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}

/** Maps an error of a request or response stream to a {@link PushApiError}. */
function networkError(err: unknown, method: string, url: URL): unknown {
  if (isPushApiError(err)) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const e = err instanceof Error ? err : new Error(String(err));
  const context = { method, url: url.href, cause: err };
  if (isTlsError(e as NodeJS.ErrnoException)) {
    return new ApiTlsError(`TLS connection to ${url.origin} failed: ${describeNetworkError(e)}`, context);
  }
  return new ApiUnreachableError(`cannot reach ${url.origin}: ${describeNetworkError(e)}`, context);
}

function segment(value: string): string {
  return encodeURIComponent(value);
}

/**
 * A client of the push-jobs REST API that signs every request with the Chef protocol.
 *
 * @example
 * ```ts
 * const client = new PushApiClient({
 *   serverUrl: 'https://push.example.com/organizations/acme',
 *   userId: 'alice',
 *   privateKey: readFileSync('alice.pem', 'utf8'),
 * });
 * const { id } = await client.startJob({ command: 'chef-client', nodes: ['web1'] });
 * const feed = await client.jobEvents(id);
 * for await (const event of feed) console.log(event.event, event.data);
 * client.close();
 * ```
 */
export class PushApiClient {
  /** The base URL, always ending with `/`. */
  readonly baseUrl: URL;
  readonly userId: string;
  readonly signingVersion: SigningVersion;
  readonly timeoutMs: number;
  readonly #key: KeyObject;
  readonly #serverApiVersion: number | undefined;
  readonly #agent: HttpAgent;
  readonly #headers: Readonly<Record<string, string>>;

  /**
   * @throws InvalidArgumentError for a URL that is not `http:` or `https:`, an empty user id,
   *   a key that is not an RSA private key, an unknown signing version or a bad timeout.
   */
  constructor(options: PushApiClientOptions) {
    let url: URL;
    try {
      url = new URL(String(options.serverUrl));
    } catch {
      throw new InvalidArgumentError(`invalid server URL '${String(options.serverUrl)}'`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InvalidArgumentError(`invalid server URL '${url.href}' (expected http: or https:)`);
    }
    url.search = '';
    url.hash = '';
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    this.baseUrl = url;
    if (typeof options.userId !== 'string' || options.userId === '' || /[\r\n]/.test(options.userId)) {
      throw new InvalidArgumentError('userId must be a non-empty string without line breaks');
    }
    this.userId = options.userId;
    const key = toSigningKey(options.privateKey);
    if (key === null) throw new InvalidArgumentError('privateKey is not an RSA private key');
    this.#key = key;
    const version = options.signingVersion ?? '1.3';
    if (!isSigningVersion(version)) {
      throw new InvalidArgumentError(`unsupported Chef signing version '${String(version)}'`);
    }
    this.signingVersion = version;
    this.#serverApiVersion = options.serverApiVersion;
    const timeout = options.timeoutMs ?? DEFAULT_API_TIMEOUT_MS;
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new InvalidArgumentError(`invalid timeout ${String(timeout)} ms (expected a positive number)`);
    }
    this.timeoutMs = timeout;
    this.#headers = {
      'user-agent': options.userAgent ?? 'push-jobs-api-client',
      ...(options.headers ?? {}),
    };
    this.#agent =
      url.protocol === 'https:'
        ? new HttpsAgent({
            keepAlive: true,
            rejectUnauthorized: options.rejectUnauthorized ?? true,
            ...(options.ca === undefined ? {} : { ca: options.ca as string | Buffer | (string | Buffer)[] }),
          })
        : new HttpAgent({ keepAlive: true });
  }

  /**
   * The URL of `path`: a relative path resolves against {@link baseUrl}, a path starting with
   * `/` against the server root; a full URL must have the same origin (the client signs only
   * for its own server).
   */
  url(path: string, query?: ApiQuery): URL {
    let url: URL;
    if (/^https?:\/\//i.test(path)) {
      url = new URL(path);
      if (url.origin !== this.baseUrl.origin) {
        throw new InvalidArgumentError(
          `refusing to sign a request to ${url.origin} (the client is for ${this.baseUrl.origin})`,
        );
      }
    } else {
      url = new URL(path, this.baseUrl);
    }
    if (query !== undefined) {
      for (const [name, value] of Object.entries(query)) {
        if (value !== undefined) url.searchParams.append(name, String(value));
      }
    }
    return url;
  }

  /**
   * Sends a signed request and returns the parsed JSON answer (`undefined` for an empty body).
   * `body` is sent as JSON unless it is a string or a Buffer (sent as is).
   *
   * @throws PushApiError: {@link ApiUnreachableError}, {@link ApiTlsError},
   *   {@link ApiTimeoutError}, `ApiValidationError` (400), `ApiUnauthorizedError` (401),
   *   `ApiForbiddenError` (403), `ApiNotFoundError` (404), `ApiConflictError` (409),
   *   `ApiServerError` (5xx), `ApiHttpError` (other statuses), {@link ApiResponseError}
   *   (a success whose body is not JSON).
   */
  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options: ApiRequestOptions = {},
  ): Promise<T> {
    const res = this.#check(await this.requestRaw(method, path, body, options), method);
    return this.#json<T>(res, method);
  }

  /**
   * Sends a signed request and returns the response whatever its status; only network
   * failures and timeouts throw.
   */
  requestRaw(
    method: string,
    path: string,
    body?: unknown,
    options: ApiRequestOptions = {},
  ): Promise<ApiResponse> {
    const upper = method.toUpperCase();
    const url = this.url(path, options.query);
    const payload = toPayload(body);
    const headers = this.#signedHeaders(upper, url, payload, options);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return new Promise<ApiResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        cleanup();
        reject(networkError(err, upper, url));
      };
      const req = this.#send(upper, url, headers);
      const timer = setTimeout(() => {
        req.destroy(
          new ApiTimeoutError(`${upper} ${url.href}: no answer within ${timeoutMs} ms`, {
            method: upper,
            url: url.href,
            timeoutMs,
          }),
        );
      }, timeoutMs);
      const onAbort = (): void => {
        req.destroy(options.signal?.reason instanceof Error ? options.signal.reason : abortError());
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      if (options.signal?.aborted === true) {
        onAbort();
      } else {
        options.signal?.addEventListener('abort', onAbort, { once: true });
      }
      req.on('error', fail);
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          cleanup();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            url: url.href,
          });
        });
      });
      req.end(payload);
    });
  }

  /**
   * Opens an event feed (`Accept: text/event-stream`) and resolves once the server answered
   * 200; the events are read by iterating the returned stream. Any other answer rejects with the
   * error of its status, as {@link request} does.
   */
  events(path: string, options: FeedOptions = {}): Promise<FeedStream> {
    const method = 'GET';
    const url = this.url(path, options.query);
    const headers = this.#signedHeaders(method, url, undefined, {
      accept: 'text/event-stream',
      headers: options.lastEventId === undefined ? {} : { 'last-event-id': options.lastEventId },
    });
    const timeoutMs = this.timeoutMs;
    return new Promise<FeedStream>((resolve, reject) => {
      let settled = false;
      const req = this.#send(method, url, headers);
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(networkError(err, method, url));
      };
      const timer = setTimeout(() => {
        req.destroy(
          new ApiTimeoutError(`${method} ${url.href}: no answer within ${timeoutMs} ms`, {
            method,
            url: url.href,
            timeoutMs,
          }),
        );
      }, timeoutMs);
      if (options.signal?.aborted === true) req.destroy(abortError());
      else options.signal?.addEventListener('abort', () => req.destroy(abortError()), { once: true });
      req.on('error', fail);
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const type = String(res.headers['content-type'] ?? '');
        if (status !== 200 || !type.startsWith('text/event-stream')) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            fail(
              status === 200
                ? new ApiResponseError(`${method} ${url.href}: expected an event stream, got '${type}'`, {
                    method,
                    url: url.href,
                    status,
                  })
                : errorForStatus(status, body, { method, url: url.href }),
            );
          });
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(new HttpFeedStream(res, req, method, url, options));
      });
      req.end();
    });
  }

  /** Destroys the client's kept-alive sockets. Requests in flight fail. */
  close(): void {
    this.#agent.destroy();
  }

  // --- push-jobs endpoints (paths relative to the organization URL) ---

  /** `POST pushy/jobs`: starts a job; the id is the last segment of the returned `uri`. */
  async startJob(body: JobCreation, options?: ApiRequestOptions): Promise<{ id: string; uri: string }> {
    const created = await this.request<{ uri?: unknown }>('POST', 'pushy/jobs', body, options);
    const uri = created?.uri;
    if (typeof uri !== 'string' || uri === '') {
      throw new ApiResponseError(`POST ${this.url('pushy/jobs').href}: the answer has no job uri`, {
        method: 'POST',
        url: this.url('pushy/jobs').href,
        status: 201,
      });
    }
    const id = decodeURIComponent(uri.replace(/\/+$/, '').split('/').pop() ?? '');
    return { id, uri };
  }

  /**
   * `GET pushy/jobs`, optionally filtered by status and paged (newest first) with `limit` and
   * `offset`; `total` is the `X-Total-Count` header when the server sent it.
   */
  async listJobs(
    query: { status?: string; limit?: number; offset?: number } = {},
    options?: ApiRequestOptions,
  ): Promise<JobListPage> {
    const method = 'GET';
    const res = this.#check(
      await this.requestRaw(method, 'pushy/jobs', undefined, { ...options, query: { ...query } }),
      method,
    );
    const jobs = this.#json<JobList>(res, method);
    const header = res.headers['x-total-count'];
    const total = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined;
    return total === undefined ? { jobs } : { jobs, total };
  }

  /** `GET pushy/jobs/ID`. */
  getJob(id: string, options?: ApiRequestOptions & { includeFile?: boolean }): Promise<Job> {
    const query = options?.includeFile === true ? { include_file: 'true' } : undefined;
    return this.request<Job>('GET', `pushy/jobs/${segment(id)}`, undefined, { ...options, query });
  }

  /** `POST pushy/jobs/ID/abort` (our extension): the job after the abort. */
  abortJob(id: string, options?: ApiRequestOptions): Promise<Job> {
    return this.request<Job>('POST', `pushy/jobs/${segment(id)}/abort`, undefined, options);
  }

  /** `GET pushy/jobs/ID/output/NODE/CHANNEL`. */
  async getJobOutput(
    id: string,
    node: string,
    channel: 'stdout' | 'stderr',
    options?: ApiRequestOptions,
  ): Promise<JobOutput> {
    const method = 'GET';
    const res = this.#check(
      await this.requestRaw(
        method,
        `pushy/jobs/${segment(id)}/output/${segment(node)}/${channel}`,
        undefined,
        {
          accept: 'application/octet-stream',
          ...options,
        },
      ),
      method,
    );
    return {
      output: res.body.toString('utf8'),
      truncated: String(res.headers['x-push-jobs-output-truncated']) === 'true',
    };
  }

  /** `GET pushy/node_states`. */
  listNodeStates(options?: ApiRequestOptions): Promise<NodeStateList> {
    return this.request<NodeStateList>('GET', 'pushy/node_states', undefined, options);
  }

  /** `GET pushy/node_states/NODE` (an unknown node is offline, not a 404). */
  getNodeState(node: string, options?: ApiRequestOptions): Promise<NodeState> {
    return this.request<NodeState>('GET', `pushy/node_states/${segment(node)}`, undefined, options);
  }

  /** `GET search/node?q=QUERY`: one page of node objects. */
  searchNodes(
    query: string,
    page: { start?: number; rows?: number } = {},
    options?: ApiRequestOptions,
  ): Promise<SearchResult<ChefNode>> {
    return this.request<SearchResult<ChefNode>>('GET', 'search/node', undefined, {
      ...options,
      query: { q: query, start: page.start, rows: page.rows },
    });
  }

  /** `GET nodes/NAME`. */
  getNode(name: string, options?: ApiRequestOptions): Promise<ChefNode> {
    return this.request<ChefNode>('GET', `nodes/${segment(name)}`, undefined, options);
  }

  /** `PUT nodes/NAME` with the whole node object. */
  putNode(node: ChefNode, options?: ApiRequestOptions): Promise<ChefNode> {
    return this.request<ChefNode>('PUT', `nodes/${segment(node.name)}`, node, options);
  }

  /** `GET pushy/job_status_feed/ID`: one job's events; ends after `job_complete`. */
  jobEvents(id: string, options?: FeedOptions): Promise<FeedStream> {
    return this.events(`pushy/job_status_feed/${segment(id)}`, options);
  }

  /** `GET pushy/job_status_feed`: the organization's `start` and `job_complete` events. */
  orgEvents(options?: FeedOptions): Promise<FeedStream> {
    return this.events('pushy/job_status_feed', options);
  }

  #send(method: string, url: URL, headers: OutgoingHttpHeaders): ClientRequest {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return send(url, { method, headers, agent: this.#agent });
  }

  #signedHeaders(
    method: string,
    url: URL,
    payload: Buffer | undefined,
    options: Pick<ApiRequestOptions, 'accept' | 'headers'>,
  ): OutgoingHttpHeaders {
    const signed = signRequest({
      method,
      path: url.pathname,
      body: payload ?? '',
      userId: this.userId,
      privateKey: this.#key,
      version: this.signingVersion,
      ...(this.#serverApiVersion === undefined ? {} : { serverApiVersion: this.#serverApiVersion }),
    });
    const headers: OutgoingHttpHeaders = {
      ...this.#headers,
      accept: options.accept ?? 'application/json',
      ...(options.headers ?? {}),
      ...signed,
    };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    return headers;
  }

  #check(res: ApiResponse, method: string): ApiResponse {
    if (res.status >= 200 && res.status < 300) return res;
    throw errorForStatus(res.status, res.body, { method, url: res.url });
  }

  #json<T>(res: ApiResponse, method: string): T {
    if (res.body.length === 0) return undefined as T;
    try {
      return JSON.parse(res.body.toString('utf8')) as T;
    } catch (err) {
      throw new ApiResponseError(`${method} ${res.url}: the answer (${res.status}) is not JSON`, {
        method,
        url: res.url,
        status: res.status,
        cause: err,
      });
    }
  }
}

function toPayload(body: unknown): Buffer | undefined {
  if (body === undefined) return undefined;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

function abortError(): Error {
  const err = new Error('the request was aborted');
  err.name = 'AbortError';
  return err;
}

/** The {@link FeedStream} over one HTTP response. */
class HttpFeedStream implements FeedStream {
  readonly #res: IncomingMessage;
  readonly #req: ClientRequest;
  readonly #parser: SseParser;
  readonly #iterator: AsyncGenerator<ParsedFeedEvent>;
  #closed = false;

  constructor(res: IncomingMessage, req: ClientRequest, method: string, url: URL, options: FeedOptions) {
    this.#res = res;
    this.#req = req;
    this.#parser = new SseParser({ maxEventSize: options.maxEventSize });
    res.setEncoding('utf8');
    if (options.signal !== undefined) {
      if (options.signal.aborted) this.close();
      else options.signal.addEventListener('abort', () => this.close(), { once: true });
    }
    this.#iterator = this.#read(method, url, options.idleTimeoutMs);
  }

  get lastEventId(): string | undefined {
    return this.#parser.lastEventId;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#res.destroy();
    this.#req.destroy();
  }

  [Symbol.asyncIterator](): AsyncIterator<ParsedFeedEvent> {
    return this.#iterator;
  }

  // Reads only while iterated: a 'data' listener would start the flow before the iteration and
  // lose the first chunks. The idle timer counts the time spent waiting for bytes, not the time
  // the consumer holds an event.
  async *#read(method: string, url: URL, idleMs: number | undefined): AsyncGenerator<ParsedFeedEvent> {
    let idle: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (idleMs === undefined || idleMs <= 0) return;
      clearTimeout(idle);
      idle = setTimeout(() => {
        this.#res.destroy(
          new ApiTimeoutError(`${method} ${url.href}: the event feed was silent for ${idleMs} ms`, {
            method,
            url: url.href,
            timeoutMs: idleMs,
          }),
        );
      }, idleMs);
    };
    try {
      arm();
      for await (const chunk of this.#res as AsyncIterable<string>) {
        clearTimeout(idle);
        for (const message of this.#parser.push(chunk)) yield toFeedEvent(message);
        arm();
      }
      clearTimeout(idle);
      if (!this.#closed) for (const message of this.#parser.end()) yield toFeedEvent(message);
    } catch (err) {
      if (this.#closed) return;
      throw feedBroken(err, method, url);
    } finally {
      clearTimeout(idle);
      this.close();
    }
  }
}

function feedBroken(err: unknown, method: string, url: URL): PushApiError {
  if (isPushApiError(err)) return err;
  const e = err as NodeJS.ErrnoException;
  return new ApiUnreachableError(`the event feed ${url.href} broke off: ${e?.message ?? String(err)}`, {
    method,
    url: url.href,
    cause: err,
  });
}
