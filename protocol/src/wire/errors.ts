/**
 * Thrown counterparts of {@link WireError}, for callers that prefer exceptions.
 *
 * @module
 */

import { ERROR_CODES, PushJobsError, type ErrorCode } from '../errors.js';
import type { WireError, WireErrorCode } from './wire-error.js';

/** The {@link ErrorCode} family of each {@link WireErrorCode}. */
export const WIRE_ERROR_FAMILY: Readonly<Record<WireErrorCode, ErrorCode>> = {
  frame_count: ERROR_CODES.FRAME,
  header_too_large: ERROR_CODES.FRAME,
  bad_header: ERROR_CODES.FRAME,
  unsupported_version: ERROR_CODES.FRAME,
  unsupported_method: ERROR_CODES.FRAME,
  body_too_large: ERROR_CODES.FRAME,
  bad_json: ERROR_CODES.FRAME,
  not_object: ERROR_CODES.FRAME,
  bad_signature: ERROR_CODES.SIGNATURE,
  no_key: ERROR_CODES.SIGNATURE,
  missing_timestamp: ERROR_CODES.TIMESTAMP,
  bad_timestamp: ERROR_CODES.TIMESTAMP,
  too_old: ERROR_CODES.TIMESTAMP,
  too_new: ERROR_CODES.TIMESTAMP,
  replay: ERROR_CODES.REPLAY,
};

/** Thrown (by {@link WireMessageError.from} users) when a ZeroMQ message is rejected; `wireCode` says why. */
export class WireMessageError extends PushJobsError {
  /** The precise reason, as in the {@link WireError} this came from. */
  readonly wireCode: WireErrorCode;

  constructor(wireCode: WireErrorCode, message: string, options?: { cause?: unknown }) {
    super(WIRE_ERROR_FAMILY[wireCode], message, options);
    this.wireCode = wireCode;
  }

  /** Wraps a returned {@link WireError} so it can be thrown. */
  static from(err: WireError): WireMessageError {
    return new WireMessageError(err.code, err.message);
  }
}

/** Thrown when signing or encrypting fails: an unusable key, or data the key cannot take. */
export class WireCryptoError extends PushJobsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERROR_CODES.CRYPTO, message, options);
  }
}
