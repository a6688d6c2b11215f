/**
 * Reading an npm package tarball (`npm pack` output) without unpacking it: its
 * `package/package.json` and its checksum.
 *
 * The tar format is read by `tar` (npm's own reader: ustar, pax and GNU long names, header
 * checksums); nothing is written to disk. What a hostile tarball could do is bounded: the
 * package.json must be a regular file of at most {@link MAX_PACKAGE_JSON_BYTES} directly under
 * one top directory (no `..`, no absolute path, no link), tar entries are parsed only up to it,
 * and at most {@link MAX_UNPACKED_BYTES} are unpacked in all (a gzip bomb stops there).
 *
 * @module
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Transform, Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';

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

/** The largest package.json read. */
export const MAX_PACKAGE_JSON_BYTES = 1024 * 1024;

/** The most unpacked tar bytes read looking for the package.json. */
export const MAX_UNPACKED_BYTES = 256 * 1024 * 1024;

/** The bounds of {@link readTarballPackage}. */
export interface TarballLimits {
  /** @default MAX_PACKAGE_JSON_BYTES */
  maxPackageJsonBytes?: number;
  /** @default MAX_UNPACKED_BYTES */
  maxUnpackedBytes?: number;
}

/** Why a tarball was refused (its message names the file). */
export class TarballError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarballError';
  }
}

/** `DIR/package.json`: one top directory (npm packs into `package/`), not `.` or `..`. */
function isPackageJson(entryPath: string): boolean {
  const m = /^([^/]+)\/package\.json$/u.exec(entryPath);
  return m !== null && m[1] !== '.' && m[1] !== '..';
}

/** Counts bytes through; fails past `limit`. */
function byteLimit(limit: number, path: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > limit) done(new TarballError(`${path} unpacks to more than ${limit} bytes`));
      else done(null, chunk);
    },
  });
}

/** Passes bytes through, hashing them. */
function hashing(hash: Hash): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

/**
 * The `package.json` text of a gzipped tar (the first `DIR/package.json` at depth one) and the
 * SHA-256 of the file, in one read. The whole gzip stream is read (so a truncated or corrupt one
 * is refused), the tar entries only up to the package.json.
 */
async function readPackageJson(
  path: string,
  limits: TarballLimits,
): Promise<{ text: string | undefined; sha256: string }> {
  const maxJson = limits.maxPackageJsonBytes ?? MAX_PACKAGE_JSON_BYTES;
  const maxUnpacked = limits.maxUnpackedBytes ?? MAX_UNPACKED_BYTES;
  let text: string | undefined;
  let refused: TarballError | undefined;
  const parser = new Parser({
    strict: true,
    maxMetaEntrySize: maxJson,
    onReadEntry: (entry: ReadEntry) => {
      if (text !== undefined || refused !== undefined || !isPackageJson(entry.path)) {
        entry.resume();
        return;
      }
      if (entry.type !== 'File' && entry.type !== 'OldFile') {
        refused = new TarballError(`${path}: ${entry.path} is a ${entry.type}, not a regular file`);
      } else if (entry.size > maxJson) {
        refused = new TarballError(`${path}: ${entry.path} is larger than ${maxJson} bytes`);
      }
      if (refused !== undefined) {
        entry.resume();
        return;
      }
      const parts: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => parts.push(chunk));
      entry.on('end', () => {
        text = Buffer.concat(parts).toString('utf8');
      });
    },
  });
  // A bad header or checksum (strict) is an 'error' of the parser.
  let invalid: TarballError | undefined;
  parser.on('error', (err: Error) => {
    invalid ??= new TarballError(`${path} is not a valid tarball (${err.message})`);
  });
  let parsing = true;
  // The tar parser as the end of a pipeline: it is fed until the package.json is in; the rest
  // is only unpacked (within the bound) to check the gzip stream.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (parsing) parser.write(chunk);
      if (text !== undefined) parsing = false;
      done(invalid ?? refused);
    },
    final(done) {
      if (!parsing || invalid !== undefined || refused !== undefined) {
        done(invalid ?? refused);
        return;
      }
      // An aborted parser never finishes: its error ends the wait instead.
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        done(invalid ?? refused);
      };
      parser.once('error', settle);
      parser.end(settle);
    },
  });
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(path), hashing(hash), createGunzip(), byteLimit(maxUnpacked, path), sink);
  } catch (err) {
    if (err instanceof TarballError) throw err;
    if ((err as NodeJS.ErrnoException).code?.startsWith('Z_') === true) {
      throw new TarballError(`${path} is not a gzipped tarball`);
    }
    throw err;
  }
  return { text, sha256: hash.digest('hex') };
}

/**
 * Reads name, version and checksum of a package tarball.
 *
 * @throws Error when the file cannot be read; TarballError when it is not an npm package
 *   tarball or breaks one of the bounds in the module notes.
 */
export async function readTarballPackage(path: string, limits: TarballLimits = {}): Promise<TarballPackage> {
  const { text, sha256 } = await readPackageJson(path, limits);
  if (text === undefined)
    throw new TarballError(`${path} has no package/package.json (is it npm pack output?)`);
  let pkg: unknown;
  try {
    pkg = JSON.parse(text);
  } catch {
    throw new TarballError(`${path}: package.json is not valid JSON`);
  }
  const { name, version } = (pkg ?? {}) as { name?: unknown; version?: unknown };
  if (typeof name !== 'string' || typeof version !== 'string') {
    throw new TarballError(`${path}: package.json has no name or version`);
  }
  return { path, name, version, sha256 };
}
