/**
 * Validators for the schemas of this package, on one shared Ajv instance, plus
 * {@link checkJobRequest}, which reproduces the job-creation error messages of the original
 * server.
 *
 * Ajv options: {@link AJV_OPTIONS} (strict, all errors, no mutation of the input).
 *
 * @module
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { MAX_FILE_BYTES, MAX_STORED_INTEGER, MAX_TIMER_SECONDS } from '../constants.js';
import { ValidationError } from '../errors.js';
import { isPlainObject } from '../plain-object.js';
import { AJV_OPTIONS, ajvErrors } from './ajv-shared.js';
import { AgentConfigSchema, WhitelistSchema } from './agent-config.js';
import { ClientEnvelopeSchema, ClientMessageSchema } from './client-messages.js';
import { ConfigDocumentSchema } from './config-document.js';
import {
  AuthErrorBodySchema,
  JobCreatedSchema,
  JobCreationSchema,
  JobListSchema,
  JobSchema,
  JobSummarySchema,
  MAX_JOB_SEARCH_LENGTH,
  NodeStateListSchema,
  NodeStateSchema,
  NodeStateSummarySchema,
  ServerStatusSchema,
  ValidationErrorBodySchema,
  type JobCreation,
} from './rest.js';
import { ServerMessageSchema } from './server-messages.js';

let sharedAjv: Ajv | undefined;

/** The shared Ajv instance (created on first use), for callers that compile their own schemas. */
export function getAjv(): Ajv {
  if (sharedAjv === undefined) {
    sharedAjv = new Ajv({ ...AJV_OPTIONS });
    // ajv-formats is typed against its own copy of Ajv; the instance is the same class at runtime.
    addFormats.default(sharedAjv as unknown as Parameters<typeof addFormats.default>[0]);
  }
  return sharedAjv;
}

/** A compiled schema: a type guard, an asserting variant and an error lister. */
export interface Validator<T> {
  /** The schema validated. */
  readonly schema: TSchema;
  /** True when `value` matches the schema. */
  check(value: unknown): value is T;
  /**
   * Returns `value`, typed, when it matches the schema.
   * @throws ValidationError whose `errors` list `"<instancePath> <message>"` per failure.
   */
  assert(value: unknown): T;
  /** Every failure as `"<instancePath> <message>"` (`/` is the document root); empty when valid. */
  errors(value: unknown): string[];
}

const compiled = new WeakMap<TSchema, ValidateFunction>();

