/**
 * `hmac_sha256` signing: standard base64 (with padding) of HMAC-SHA256 over the exact body bytes,
 * keyed with the node's 32-byte session key (server-protocol.md 5.1).
 *
 * @module
 */

import { createHmac, timingSafeEqual } from 'node:crypto';
import { normalizeBase64 } from './base64.js';
import { HMAC_SHA256_BYTES } from './limits.js';

/** Signs `body` (its exact bytes) with `key`: base64, with padding, of HMAC-SHA256. */
export function hmacSign(body: Uint8Array, key: Uint8Array): string {
  // digest('base64') is much faster than digest(): it avoids a fresh native ArrayBuffer per call.
  return createHmac('sha256', key).update(body).digest('base64');
}

/**
 * True when `signatureB64` is the HMAC-SHA256 of `body` under `key`. Whitespace inside the base64
 * is ignored. The digests are compared in constant time. Never throws: a signature that is not
 * base64 or not 32 bytes, or a key or body that is not bytes, gives `false`.
 */
export function hmacVerify(body: Uint8Array, key: Uint8Array, signatureB64: string): boolean {
  if (!(body instanceof Uint8Array) || !(key instanceof Uint8Array)) return false;
  const normalized = normalizeBase64(signatureB64);
  if (normalized === undefined) return false;
  const given = Buffer.from(normalized, 'base64');
  if (given.length !== HMAC_SHA256_BYTES) return false;
  try {
    // Decoding the base64 digest lands in Buffer's pool: cheaper than digest() (see hmacSign).
    return timingSafeEqual(Buffer.from(hmacSign(body, key), 'base64'), given);
  } catch {
    return false;
  }
}
