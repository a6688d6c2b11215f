/**
 * The server's RSA key pair (the original's `pushy_priv` / `pushy_pub`): it signs the server
 * heartbeats (`rsa2048_sha1`), and its public half goes to agents in the config document.
 *
 * Kept in `<dataDir>/keys/server.pem` (PKCS#1 or PKCS#8 PEM, unencrypted), generated on first
 * start (RSA 2048, PKCS#1, file mode 0600 in a 0700 directory), so agents keep trusting the
 * server across restarts.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { readOrCreateFile } from './data-file.js';

/** The server's key pair, as PEM text. */
export interface ServerKeyPair {
  /** The private key, as stored in the file (PKCS#1 `RSA PRIVATE KEY` or PKCS#8 `PRIVATE KEY`). */
  privateKeyPem: string;
  /** The public key, SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`). */
  publicKeyPem: string;
}

/** Size of a generated server key, in bits. */
export const SERVER_KEY_BITS = 2048;

/** Where the server key lives under the data directory. */
export function serverKeyPath(dataDir: string): string {
  return join(dataDir, 'keys', 'server.pem');
}

function parse(file: string, pem: string): ServerKeyPair {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new Error(`server key ${file} is not a readable unencrypted PEM private key (${why})`, { cause });
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new Error(`server key ${file} is not an RSA key (it is ${key.asymmetricKeyType ?? 'unknown'})`);
  }
  const publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  return { privateKeyPem: pem, publicKeyPem };
}

/**
 * Reads the server key from `<dataDir>/keys/server.pem`, or creates it there when the file does
 * not exist (the directory with mode 0700, the file with 0600). An existing file is never
 * overwritten.
 *
 * @throws Error naming the file when it exists but does not hold an unencrypted RSA private key
 *   in PEM, or when it cannot be read or written.
 */
export async function loadOrCreateServerKey(dataDir: string): Promise<ServerKeyPair> {
  const file = serverKeyPath(dataDir);
  const pem = await readOrCreateFile(file, 'server key', generatePem, { file: 0o600, dir: 0o700 });
  return parse(file, pem);
}

/** A new RSA key, PKCS#1 PEM. */
function generatePem(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: SERVER_KEY_BITS });
  return privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
}
