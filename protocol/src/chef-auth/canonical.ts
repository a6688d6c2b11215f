/**
 * The pieces of the Chef signed-header protocol that do not touch a key: protocol versions,
 * the canonical path, body hashes, the `X-Ops-Sign` header and the string to sign.
 *
 * Sources: `chef_authn.erl` (what the Chef Server and the original push-jobs server run) and
 * mixlib-authentication 3.0.6 (what Chef clients, knife and knife-push run). Where the two
 * differ, the behaviour chosen here interoperates with both; each difference is noted where it
 * matters.
 */
import { createHash } from 'node:crypto';

/** Every signing protocol version this module can sign and verify, oldest first. */
export const SIGNING_VERSIONS = ['1.0', '1.1', '1.2', '1.3'] as const;

/** A signing protocol version, as carried in the `version=` part of `X-Ops-Sign`. */
export type SigningVersion = (typeof SIGNING_VERSIONS)[number];

/** The digest a signing version uses for the body, the path and the signature. */
export type SigningAlgorithm = 'sha1' | 'sha256';

/**
 * The only digest each version allows. An `X-Ops-Sign` header that names another algorithm for
 * the version is unsupported (chef_authn `signing_protocols_for_version/1`).
 */
export const SIGNING_ALGORITHM_FOR_VERSION: Readonly<Record<SigningVersion, SigningAlgorithm>> = {
  '1.0': 'sha1',
  '1.1': 'sha1',
  '1.2': 'sha1',
  '1.3': 'sha256',
};

/**
 * The `X-Ops-Server-API-Version` value signed by version 1.3 when the request has no such
 * header. Both chef_authn and mixlib use 0.
 */
export const DEFAULT_SERVER_API_VERSION = 0;

/** True when `value` is one of {@link SIGNING_VERSIONS}. */
export function isSigningVersion(value: unknown): value is SigningVersion {
  return value === '1.0' || value === '1.1' || value === '1.2' || value === '1.3';
}

const MULTI_SLASH = /\/{2,}/g;

/**
 * The path as it is signed: the query string is dropped, runs of slashes collapse to one, and a
 * trailing slash is removed unless the path is just `/`.
 *
 * An empty result becomes `/`, as in chef_authn. (mixlib does not strip the query string itself:
 * its callers pass `URI#path` or Rack's `request.path`, which never carry one. It would sign an
 * empty path as empty, but an HTTP request path is never empty.)
 *
 * @example canonicalPath('//organizations/acme//pushy/jobs/?x=1') === '/organizations/acme/pushy/jobs'
 */
export function canonicalPath(path: string): string {
  const q = path.indexOf('?');
  let p = q >= 0 ? path.slice(0, q) : path;
  if (p.includes('//')) p = p.replace(MULTI_SLASH, '/');
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p === '' ? '/' : p;
}

/** base64(digest(data)), the encoding of every hash in the protocol. */
export function digestBase64(algorithm: SigningAlgorithm, data: string | Uint8Array): string {
  return createHash(algorithm).update(data).digest('base64');
}

/**
 * The `X-Ops-Content-Hash` of a body for a version: base64 SHA-1 for 1.0 to 1.2, base64 SHA-256
 * for 1.3. A missing body hashes as the empty string (`2jmj7l5rSw0yVb/vlWAYkK/YBwk=` in SHA-1),
 * in both chef_authn and mixlib.
 */
export function contentHash(body: string | Uint8Array | undefined, version: SigningVersion): string {
  return digestBase64(SIGNING_ALGORITHM_FOR_VERSION[version], body ?? '');
}

/** The parts of an `X-Ops-Sign` header value. */
export interface SignDescription {
  /** The `version=` part, if any. */
  version?: string;
  /** The `algorithm=` part, if any. */
  algorithm?: string;
}

/**
 * Parses an `X-Ops-Sign` value such as `algorithm=sha256;version=1.3`.
 *
 * The value is split on `;` into `key=value` pairs; keys are matched case-insensitively, values
 * are trimmed, and empty parts are ignored. mixlib sends a trailing `;`
 * (`algorithm=sha1;version=1.0;`), chef_authn sends none and leaves out `algorithm` below 1.3.
 * Never throws.
 */
export function parseSignHeader(value: string): SignDescription {
  const out: SignDescription = {};
  if (typeof value !== 'string') return out;
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const val = part.slice(eq + 1).trim();
    if (key === 'version') out.version = val;
    else if (key === 'algorithm') out.algorithm = val;
  }
  return out;
}

/**
 * The `X-Ops-Sign` value {@link signRequest} sends for a version: `version=1.0`,
 * `algorithm=sha1;version=1.1`, `algorithm=sha1;version=1.2`, `algorithm=sha256;version=1.3`.
 */
export function signHeaderValue(version: SigningVersion): string {
  return version === '1.0'
    ? 'version=1.0'
    : `algorithm=${SIGNING_ALGORITHM_FOR_VERSION[version]};version=${version}`;
}

