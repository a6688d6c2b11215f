/**
 * The server's id: which server owns a job in a shared database. Kept in `<dataDir>/server-id`
 * (32 hex digits), created on first start, so a restarted server recognises the jobs it left
 * unfinished, and a second server on the same database (with its own data dir) leaves them
 * alone.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readOrCreateFile } from './data-file.js';

/** Where the id lives under the data directory. */
export function serverIdPath(dataDir: string): string {
  return join(dataDir, 'server-id');
}

const ID = /^[0-9a-f]{32}$/;

/**
 * Reads the id from `<dataDir>/server-id`, or creates it when the file does not exist (never
 * overwriting one another process wrote first).
 *
 * @throws Error naming the file when it holds something else than 32 hex digits.
 */
export async function loadOrCreateServerId(dataDir: string): Promise<string> {
  const file = serverIdPath(dataDir);
  const make = (): string => `${randomBytes(16).toString('hex')}\n`;
  const id = (await readOrCreateFile(file, 'server id', make, { file: 0o644 })).trim();
  if (!ID.test(id))
    throw new Error(`server id file ${file} does not hold 32 hex digits; remove it to make a new one`);
  return id;
}
