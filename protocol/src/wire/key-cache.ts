/**
 * The codec's view of RSA keys: the shared PEM cache of `../rsa-keys.ts`, throwing where the
 * codec's signing functions want an exception rather than `null`.
 *
 * @module
 */

import type { KeyObject } from 'node:crypto';
import { toSigningKey, toVerifyKey, type RsaKeyInput } from '../rsa-keys.js';

export type { RsaKeyInput };

/**
 * Returns an RSA `KeyObject` to verify or encrypt with. A PEM string (a public key, or a private
 * key whose public half is taken) is parsed once and cached; a `KeyObject` is returned as is.
 *
 * @throws when the key is not an RSA key or cannot be parsed.
 */
export function toPublicKey(key: RsaKeyInput): KeyObject {
  const k = toVerifyKey(key);
  if (k === null) throw new TypeError('not an RSA public key');
  return k;
}

/**
 * Returns an RSA private `KeyObject` to sign or decrypt with. A PEM string is parsed once and
 * cached; a `KeyObject` is returned as is.
 *
 * @throws when the key is not an RSA private key or cannot be parsed.
 */
export function toPrivateKey(key: RsaKeyInput): KeyObject {
  const k = toSigningKey(key);
  if (k === null) throw new TypeError('not an RSA private key');
  return k;
}