function compile(schema: TSchema): ValidateFunction {
  let fn = compiled.get(schema);
  if (fn === undefined) {
    fn = getAjv().compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

/**
 * Compiles `schema` on the shared Ajv instance, lazily: the first call of `check`, `assert`
 * or `errors` compiles it, and every later call (and every other validator of the same schema
 * object) reuses the result.
 *
 * @param schema - a TypeBox (or plain JSON) schema.
 * @param name - what the schema describes, used in the message of a thrown ValidationError.
 */
export function compileValidator<T extends TSchema>(schema: T, name = 'document'): Validator<Static<T>> {
  const errorsOf = (value: unknown): string[] => ajvErrors(compile(schema), value);
  return {
    schema,
    check(value: unknown): value is Static<T> {
      return compile(schema)(value);
    },
    assert(value: unknown): Static<T> {
      const errors = errorsOf(value);
      if (errors.length > 0) throw new ValidationError(`invalid ${name}: ${errors.join('; ')}`, errors);
      return value as Static<T>;
    },
    errors: errorsOf,
  };
}

/** Ready validators for every message and body of this package. */
export const validators = {
  /** Any server-to-client message (spec 5.2). */
  serverMessage: compileValidator(ServerMessageSchema, 'server message'),
  /** Any client-to-server message (spec 5.3). */
  clientMessage: compileValidator(ClientMessageSchema, 'client message'),
  /** The envelope of a client message, whatever its type. */
  clientEnvelope: compileValidator(ClientEnvelopeSchema, 'client message envelope'),
  /** `POST .../pushy/jobs` body (prefer {@link checkJobRequest} for the original's messages). */
  jobCreation: compileValidator(JobCreationSchema, 'job request'),
  /** `201` body of a job creation. */
  jobCreated: compileValidator(JobCreatedSchema, 'job creation response'),
  /** One job list element. */
  jobSummary: compileValidator(JobSummarySchema, 'job summary'),
  /** `GET .../pushy/jobs` body. */
  jobList: compileValidator(JobListSchema, 'job list'),
  /** `GET .../pushy/jobs/JOBID` body. */
  job: compileValidator(JobSchema, 'job'),
  /** One node state list element. */
  nodeStateSummary: compileValidator(NodeStateSummarySchema, 'node state'),
  /** `GET .../pushy/node_states` body. */
  nodeStateList: compileValidator(NodeStateListSchema, 'node state list'),
  /** `GET .../pushy/node_states/NODE` body. */
  nodeState: compileValidator(NodeStateSchema, 'node state'),
  /** `GET /pushy/_status` body. */
  serverStatus: compileValidator(ServerStatusSchema, 'server status'),
  /** Authentication/authorization error body. */
  authErrorBody: compileValidator(AuthErrorBodySchema, 'error body'),
  /** Validation error body. */
  validationErrorBody: compileValidator(ValidationErrorBodySchema, 'error body'),
  /** Config document (spec 6). */
  configDocument: compileValidator(ConfigDocumentSchema, 'config document'),
  /** Agent configuration. */
  agentConfig: compileValidator(AgentConfigSchema, 'agent configuration'),
  /** Agent whitelist. */
  whitelist: compileValidator(WhitelistSchema, 'whitelist'),
} as const;

// ---------------------------------------------------------------------------------------------
// Job request checks with the original server's messages (spec 1.5)
// ---------------------------------------------------------------------------------------------

/** Error messages of job creation, exactly as the original server words them (spec 1.5). */
export const JOB_REQUEST_ERRORS = {
  notAnObject: 'request body must be a JSON object',
  command: 'invalid command supplied',
  nodes: 'at least one node must be supplied',
  runTimeoutType: 'invalid type supplied for run_timeout (expected a number)',
  quorumType: 'invalid type supplied for quorum (expected a number)',
  captureOutputType: 'invalid type supplied for capture_output (expected a boolean)',
  unknown: 'an unknown validation error has occurred',
  invalidKey: 'invalid key supplied',
  duplicateEnvKey: 'invalid environment value (duplicate key)',
  filePrefix: "invalid file contents (expected 'base64:...' or 'raw:...')",
  fileBase64: "invalid file contents (couldn't decode base64 string)",
  fileSize: `invalid file size (must be <= ${MAX_FILE_BYTES} bytes)`,
  runTimeoutValue: 'invalid value for run_timeout (expected a non-negative integer)',
  quorumValue: 'invalid value for quorum (expected a non-negative integer)',
  runTimeoutMax: `invalid value for run_timeout (must be <= ${MAX_TIMER_SECONDS} seconds)`,
  quorumMax: `invalid value for quorum (must be <= ${MAX_STORED_INTEGER})`,
  nodeName: 'invalid node name (node names must be non-empty and contain no NUL character)',
  commandNul: 'invalid command supplied (it contains a NUL character)',
  userNul: 'invalid user (it contains a NUL character)',
  dirNul: 'invalid dir (it contains a NUL character)',
  envNul: 'invalid environment value (a name or value contains a NUL character)',
  fileNul: "invalid file contents (a raw: file contains a NUL character; send it as 'base64:...')",
  searchType: 'invalid type supplied for search (expected a string: a Chef search query such as "role:web")',
  searchEmpty: 'invalid search (the query is empty)',
  searchLength: `invalid search (the query is longer than ${MAX_JOB_SEARCH_LENGTH} characters)`,
  searchNul: 'invalid search (the query contains a NUL character)',
  allowEmptySearchType: 'invalid type supplied for allow_empty_search (expected a boolean)',
  maxConcurrency: `invalid value for max_concurrency (expected a count from 1 to ${MAX_STORED_INTEGER}, or a percentage "1%" to "100%")`,
  maxErrors: `invalid value for max_errors (expected a count from 0 to ${MAX_STORED_INTEGER}, or a percentage "0%" to "100%")`,
} as const;

const JOB_REQUEST_KEYS = new Set([
  'command',
  'nodes',
  'run_timeout',
  'quorum',
  'user',
  'dir',
  'env',
  'file',
  'capture_output',
  // Ours (targeting and rollouts).
  'search',
  'allow_empty_search',
  'max_concurrency',
  'max_errors',
]);

/** The outcome of {@link checkJobRequest}. */
export type JobRequestCheck = { ok: true; value: JobCreation } | { ok: false; error: string };

const has = (obj: object, key: string): boolean => Object.prototype.hasOwnProperty.call(obj, key);

/** The type problem of a body, as the original's first validation step reports it. */
function typeError(body: Record<string, unknown>): string | undefined {
  if (typeof body.command !== 'string') return JOB_REQUEST_ERRORS.command;
  const nodes = body.nodes;
  // With a `search` (ours), `nodes` may be left out.
  const nodesOptional = has(body, 'search') && nodes === undefined;
  if (!nodesOptional && (!Array.isArray(nodes) || nodes.some((n) => typeof n !== 'string'))) {
    return JOB_REQUEST_ERRORS.nodes;
  }
  if (has(body, 'run_timeout') && typeof body.run_timeout !== 'number')
    return JOB_REQUEST_ERRORS.runTimeoutType;
  if (has(body, 'quorum') && typeof body.quorum !== 'number') return JOB_REQUEST_ERRORS.quorumType;
  if (has(body, 'capture_output') && typeof body.capture_output !== 'boolean') {
    return JOB_REQUEST_ERRORS.captureOutputType;
  }
  for (const key of ['user', 'dir', 'file'] as const) {
    if (has(body, key) && typeof body[key] !== 'string') return JOB_REQUEST_ERRORS.unknown;
  }
  if (has(body, 'env')) {
    const env = body.env;
    if (!isPlainObject(env) || Object.values(env).some((v) => typeof v !== 'string')) {
      return JOB_REQUEST_ERRORS.unknown;
    }
  }
  return undefined;
}

const COUNT_OR_PERCENT = (min: 0 | 1) => (min === 0 ? /^(100|[1-9]?[0-9])%$/ : /^(100|[1-9][0-9]?)%$/);

/** A rollout size: an integer from `min` to {@link MAX_STORED_INTEGER}, or `"N%"` (`min`% to 100%). */
function isRolloutSize(value: unknown, min: 0 | 1): boolean {
  if (typeof value === 'number')
    return Number.isSafeInteger(value) && value >= min && value <= MAX_STORED_INTEGER;
  return typeof value === 'string' && COUNT_OR_PERCENT(min).test(value);
}

/**
 * Step 1b (ours): the fields of targeting and rollouts, which the original did not have (a body
 * of the original's shape never reaches a message of this step).
 */
function extensionError(body: Record<string, unknown>): string | undefined {
  if (has(body, 'search')) {
    const search = body.search;
    if (typeof search !== 'string') return JOB_REQUEST_ERRORS.searchType;
    if (search.trim() === '') return JOB_REQUEST_ERRORS.searchEmpty;
    if (search.length > MAX_JOB_SEARCH_LENGTH) return JOB_REQUEST_ERRORS.searchLength;
    if (search.includes(NUL)) return JOB_REQUEST_ERRORS.searchNul;
  }
  if (has(body, 'allow_empty_search') && typeof body.allow_empty_search !== 'boolean') {
    return JOB_REQUEST_ERRORS.allowEmptySearchType;
  }
  if (has(body, 'max_concurrency') && !isRolloutSize(body.max_concurrency, 1)) {
    return JOB_REQUEST_ERRORS.maxConcurrency;
  }
  if (has(body, 'max_errors') && !isRolloutSize(body.max_errors, 0)) return JOB_REQUEST_ERRORS.maxErrors;
  return undefined;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Strictly decodes standard base64 (RFC 4648 section 4, with padding, no whitespace); returns
 * the decoded length in bytes, or `undefined` when `text` is not valid base64.
 */
export function strictBase64DecodedLength(text: string): number | undefined {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64');
  // Reject non-canonical encodings (non-zero unused bits), which do not round-trip.
  if (decoded.toString('base64') !== text) return undefined;
  return decoded.length;
}

/** The problem with a job's `file` string, if any (step 5 of spec 1.5). */
function fileError(file: string): string | undefined {
  let size: number;
  if (file.startsWith('raw:')) {
    size = Buffer.byteLength(file.slice('raw:'.length), 'utf8');
  } else if (file.startsWith('base64:')) {
    const decoded = strictBase64DecodedLength(file.slice('base64:'.length));
    if (decoded === undefined) return JOB_REQUEST_ERRORS.fileBase64;
    size = decoded;
  } else {
    return JOB_REQUEST_ERRORS.filePrefix;
  }
  return size > MAX_FILE_BYTES ? JOB_REQUEST_ERRORS.fileSize : undefined;
}

/**
 * Checks a `POST .../pushy/jobs` body in the order of the original server and returns its
 * exact error message (spec 1.5, "Validation order and messages"):
 *
 * 1. types, field by field in this order: `command` (`invalid command supplied`), `nodes`
 *    (`at least one node must be supplied`), `run_timeout`, `quorum`, `capture_output` (the
 *    `invalid type supplied for ...` messages), then `user`, `dir`, `file` and `env`
 *    (`an unknown validation error has occurred`);
 *    1b. (ours) `search` (a string, not blank, at most {@link MAX_JOB_SEARCH_LENGTH} characters,
 *    no NUL), `allow_empty_search` (a boolean), `max_concurrency` (a count from 1, or `"1%"` to
 *    `"100%"`) and `max_errors` (a count from 0, or `"0%"` to `"100%"`), each with a message
 *    naming the field and what it accepts;
 * 2. an unknown top-level key: `invalid key supplied`;
 * 3. an empty `nodes` array: `at least one node must be supplied`;
 * 4. a duplicate key in `env`: `invalid environment value (duplicate key)`; this needs
 *    `rawJson`, because `JSON.parse` keeps only the last of duplicate keys;
 * 5. `file`: the prefix, then strict base64, then the size of the content (at most
 *    100,000 bytes).
 *
 * Deliberate differences from the original:
 * * a body that is not a JSON object gives `request body must be a JSON object` (the original
 *   crashed with a 500);
 * * 6. a `run_timeout` or `quorum` that is a number but not a non-negative integer gives
 *   `invalid value for run_timeout (expected a non-negative integer)` or
 *   `invalid value for quorum (expected a non-negative integer)` (the original accepted them
 *   and then failed in the database or the timers). These come last, so every body the
 *   original rejected still gets the original's message;
 * * 7. limits of ours, last of all: a `run_timeout` above 2,147,483 seconds (the longest timer),
 *   a `quorum` above 2^31 - 1 (an integer column), an empty node name, or a NUL character in
 *   `command`, a node name, `user`, `dir`, `env` or a `raw:` file each get a message of their own
 *   (`JOB_REQUEST_ERRORS`; the original accepted them and then timed out at once or failed in
 *   the database);
 * * the file size message is the clean string `invalid file size (must be <= 100000 bytes)`
 *   (the original's was probably garbled).
 *
 * A `quorum` larger than the node count is accepted, as in the original.
 *
 * Targeting (ours): with a `search`, `nodes` may be left out (or be `[]`, which the returned
 * value drops); with neither, the original's `at least one node must be supplied`. The search
 * itself is resolved by the server, after authentication.
 *
 * @param body - the parsed request body.
 * @param rawJson - the request body text, to detect duplicate keys in `env`.
 */
export function checkJobRequest(body: unknown, rawJson?: string): JobRequestCheck {
  if (!isPlainObject(body)) return { ok: false, error: JOB_REQUEST_ERRORS.notAnObject };
  const typeProblem = typeError(body) ?? extensionError(body);
  if (typeProblem !== undefined) return { ok: false, error: typeProblem };
  if (Object.keys(body).some((key) => !JOB_REQUEST_KEYS.has(key))) {
    return { ok: false, error: JOB_REQUEST_ERRORS.invalidKey };
  }
  const nodes = body.nodes as string[] | undefined;
  const searched = typeof body.search === 'string';
  if (nodes !== undefined && nodes.length === 0 && !searched) {
    return { ok: false, error: JOB_REQUEST_ERRORS.nodes };
  }
  if (rawJson !== undefined && has(body, 'env') && hasDuplicateEnvKey(rawJson)) {
    return { ok: false, error: JOB_REQUEST_ERRORS.duplicateEnvKey };
  }
  if (typeof body.file === 'string') {
    const problem = fileError(body.file);
    if (problem !== undefined) return { ok: false, error: problem };
  }
  if (has(body, 'run_timeout') && !isNonNegativeInteger(body.run_timeout)) {
    return { ok: false, error: JOB_REQUEST_ERRORS.runTimeoutValue };
  }
  if (has(body, 'quorum') && !isNonNegativeInteger(body.quorum)) {
    return { ok: false, error: JOB_REQUEST_ERRORS.quorumValue };
  }
  const limitProblem = limitError(body);
  if (limitProblem !== undefined) return { ok: false, error: limitProblem };
  if (nodes !== undefined && nodes.length === 0) {
    // `"nodes": []` beside a search: the same as no `nodes` (the schema wants one or more).
    const { nodes: _empty, ...rest } = body;
    return { ok: true, value: rest as JobCreation };
  }
  return { ok: true, value: body as JobCreation };
}

const NUL = '\u0000';

/**
 * Step 7 (ours): what the stores and timers cannot hold, checked last so that every body the
 * original rejected keeps its message: a `run_timeout` longer than a timer can wait, a `quorum`
 * beyond an integer column, an empty node name, and a NUL character in any string (PostgreSQL
 * text cannot hold one). Linear in the body with a small constant (one pass over the nodes).
 */
function limitError(body: Record<string, unknown>): string | undefined {
  if (typeof body.run_timeout === 'number' && body.run_timeout > MAX_TIMER_SECONDS) {
    return JOB_REQUEST_ERRORS.runTimeoutMax;
  }
  if (typeof body.quorum === 'number' && body.quorum > MAX_STORED_INTEGER)
    return JOB_REQUEST_ERRORS.quorumMax;
  for (const node of (body.nodes as string[] | undefined) ?? []) {
    if (node.length === 0 || node.includes(NUL)) return JOB_REQUEST_ERRORS.nodeName;
  }
  if ((body.command as string).includes(NUL)) return JOB_REQUEST_ERRORS.commandNul;
  if (typeof body.user === 'string' && body.user.includes(NUL)) return JOB_REQUEST_ERRORS.userNul;
  if (typeof body.dir === 'string' && body.dir.includes(NUL)) return JOB_REQUEST_ERRORS.dirNul;
  if (isPlainObject(body.env)) {
    for (const [name, value] of Object.entries(body.env)) {
      if (name.includes(NUL) || (value as string).includes(NUL)) return JOB_REQUEST_ERRORS.envNul;
    }
  }
  if (typeof body.file === 'string' && body.file.includes(NUL)) return JOB_REQUEST_ERRORS.fileNul;
  return undefined;
}

function isNonNegativeInteger(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

// ---------------------------------------------------------------------------------------------
// Duplicate key detection in raw JSON
// ---------------------------------------------------------------------------------------------

const LITERAL = /true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// eslint-disable-next-line no-control-regex -- JSON forbids raw control characters in strings
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/** A minimal JSON scanner that only reports the keys of objects; throws on malformed text. */
class KeyScanner {
  private pos = 0;
  constructor(private readonly text: string) {}

  /** Scans the top-level value; calls `onTopLevelEnv` with the key list of each top-level `env` object. */
  scanTopLevel(onTopLevelEnv: (keys: string[]) => void): void {
    this.ws();
    if (this.text[this.pos] !== '{') throw new SyntaxError('not an object');
    this.object((key, isObject) => {
      if (key === 'env' && isObject) return onTopLevelEnv;
      return undefined;
    });
    this.ws();
    if (this.pos !== this.text.length) throw new SyntaxError('trailing text');
  }

  private ws(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos] as string)) this.pos += 1;
  }

  /**
   * Scans an object at `pos`. For each member, `inspect(key, valueIsObject)` may return a
   * callback that receives the keys of that member's value (an object).
   */
  private object(
    inspect?: (key: string, isObject: boolean) => ((keys: string[]) => void) | undefined,
  ): string[] {
    const keys: string[] = [];
    this.pos += 1; // {
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos += 1;
      return keys;
    }
    for (;;) {
      this.ws();
      const key = this.string();
      keys.push(key);
      this.ws();
      if (this.text[this.pos] !== ':') throw new SyntaxError('expected :');
      this.pos += 1;
      this.ws();
      const callback = inspect?.(key, this.text[this.pos] === '{');
      const childKeys = this.value();
      if (callback !== undefined && childKeys !== undefined) callback(childKeys);
      this.ws();
      const c = this.text[this.pos];
      this.pos += 1;
      if (c === '}') return keys;
      if (c !== ',') throw new SyntaxError('expected , or }');
    }
  }

  /** Scans any value; returns the keys when it is an object. */
  private value(): string[] | undefined {
    const c = this.text[this.pos];
    if (c === '{') return this.object();
    if (c === '[') {
      this.pos += 1;
      this.ws();
      if (this.text[this.pos] === ']') {
        this.pos += 1;
        return undefined;
      }
      for (;;) {
        this.ws();
        this.value();
        this.ws();
        const d = this.text[this.pos];
        this.pos += 1;
        if (d === ']') return undefined;
        if (d !== ',') throw new SyntaxError('expected , or ]');
      }
    }
    if (c === '"') {
      this.string();
      return undefined;
    }
    LITERAL.lastIndex = this.pos;
    const literal = LITERAL.exec(this.text);
    if (literal === null) throw new SyntaxError('unexpected token');
    this.pos += literal[0].length;
    return undefined;
  }

  /** Scans a string at `pos` and returns its decoded value. */
  private string(): string {
    STRING.lastIndex = this.pos;
    const match = STRING.exec(this.text);
    if (match === null) throw new SyntaxError('bad string');
    this.pos += match[0].length;
    return JSON.parse(match[0]) as string;
  }
}

/**
 * True when a top-level `env` object in the JSON text `rawJson` has the same key twice
 * (compared after unescaping, so `"A"` and `"\u0041"` are the same key). Malformed JSON gives
 * false: the caller has parsed the body already.
 */
export function hasDuplicateEnvKey(rawJson: string): boolean {
  let duplicate = false;
  try {
    new KeyScanner(rawJson).scanTopLevel((keys) => {
      if (new Set(keys).size !== keys.length) duplicate = true;
    });
  } catch {
    return false;
  }
  return duplicate;
}
