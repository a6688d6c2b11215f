/**
 * Chef request signing (the "signed header" protocol of mixlib-authentication and chef_authn),
 * versions 1.0, 1.1, 1.2 and 1.3, on `node:crypto` alone.
 *
 * @example
 * ```ts
 * import { signRequest, verifyRequest } from '@push-jobs/protocol';
 *
 * const headers = signRequest({ method: 'GET', path: '/organizations/acme/pushy/jobs', userId: 'alice', privateKey });
 * const result = verifyRequest({ method: 'GET', path: '/organizations/acme/pushy/jobs', headers }, [publicKeyPem]);
 * if (result.ok) console.log(result.userId, result.version, result.keyIndex);
 * ```
 *
 * Differences from mixlib-authentication 3.0.6, and how this module copes with them:
 * - mixlib has no version 1.2 (only 1.0, 1.1 and 1.3); chef_authn and the push-jobs server do.
 *   1.2 follows chef_authn: the 1.1 string to sign, signed with RSA-SHA1 PKCS#1 v1.5.
 * - mixlib sends `X-Ops-Userid` (header names are case-insensitive) and
 *   `X-Ops-Sign: algorithm=sha1;version=1.0;` (algorithm on every version, trailing `;`);
 *   the parser accepts that, and `version=1.3` without an algorithm as chef_authn does
 *   (mixlib's verifier would default it to sha1 and reject it).
 * - mixlib re-formats the timestamp with `Time.parse(ts).utc.iso8601` before signing and
 *   verifying; chef_authn signs the header as sent. {@link signRequest} always sends that
 *   canonical form, so both agree; {@link verifyRequest} signs the header as sent.
 * - mixlib does not strip the query string from the path (its callers pass a bare path).
 * - mixlib signs the `X-Ops-Server-API-Version` header text; chef_authn its integer value. Both
 *   default to 0. See `formatServerApiVersion`.
 * - mixlib joins every `X-Ops-Authorization-N` sorted by N; chef_authn stops at the first gap.
 * - mixlib's verifier also requires a `Host` header, counts an empty header as present, and
 *   accepts a skew strictly below the limit; here empty counts as missing and a skew equal to
 *   the limit is accepted (chef_authn).
 *
 * @module
 */
export {
  DEFAULT_SERVER_API_VERSION,
  SIGNING_ALGORITHM_FOR_VERSION,
  SIGNING_VERSIONS,
  canonicalPath,
  canonicalRequest,
  contentHash,
  formatServerApiVersion,
  formatTimestamp,
  isSigningVersion,
  parseSignHeader,
  parseTimestamp,
  resolveSignDescription,
  signHeaderValue,
} from './canonical.js';
export type {
  CanonicalRequestParts,
  SignDescription,
  SigningAlgorithm,
  SigningVersion,
} from './canonical.js';
export {
  AUTHORIZATION_CHUNK_LENGTH,
  AUTHORIZATION_HEADER_PREFIX,
  REQUIRED_HEADERS,
  SERVER_API_VERSION_HEADER,
  authorizationHeaders,
  readAuthorizationHeader,
} from './headers.js';
export { headerLookup } from './headers.js';
export type { HeaderInput, HeaderLookup, RequiredHeader } from './headers.js';
export { signRequest } from './sign.js';
export type { SignRequestOptions } from './sign.js';
export { DEFAULT_SKEW_SECONDS, verifyRequest } from './verify.js';
export type {
  VerifiableRequest,
  VerifyFailure,
  VerifyFailureReason,
  VerifyMissingHeaders,
  VerifyOptions,
  VerifyOtherFailure,
  VerifyResult,
  VerifySuccess,
} from './verify.js';
