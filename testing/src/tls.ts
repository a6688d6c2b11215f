/**
 * A self-signed certificate for `localhost` and `127.0.0.1`, made with the `openssl` command
 * (as an operator would), for tests of HTTPS servers and of clients that trust a custom CA.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate and its key, as files in a directory and as PEM text. */
export interface LocalhostCertificate {
  certPath: string;
  keyPath: string;
  /** PEM. */
  cert: string;
  /** PEM (unencrypted: a test key). */
  key: string;
}

/** Writes `cert.pem` and `key.pem` (RSA 2048, valid for `days`) into `dir`. */
export function localhostCertificate(dir: string, days = 2): LocalhostCertificate {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      String(days),
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { certPath, keyPath, cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
}
