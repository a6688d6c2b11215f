/**
 * The header frame: `Version:2.0;SigningMethod:<method>;Signature:<base64>`
 * (server-protocol.md 5.1, client-knife-cookbook.md A.7).
 *
 * @module
 */

import { InvalidArgumentError } from '../errors.js';
import { normalizeBase64 } from './base64.js';
import { asBuffer } from './bytes.js';
import { MAX_HEADER_BYTES } from './limits.js';
import { wireError, type WireError } from './wire-error.js';

/** How a message body is signed: HMAC with the node's session key, or RSA with the server key (heartbeats). */
export type SigningMethod = 'hmac_sha256' | 'rsa2048_sha1';

/** Header protocol versions: `1.0` is proto_v1 and `2.0` is proto_v2. */
export type ProtocolVersion = '1.0' | '2.0';

/** What {@link formatHeader} needs. */
export interface HeaderFields {
  readonly signingMethod: SigningMethod;
  /** Standard base64 of the signature, without whitespace. */
  readonly signature: string;
}

/** A header frame that parsed. The signature is not verified yet. */
export interface ParsedHeader {
  readonly version: ProtocolVersion;
  readonly signingMethod: SigningMethod;
  /** Standard base64 of the signature, with any whitespace (Ruby's line wrapping) removed. */
  readonly signature: string;
}

/** The header prefix {@link formatHeader} writes for each method; also used by the encoder. */
export const HEADER_PREFIX: Readonly<Record<SigningMethod, string>> = {
  hmac_sha256: 'Version:2.0;SigningMethod:hmac_sha256;Signature:',
  rsa2048_sha1: 'Version:2.0;SigningMethod:rsa2048_sha1;Signature:',
};

/** True for the two signing methods this protocol knows. */
export function isSigningMethod(value: unknown): value is SigningMethod {
  return value === 'hmac_sha256' || value === 'rsa2048_sha1';
}

/**
 * Formats a header exactly as the server emits it: `Version:2.0;SigningMethod:<m>;Signature:<b64>`.
 *
 * @throws {@link InvalidArgumentError} for an unknown method or a signature that is not base64
 *   without whitespace.
 */
export function formatHeader(fields: HeaderFields): string {
  const { signingMethod, signature } = fields;
  if (!isSigningMethod(signingMethod)) {
    throw new InvalidArgumentError(`formatHeader: unknown signing method ${JSON.stringify(signingMethod)}`);
  }
  if (normalizeBase64(signature) !== signature) {
    throw new InvalidArgumentError('formatHeader: signature must be base64 without whitespace');
  }
  return HEADER_PREFIX[signingMethod] + signature;
}

function byteLengthExceeds(header: string, max: number): boolean {
  // A UTF-16 unit is at most 3 UTF-8 bytes: skip the count when the string is surely small.
  if (header.length > max) return true;
  return header.length * 3 > max && Buffer.byteLength(header, 'utf8') > max;
}

/**
 * Parses a header frame, leniently as the server does:
 *
 * - split on `;`, then each clause on its first `:` into key and value (both trimmed); clauses
 *   without `:` and unknown keys are ignored;
 * - `Version` must be `1.0` or `2.0` (missing: `bad_header`; other: `unsupported_version`);
 * - `SigningMethod` must be `hmac_sha256` or `rsa2048_sha1` (`unsupported_method`), and
 *   `hmac_sha256` requires `Version:2.0`;
 * - `Signature`, or the older `SignedChecksum`, must be base64; whitespace and newlines inside it
 *   are removed;
 * - a known clause given twice (or both `Signature` and `SignedChecksum`) is a `bad_header`;
 * - more than `maxHeaderBytes` bytes is `header_too_large`.
 *
 * Never throws: anything that is not a Buffer or a string is a `bad_header`.
 */
export function parseHeader(
  buf: Buffer | string,
  maxHeaderBytes: number = MAX_HEADER_BYTES,
): ParsedHeader | WireError {
  let header: string;
  if (typeof buf === 'string') {
    if (byteLengthExceeds(buf, maxHeaderBytes)) {
      return wireError('header_too_large', `header is larger than ${maxHeaderBytes} bytes`);
    }
    header = buf;
  } else if (buf instanceof Uint8Array) {
    if (buf.length > maxHeaderBytes) {
      return wireError(
        'header_too_large',
        `header of ${buf.length} bytes is larger than ${maxHeaderBytes} bytes`,
      );
    }
    // latin1 never fails and maps bytes 1:1; a non-ASCII byte then fails the checks below.
    header = asBuffer(buf).toString('latin1');
  } else {
    return wireError('bad_header', 'header frame is not bytes');
  }

  let version: string | undefined;
  let method: string | undefined;
  let signature: string | undefined;
  let duplicate: string | undefined;
  const length = header.length;
  let start = 0;
  while (start <= length) {
    let end = header.indexOf(';', start);
    if (end < 0) end = length;
    const colon = header.indexOf(':', start);
    if (colon >= 0 && colon < end) {
      const key = header.slice(start, colon).trim();
      const value = header.slice(colon + 1, end);
      switch (key) {
        case 'Version':
          if (version !== undefined) duplicate = key;
          version = value.trim();
          break;
        case 'SigningMethod':
          if (method !== undefined) duplicate = key;
          method = value.trim();
          break;
        case 'Signature':
        case 'SignedChecksum':
          if (signature !== undefined) duplicate = key;
          signature = value;
          break;
        default:
          break; // unknown clauses are ignored
      }
    }
    start = end + 1;
  }

  if (duplicate !== undefined) return wireError('bad_header', `header has more than one ${duplicate} clause`);
  if (version === undefined) return wireError('bad_header', 'header has no Version clause');
  if (version !== '1.0' && version !== '2.0') {
    return wireError(
      'unsupported_version',
      `unsupported header version ${JSON.stringify(version.slice(0, 16))}`,
    );
  }
  if (method === undefined) return wireError('bad_header', 'header has no SigningMethod clause');
  if (!isSigningMethod(method)) {
    return wireError(
      'unsupported_method',
      `unsupported signing method ${JSON.stringify(method.slice(0, 32))}`,
    );
  }
  if (method === 'hmac_sha256' && version !== '2.0') {
    return wireError('unsupported_method', 'hmac_sha256 requires Version:2.0');
  }
  if (signature === undefined) return wireError('bad_header', 'header has no Signature clause');
  const normalized = normalizeBase64(signature);
  if (normalized === undefined) return wireError('bad_header', 'header signature is not base64');
  return { version, signingMethod: method, signature: normalized };
}
