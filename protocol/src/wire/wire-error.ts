/**
 * The typed, non-thrown error result of the decode functions.
 *
 * @module
 */

/** Why a message was rejected. */
export type WireErrorCode =
  /** Not exactly two frames (three with the ROUTER identity), or not an array of byte frames. */
  | 'frame_count'
  /** The header frame is larger than the header limit. */
  | 'header_too_large'
  /** The header frame is not a header: no `Version`, no `SigningMethod`, no or malformed signature, duplicate clauses. */
  | 'bad_header'
  /** `Version` is neither `1.0` nor `2.0`. */
  | 'unsupported_version'
  /** Unknown `SigningMethod`, `hmac_sha256` with `Version:1.0`, or a method the receiver does not take. */
  | 'unsupported_method'
  /** The body frame is larger than the body limit. */
  | 'body_too_large'
  /** The body frame is not UTF-8 JSON. */
  | 'bad_json'
  /** The body is JSON but not an object (an array, a string, null, ...). */
  | 'not_object'
  /** The signature does not verify. */
  | 'bad_signature'
  /** No key is known for the sender. */
  | 'no_key'
  /** The body has no `timestamp`. */
  | 'missing_timestamp'
  /** `timestamp` is not an HTTP date. */
  | 'bad_timestamp'
  /** `timestamp` is `max_message_skew` or more in the past. */
  | 'too_old'
  /** `timestamp` is `max_message_skew` or more in the future. */
  | 'too_new'
  /** The sequence number does not go forward within the sender's incarnation, or is not a number. */
  | 'replay';

/** Every {@link WireErrorCode}, for exhaustive tests and metrics labels. */
export const WIRE_ERROR_CODES: readonly WireErrorCode[] = [
  'frame_count',
  'header_too_large',
  'bad_header',
  'unsupported_version',
  'unsupported_method',
  'body_too_large',
  'bad_json',
  'not_object',
  'bad_signature',
  'no_key',
  'missing_timestamp',
  'bad_timestamp',
  'too_old',
  'too_new',
  'replay',
];

/**
 * Brand that tells a {@link WireError} apart from a decoded JSON body (JSON cannot produce symbol
 * keys). `Symbol.for`, so two installed copies of this package agree.
 */
export const WIRE_ERROR_BRAND: unique symbol = Symbol.for('@push-jobs/protocol/WireError');

/**
 * A rejected message, returned (never thrown) by the decode functions. Build one with
 * {@link wireError}; test for one with {@link isWireError}.
 */
export interface WireError {
  readonly [WIRE_ERROR_BRAND]: true;
  /** Stable reason, for metrics and tests. */
  readonly code: WireErrorCode;
  /** Human-readable detail, for logs. Never contains key material. */
  readonly message: string;
}

/** Creates a {@link WireError}. */
export function wireError(code: WireErrorCode, message: string): WireError {
  return { [WIRE_ERROR_BRAND]: true, code, message };
}

/** True when `value` is a {@link WireError} (and not, say, a body that happens to have a `code` field). */
export function isWireError(value: unknown): value is WireError {
  return (
    typeof value === 'object' && value !== null && (value as Partial<WireError>)[WIRE_ERROR_BRAND] === true
  );
}