/**
 * Resolves a parsed `X-Ops-Sign` to a supported version, or `undefined`. A missing algorithm
 * means the version's only one (chef_authn); a named algorithm must be that one (both).
 */
export function resolveSignDescription(desc: SignDescription): SigningVersion | undefined {
  const { version, algorithm } = desc;
  if (!isSigningVersion(version)) return undefined;
  if (algorithm !== undefined && algorithm.toLowerCase() !== SIGNING_ALGORITHM_FOR_VERSION[version]) {
    return undefined;
  }
  return version;
}

/** What goes into the string to sign, already in canonical form except the method and path. */
export interface CanonicalRequestParts {
  /** HTTP method, any case; it is upper-cased. */
  method: string;
  /** Request path as sent; it is canonicalized with {@link canonicalPath}. */
  path: string;
  /** base64 body hash for the version ({@link contentHash}). */
  contentHash: string;
  /** `X-Ops-Timestamp`, exactly as sent. */
  timestamp: string;
  /** `X-Ops-UserId`, raw; it is hashed for 1.1 and 1.2. */
  userId: string;
  /** The server API version line of 1.3, already formatted ({@link formatServerApiVersion}). */
  serverApiVersion?: string;
}

/**
 * Builds the string to sign.
 *
 * 1.0 to 1.2 (five lines): `Method:`, `Hashed Path:` base64(SHA-1(canonical path)),
 * `X-Ops-Content-Hash:`, `X-Ops-Timestamp:`, `X-Ops-UserId:` (raw in 1.0, base64(SHA-1) in 1.1
 * and 1.2).
 *
 * 1.3 (seven lines): `Method:`, `Path:` (canonical, not hashed), `X-Ops-Content-Hash:`,
 * `X-Ops-Sign:version=1.3`, `X-Ops-Timestamp:`, `X-Ops-UserId:` (raw),
 * `X-Ops-Server-API-Version:` (default 0). mixlib and chef_authn agree on this order.
 */
export function canonicalRequest(parts: CanonicalRequestParts, version: SigningVersion): string {
  const method = parts.method.toUpperCase();
  const path = canonicalPath(parts.path);
  if (version === '1.3') {
    return (
      `Method:${method}\nPath:${path}\nX-Ops-Content-Hash:${parts.contentHash}\n` +
      `X-Ops-Sign:version=1.3\nX-Ops-Timestamp:${parts.timestamp}\nX-Ops-UserId:${parts.userId}\n` +
      `X-Ops-Server-API-Version:${parts.serverApiVersion ?? String(DEFAULT_SERVER_API_VERSION)}`
    );
  }
  const userId = version === '1.0' ? parts.userId : digestBase64('sha1', parts.userId);
  return (
    `Method:${method}\nHashed Path:${digestBase64('sha1', path)}\n` +
    `X-Ops-Content-Hash:${parts.contentHash}\nX-Ops-Timestamp:${parts.timestamp}\nX-Ops-UserId:${userId}`
  );
}

const INTEGER = /^[+-]?\d+$/;

/**
 * Formats a server API version for the 1.3 string to sign and the `X-Ops-Server-API-Version`
 * header: the canonical decimal integer (`'01'` becomes `'1'`), or `undefined` if the value is
 * not an integer.
 *
 * chef_authn signs `binary_to_integer(Header)` printed back; mixlib signs the header text as
 * is. Sending the canonical form makes both compute the same line.
 */
export function formatServerApiVersion(value: number | string): string | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  if (!INTEGER.test(v)) return undefined;
  return BigInt(v).toString();
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):?(\d{2}))$/;

/**
 * Parses an ISO-8601 timestamp (`YYYY-MM-DDTHH:MM:SSZ`, optionally with fractional seconds or
 * a `±HH:MM` offset) to epoch milliseconds, or `NaN` when it is not one. Out-of-range fields
 * (month 13, 24:00:00, February 30) are rejected.
 */
export function parseTimestamp(value: string): number {
  if (typeof value !== 'string') return NaN;
  const m = ISO_8601.exec(value);
  if (m === null) return NaN;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return NaN;
  if (day > daysInMonth(year, month)) return NaN;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  let ms = d.getTime();
  const frac = m[7];
  if (frac !== undefined) ms += Number(`0.${frac}`) * 1000;
  if (m[8] === undefined) {
    const offHours = Number(m[10]);
    const offMinutes = Number(m[11]);
    if (offHours > 23 || offMinutes > 59) return NaN;
    const offset = (offHours * 60 + offMinutes) * 60_000;
    ms += m[9] === '-' ? offset : -offset;
  }
  return ms;
}

/**
 * Formats a time as the protocol's timestamp, `YYYY-MM-DDTHH:MM:SSZ` in UTC with no fraction
 * (mixlib's `Time#utc.iso8601`, chef_authn's `time_iso8601/1`). Milliseconds are truncated.
 */
export function formatTimestamp(time: Date | number): string {
  const ms = typeof time === 'number' ? time : time.getTime();
  return new Date(ms - (((ms % 1000) + 1000) % 1000)).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
