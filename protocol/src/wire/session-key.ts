/**
 * The per-node HMAC session key and its transport in the config response:
 * `encoded_session_key.key` = base64 of RSA-encrypt(requestor's public key, PKCS#1 v1.5, 32-byte
 * key) (server-protocol.md 6).
 *
 * @module
 */

import { constants, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { normalizeBase64 } from './base64.js';
import { WireCryptoError } from './errors.js';
import { toPrivateKey, toPublicKey, type RsaKeyInput } from './key-cache.js';
import { SESSION_KEY_BYTES } from './limits.js';

/** A fresh random 32-byte HMAC session key. */
export function generateSessionKey(): Buffer {
  return randomBytes(SESSION_KEY_BYTES);
}

/**
 * Encrypts a session key to a client's RSA public key (PKCS#1 v1.5 type 2 padding, random, so each
 * call gives a different result) and returns it as base64, for `encoded_session_key.key`.
 *
 * @throws {@link InvalidArgumentError} when `key` is not 32 bytes; {@link WireCryptoError} when the
 *   public key is unusable.
 */
export function encryptSessionKey(key: Uint8Array, clientPublicKey: RsaKeyInput): string {
  if (!(key instanceof Uint8Array) || key.length !== SESSION_KEY_BYTES) {
    throw new InvalidArgumentError(`encryptSessionKey: a session key is ${SESSION_KEY_BYTES} bytes`);
  }
  try {
    return publicEncrypt(
      { key: toPublicKey(clientPublicKey), padding: constants.RSA_PKCS1_PADDING },
      key,
    ).toString('base64');
  } catch (cause) {
    throw new WireCryptoError('encrypting the session key failed', { cause });
  }
}

/**
 * Removes PKCS#1 v1.5 type 2 padding, `00 02 PS(>= 8 non-zero bytes) 00 M`, without branching on
 * the secret bytes; returns M only when it is `expectedLength` bytes long.
 */
function unpadType2(em: Buffer, expectedLength: number): Buffer | undefined {
  let bad = em[0]! | (em[1]! ^ 2);
  let separator = 0;
  let found = 0;
  for (let i = 2; i < em.length; i++) {
    const isZero = ((em[i]! - 1) >> 31) & 1; // 1 when the byte is 0
    const take = isZero & (found ^ 1);
    separator |= -take & i;
    found |= isZero;
  }
  bad |= found ^ 1;
  bad |= separator < 10 ? 1 : 0; // at least 8 bytes of padding string
  bad |= em.length - separator - 1 !== expectedLength ? 1 : 0;
  return bad === 0 ? Buffer.from(em.subarray(separator + 1)) : undefined;
}

/**
 * Decrypts `encoded_session_key.key` with the client's RSA private key. Returns the 32-byte key,
 * or `undefined` (never throws) when the base64, the key, the padding or the length is wrong.
 *
 * Node 20 refuses PKCS#1 v1.5 padding in `privateDecrypt` (CVE-2023-46809), so this decrypts raw
 * and removes the padding itself, in constant time.
 */
export function decryptSessionKey(b64: string, clientPrivateKey: RsaKeyInput): Buffer | undefined {
  const normalized = normalizeBase64(b64);
  if (normalized === undefined) return undefined;
  try {
    const key = toPrivateKey(clientPrivateKey);
    const ciphertext = Buffer.from(normalized, 'base64');
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if (key.type !== 'private' || bits === undefined || ciphertext.length !== Math.ceil(bits / 8))
      return undefined;
    const em = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, ciphertext);
    return unpadType2(em, SESSION_KEY_BYTES);
  } catch {
    return undefined;
  }
}
