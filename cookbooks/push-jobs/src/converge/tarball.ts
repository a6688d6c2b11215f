/**
 * Reading an npm package tarball (`npm pack` output) without unpacking it: its
 * `package/package.json` and its checksum.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

/** Name and version of a package tarball. */
export interface TarballPackage {
  /** The tarball's path. */
  path: string;
  /** `name` of its package.json. */
  name: string;
  /** `version` of its package.json. */
  version: string;
  /** SHA-256 of the tarball, hex. */
  sha256: string;
}

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
}

/** The `package.json` text of a gzipped tar (the first `DIR/package.json` at depth one). */
function packageJsonText(tar: Buffer): string | undefined {
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) return undefined;
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] ?? 0);
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix === '' ? field(header, 0, 100) : `${prefix}/${field(header, 0, 100)}`);
    longName = undefined;
    const body = tar.subarray(offset + 512, offset + 512 + size);
    if (type === 'x') {
      const path = /\d+ path=([^\n]*)\n/u.exec(body.toString('utf8'))?.[1];
      if (path !== undefined) longName = path;
    } else if (type === 'L') {
      longName = field(body, 0, body.length);
    } else if ((type === '0' || type === '\0') && /^[^/]+\/package\.json$/u.test(name)) {
      return body.toString('utf8');
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/**
 * Reads name, version and checksum of a package tarball.
 *
 * @throws Error when the file cannot be read or is not an npm package tarball.
 */
export async function readTarballPackage(path: string): Promise<TarballPackage> {
  const data = await readFile(path);
  let tar: Buffer;
  try {
    tar = gunzipSync(data);
  } catch {
    throw new Error(`${path} is not a gzipped tarball`);
  }
  const text = packageJsonText(tar);
  if (text === undefined) throw new Error(`${path} has no package/package.json (is it npm pack output?)`);
  let pkg: unknown;
  try {
    pkg = JSON.parse(text);
  } catch {
    throw new Error(`${path}: package.json is not valid JSON`);
  }
  const { name, version } = (pkg ?? {}) as { name?: unknown; version?: unknown };
  if (typeof name !== 'string' || typeof version !== 'string') {
    throw new Error(`${path}: package.json has no name or version`);
  }
  return { path, name, version, sha256: createHash('sha256').update(data).digest('hex') };
}
