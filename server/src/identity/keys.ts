/**
 * RSA keys of users and clients, as Chef writes them.
 *
 * @module
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '@push-jobs/protocol/internal';

/** A new key pair, both halves PEM. */
export interface RsaKeyPair {
  /** SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`). */
  publicKey: string;
  /** PKCS#1 PEM (`-----BEGIN RSA PRIVATE KEY-----`), the form Chef writes client keys in. */
  privateKey: string;
}

/** Generates a 2048-bit RSA key pair (public SPKI PEM, private PKCS#1 PEM). */
export function generateRsaKeyPair(): RsaKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { publicKey, privateKey };
}

const PUBLIC_PEM = /^-----BEGIN (RSA )?PUBLIC KEY-----\r?\n[\s\S]+?\r?\n-----END \1?PUBLIC KEY-----$/;

/**
 * Normalizes an RSA public key to SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
 * Accepts SPKI PEM and PKCS#1 PEM (`-----BEGIN RSA PUBLIC KEY-----`), with surrounding
 * whitespace.
 *
 * @throws InvalidArgumentError for anything else: a private key, a certificate, garbage, or a
 *   public key that is not RSA.
 */
export function normalizePublicKey(pem: string): string {
  const text = typeof pem === 'string' ? pem.trim() : '';
  const match = PUBLIC_PEM.exec(text);
  if (match === null) {
    throw new InvalidArgumentError(
      'public key must be a PEM RSA public key (-----BEGIN PUBLIC KEY----- or -----BEGIN RSA PUBLIC KEY-----)',
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey(
      match[1] === undefined ? { key: text, format: 'pem' } : { key: text, format: 'pem', type: 'pkcs1' },
    );
  } catch (err) {
    throw new InvalidArgumentError(
      `public key is not a valid PEM public key: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  if (key.type !== 'public' || key.asymmetricKeyType !== 'rsa') {
    throw new InvalidArgumentError(
      `public key must be an RSA key, got ${key.asymmetricKeyType ?? 'unknown'}`,
    );
  }
  return key.export({ type: 'spki', format: 'pem' }).toString();
}
