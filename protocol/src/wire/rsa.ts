/**
 * `rsa2048_sha1` signing, used for the server heartbeat: base64 of the RSA private-key *encrypt*
 * (PKCS#1 v1.5 type 1 padding, no DigestInfo) of the ASCII string base64(SHA1(body))
 * (server-protocol.md 5.1, client-knife-cookbook.md A.7).
 *
 * @module
 */

import { constants, createHash, privateEncrypt, publicDecrypt, timingSafeEqual } from 'node:crypto';
import { normalizeBase64 } from './base64.js';
import { WireCryptoError } from './errors.js';
import { toPrivateKey, toPublicKey, type RsaKeyInput } from './key-cache.js';

const PADDING = constants.RSA_PKCS1_PADDING;

/** The string that `rsa2048_sha1` signs: base64 of SHA-1 of the exact body bytes (Mixlib `hash_string`). */
export function sha1Base64(body: Uint8Array): string {
  return createHash('sha1').update(body).digest('base64');
}

/**
 * Signs `body` with the server's RSA private key the `rsa2048_sha1` way. The result is unwrapped
 * base64 (as the Erlang server emits it).
 *
 * @param privateKey a private `KeyObject` or PEM (parsed once and cached).
 * @throws {@link WireCryptoError} when the key is unusable.
 */
export function rsaSha1Sign(body: Uint8Array, privateKey: RsaKeyInput): string {
  try {
    const key = toPrivateKey(privateKey);
    return privateEncrypt({ key, padding: PADDING }, Buffer.from(sha1Base64(body), 'latin1')).toString(
      'base64',
    );
  } catch (cause) {
    throw new WireCryptoError('rsa2048_sha1 signing failed', { cause });
  }
}

/**
 * True when `signatureB64` is the `rsa2048_sha1` signature of `body` under the key pair of
 * `publicKey`. Whitespace inside the base64 (Ruby wraps at 60 columns) is ignored. Never throws:
 * an unusable key, a signature that is not base64 or of the wrong length, or a body that is not
 * bytes gives `false`.
 *
 * @param publicKey a public `KeyObject` or PEM (parsed once and cached).
 */
export function rsaSha1Verify(body: Uint8Array, publicKey: RsaKeyInput, signatureB64: string): boolean {
  if (!(body instanceof Uint8Array)) return false;
  const normalized = normalizeBase64(signatureB64);
  if (normalized === undefined) return false;
  try {
    const key = toPublicKey(publicKey);
    const recovered = publicDecrypt({ key, padding: PADDING }, Buffer.from(normalized, 'base64'));
    const expected = Buffer.from(sha1Base64(body), 'latin1');
    return recovered.length === expected.length && timingSafeEqual(recovered, expected);
  } catch {
    return false;
  }
}
