/**
 * Signing requests with the Chef signed-header protocol (what knife, chef-client and
 * knife-push do with mixlib-authentication).
 */
import { constants, privateEncrypt, sign as rsaSign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import { InvalidArgumentError } from '../errors.js';
import {
  SIGNING_ALGORITHM_FOR_VERSION,
  canonicalRequest,
  contentHash,
  formatServerApiVersion,
  formatTimestamp,
  isSigningVersion,
  parseTimestamp,
  signHeaderValue,
} from './canonical.js';
import type { SigningVersion } from './canonical.js';
import { SERVER_API_VERSION_HEADER, authorizationHeaders } from './headers.js';
import { toSigningKey } from '../rsa-keys.js';

/** What {@link signRequest} needs to know about a request. */
export interface SignRequestOptions {
  /** HTTP method, any case (signed upper-cased). */
  method: string;
  /** Request path; the query string, doubled slashes and a trailing slash do not matter. */
  path: string;
  /**
   * Request body exactly as it will be sent; a string is hashed as UTF-8.
   * @default '' (no body)
   */
  body?: string | Buffer;
  /** Client or user name, sent as `X-Ops-UserId`. Must be non-empty and on one line. */
  userId: string;
  /** RSA private key, as a `KeyObject` or PEM (PKCS#1 or PKCS#8). Parsed PEM is cached. */
  privateKey: KeyObject | string;
  /**
   * Signing protocol version.
   * @default '1.3'
   */
  version?: SigningVersion;
  /**
   * Request time. A string is parsed as ISO-8601 and re-formatted like mixlib does
   * (`YYYY-MM-DDTHH:MM:SSZ`, UTC, whole seconds).
   * @default now
   */
  timestamp?: Date | string;
  /**
   * Value of `X-Ops-Server-API-Version`, an integer. When given, the header is sent (for every
   * version) and 1.3 signs it; when absent, 1.3 signs 0 and no header is sent.
   */
  serverApiVersion?: number | string;
}

/**
 * Signs a request and returns the headers to add to it: `X-Ops-Sign`, `X-Ops-UserId`,
 * `X-Ops-Timestamp`, `X-Ops-Content-Hash`, `X-Ops-Server-API-Version` (only when
 * {@link SignRequestOptions.serverApiVersion} is given) and `X-Ops-Authorization-1..N`.
 *
 * Versions 1.0 and 1.1 encrypt the string to sign with the private key (PKCS#1 v1.5 type-1
 * padding, no DigestInfo), so it must fit in the key: with a 2048-bit key a 1.0 user id can be
 * about 100 characters. 1.2 is RSA-SHA1 and 1.3 RSA-SHA256, both PKCS#1 v1.5.
 *
 * @throws {@link InvalidArgumentError} for an unknown version, an empty or multi-line user id,
 * an unparseable timestamp or server API version, a key that is not an RSA private key, or a
 * 1.0/1.1 string to sign too long for the key.
 */
export function signRequest(opts: SignRequestOptions): Record<string, string> {
  const version = opts.version ?? '1.3';
  if (!isSigningVersion(version)) {
    throw new InvalidArgumentError(`unsupported Chef signing version '${String(version)}'`);
  }
  const { userId } = opts;
  if (typeof userId !== 'string' || userId === '' || /[\r\n]/.test(userId)) {
    throw new InvalidArgumentError('userId must be a non-empty string without line breaks');
  }
  if (typeof opts.method !== 'string' || opts.method === '' || typeof opts.path !== 'string') {
    throw new InvalidArgumentError('method and path must be strings');
  }
  const timestamp = signingTimestamp(opts.timestamp);
  let serverApiVersion: string | undefined;
  if (opts.serverApiVersion !== undefined) {
    serverApiVersion = formatServerApiVersion(opts.serverApiVersion);
    if (serverApiVersion === undefined) {
      throw new InvalidArgumentError(
        `serverApiVersion must be an integer, got '${String(opts.serverApiVersion)}'`,
      );
    }
  }
  const key = toSigningKey(opts.privateKey);
  if (key === null) throw new InvalidArgumentError('privateKey is not an RSA private key');

  const hash = contentHash(opts.body, version);
  const data = Buffer.from(
    canonicalRequest(
      { method: opts.method, path: opts.path, contentHash: hash, timestamp, userId, serverApiVersion },
      version,
    ),
    'utf8',
  );
  let signature: Buffer;
  try {
    signature =
      version === '1.0' || version === '1.1'
        ? privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, data)
        : rsaSign(SIGNING_ALGORITHM_FOR_VERSION[version], data, key);
  } catch (err) {
    throw new InvalidArgumentError(
      `could not sign the request with version ${version}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }

  const headers: Record<string, string> = {
    'X-Ops-Sign': signHeaderValue(version),
    'X-Ops-UserId': userId,
    'X-Ops-Timestamp': timestamp,
    'X-Ops-Content-Hash': hash,
  };
  if (serverApiVersion !== undefined) headers[SERVER_API_VERSION_HEADER] = serverApiVersion;
  return Object.assign(headers, authorizationHeaders(signature.toString('base64')));
}

function signingTimestamp(ts: Date | string | undefined): string {
  if (ts === undefined) return formatTimestamp(Date.now());
  const ms = typeof ts === 'string' ? parseTimestamp(ts) : ts instanceof Date ? ts.getTime() : NaN;
  if (!Number.isFinite(ms)) {
    throw new InvalidArgumentError(`timestamp is not a valid ISO-8601 time: '${String(ts)}'`);
  }
  return formatTimestamp(ms);
}
