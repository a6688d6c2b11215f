/**
 * Verifying Chef-signed requests, as the push-jobs server does with chef_authn
 * `authenticate_user_request/6`.
 */
import { constants, publicDecrypt, verify as rsaVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import {
  SIGNING_ALGORITHM_FOR_VERSION,
  SIGNING_VERSIONS,
  canonicalRequest,
  contentHash,
  formatServerApiVersion,
  parseSignHeader,
  parseTimestamp,
  resolveSignDescription,
} from './canonical.js';
import type { SigningVersion } from './canonical.js';
import { REQUIRED_HEADERS, headerLookup, readAuthorizationFromLookup } from './headers.js';
import type { HeaderInput, RequiredHeader } from './headers.js';
import { toVerifyKey } from '../rsa-keys.js';

/** The request as the server received it. */
export interface VerifiableRequest {
  /** HTTP method, any case. */
  method: string;
  /** Request path as received, with or without the query string. */
  path: string;
  /**
   * Raw request body; a string is hashed as UTF-8.
   * @default '' (no body)
   */
  body?: string | Buffer;
  /** Request headers; names are matched case-insensitively. */
  headers: HeaderInput;
}

/** Options of {@link verifyRequest}. */
export interface VerifyOptions {
  /**
   * The verifier's clock.
   * @default new Date()
   */
  now?: Date;
  /**
   * Largest accepted difference, either way, between `X-Ops-Timestamp` and `now`, in seconds.
   * A difference of exactly this many seconds is accepted (chef_authn; mixlib rejects it).
   * @default 900
   */
  skewSeconds?: number;
  /**
   * Signing versions to accept.
   * @default SIGNING_VERSIONS (all four)
   */
  allowedVersions?: readonly SigningVersion[];
}

/** Default of {@link VerifyOptions.skewSeconds}: 15 minutes, the server's `AUTH_SKEW`. */
export const DEFAULT_SKEW_SECONDS = 900;

/** Why {@link verifyRequest} rejected a request, in the order the checks run. */
export type VerifyFailureReason =
  | 'missing_headers'
  | 'unsupported_version'
  | 'bad_timestamp'
  | 'clock_skew'
  | 'content_hash_mismatch'
  | 'bad_signature';

/** A request whose signature verified. */
export interface VerifySuccess {
  ok: true;
  /** `X-Ops-UserId`, the requestor. */
  userId: string;
  /** The signing version the request used. */
  version: SigningVersion;
  /** Index in the `publicKeys` argument of the first key that verified. */
  keyIndex: number;
}

/** A request lacking required headers (absent or empty). */
export interface VerifyMissingHeaders {
  ok: false;
  reason: 'missing_headers';
  /** The missing headers, canonical spelling, in {@link REQUIRED_HEADERS} order. */
  missing: RequiredHeader[];
  /** `X-Ops-UserId`, when present. */
  userId?: string;
  /** A message the server can return as is. */
  message: string;
}

/** A request rejected for any reason other than missing headers. */
export interface VerifyOtherFailure {
  ok: false;
  reason: Exclude<VerifyFailureReason, 'missing_headers'>;
  /** `X-Ops-UserId`, when present. */
  userId?: string;
  /** A message the server can return as is. */
  message: string;
}

/** A rejected request. */
export type VerifyFailure = VerifyMissingHeaders | VerifyOtherFailure;

/** Outcome of {@link verifyRequest}; discriminate on `ok`, then on `reason`. */
export type VerifyResult = VerifySuccess | VerifyFailure;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ALL_VERSIONS: readonly SigningVersion[] = SIGNING_VERSIONS;

function fail(
  reason: Exclude<VerifyFailureReason, 'missing_headers'>,
  userId: string | undefined,
  message: string,
): VerifyOtherFailure {
  return userId === undefined ? { ok: false, reason, message } : { ok: false, reason, userId, message };
}

/**
 * Verifies a Chef-signed request against the requestor's public keys, trying each key in turn;
 * the first that verifies identifies the requestor.
 *
 * Checks run in this order and the first failure is returned: required headers present and
 * non-empty, supported `X-Ops-Sign`, parseable `X-Ops-Timestamp`, timestamp within the skew
 * window, `X-Ops-Content-Hash` equal to the body's hash, signature.
 *
 * Never throws, whatever it is given: keys that do not parse are skipped, garbage headers
 * count as missing, malformed signatures fail as `bad_signature`.
 */
export function verifyRequest(
  req: VerifiableRequest,
  publicKeys: ReadonlyArray<KeyObject | string>,
  opts?: VerifyOptions,
): VerifyResult {
  let userId: string | undefined;
  try {
    const h = headerLookup(typeof req === 'object' && req !== null ? req.headers : undefined);

    // 1. Required headers.
    const get = (name: string): string | undefined => {
      const v = h.get(name);
      return v === '' ? undefined : v;
    };
    userId = get('x-ops-userid');
    const timestamp = get('x-ops-timestamp');
    const sign = get('x-ops-sign');
    const sentHash = get('x-ops-content-hash');
    if (userId === undefined || timestamp === undefined || sign === undefined || sentHash === undefined) {
      const present = [userId, timestamp, sign, sentHash];
      const missing = REQUIRED_HEADERS.filter((_, i) => present[i] === undefined);
      const result: VerifyMissingHeaders = {
        ok: false,
        reason: 'missing_headers',
        missing,
        message: `missing required authentication header(s) '${missing.join("', '")}'`,
      };
      if (userId !== undefined) result.userId = userId;
      return result;
    }

    // 2. Signing protocol version.
    const version = resolveSignDescription(parseSignHeader(sign));
    const allowed = Array.isArray(opts?.allowedVersions) ? opts.allowedVersions : ALL_VERSIONS;
    if (version === undefined || !allowed.includes(version)) {
      return fail('unsupported_version', userId, 'Unsupported authentication protocol version');
    }

    // 3 and 4. Timestamp.
    const requestTime = parseTimestamp(timestamp);
    if (Number.isNaN(requestTime)) {
      return fail('bad_timestamp', userId, "bad header(s) 'X-Ops-Timestamp'");
    }
    const nowOpt = opts?.now;
    const nowMs = nowOpt instanceof Date && !Number.isNaN(nowOpt.getTime()) ? nowOpt.getTime() : Date.now();
    const skewOpt = opts?.skewSeconds;
    const skew = typeof skewOpt === 'number' && skewOpt >= 0 ? skewOpt : DEFAULT_SKEW_SECONDS;
    if (Math.abs(nowMs - requestTime) > skew * 1000) {
      return fail(
        'clock_skew',
        userId,
        `Failed to authenticate as ${userId}. Synchronize the clock on your host.`,
      );
    }

    // 5. Content hash.
    const body: unknown = req.body;
    if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      return fail('content_hash_mismatch', userId, 'request body is neither a string nor a Buffer');
    }
    const bodyHash = contentHash(body ?? undefined, version);
    if (bodyHash !== sentHash) {
      return fail('content_hash_mismatch', userId, 'X-Ops-Content-Hash does not match the request body');
    }

    // 6. Signature.
    const badSignature = fail('bad_signature', userId, `Invalid signature for user or client '${userId}'`);
    const method: unknown = req.method;
    const path: unknown = req.path;
    if (typeof method !== 'string' || typeof path !== 'string') return badSignature;
    const sigBase64 = readAuthorizationFromLookup(h);
    if (sigBase64 === '' || !BASE64.test(sigBase64)) return badSignature;
    const signature = Buffer.from(sigBase64, 'base64');
    if (!Array.isArray(publicKeys) || publicKeys.length === 0) return badSignature;

    const apiVersions = serverApiVersionCandidates(version, h.get('x-ops-server-api-version'));
    if (apiVersions.length === 0) return badSignature;
    const candidates = apiVersions.map((serverApiVersion) =>
      Buffer.from(
        canonicalRequest(
          { method, path, contentHash: bodyHash, timestamp, userId: userId ?? '', serverApiVersion },
          version,
        ),
        'utf8',
      ),
    );

    for (let i = 0; i < publicKeys.length; i++) {
      const key = toVerifyKey(publicKeys[i]);
      if (key === null) continue;
      for (const data of candidates) {
        if (verifyOne(version, data, signature, key)) return { ok: true, userId, version, keyIndex: i };
      }
    }
    return badSignature;
  } catch (err) {
    // Unreachable by design; kept so that verifyRequest honours "never throws" even then.
    return fail(
      'bad_signature',
      userId,
      `signature verification failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/**
 * The server API version lines 1.3 may have signed. No header means 0 in both chef_authn and
 * mixlib. chef_authn signs the header as an integer (`'01'` → `1`) and fails on anything else;
 * mixlib signs the header text as is (so an empty header signs as empty). So an integer header
 * is tried in canonical form first and as sent second when that differs, an empty header as 0
 * then as empty, and a non-integer header fails.
 */
function serverApiVersionCandidates(version: SigningVersion, header: string | undefined): string[] {
  if (version !== '1.3') return [''];
  if (header === undefined) return ['0'];
  if (header === '') return ['0', ''];
  const canonical = formatServerApiVersion(header);
  if (canonical === undefined) return [];
  return canonical === header ? [canonical] : [canonical, header];
}

function verifyOne(version: SigningVersion, data: Buffer, signature: Buffer, key: KeyObject): boolean {
  try {
    if (version === '1.0' || version === '1.1') {
      // Raw RSA public decrypt of a type-1 padded block, compared with the string to sign.
      const decrypted = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
      return decrypted.equals(data);
    }
    return rsaVerify(SIGNING_ALGORITHM_FOR_VERSION[version], data, key, signature);
  } catch {
    return false;
  }
}
