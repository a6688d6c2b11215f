/**
 * Where the push-jobs packages installed on hosts come from: the npm registry at a version, or
 * `npm pack` tarballs on the machine running Pulumi (copied to each host).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { posix, basename } from 'node:path';
import { argumentError, type Who } from './validate.js';

/** Install the packages from an npm registry. */
export interface RegistryPackageSource {
  /** The version of `@push-jobs/*` to install. @default this package's version */
  readonly version?: string;
  /** npm registry URL. @default npm's configured registry */
  readonly registry?: string;
}

/** Install the packages from `npm pack` tarballs (paths on the machine running Pulumi). */
export interface TarballPackageSource {
  /**
   * Tarballs to copy to the host and install together: the component's package and its
   * `@push-jobs/*` dependencies (`push-jobs-protocol-0.1.0.tgz`, ...).
   */
  readonly tarballs: readonly string[];
}

/** Where host packages come from. @default `{ version: <this package's version> }` */
export type PackageSource = RegistryPackageSource | TarballPackageSource;

/** One tarball to copy: local path, its name, and its SHA-256. */
export interface TarballCopy {
  readonly localPath: string;
  readonly fileName: string;
  readonly sha256: string;
}

/** A package source resolved for one component on one host. */
export interface ResolvedPackageSource {
  /** Tarballs to copy (empty for the registry). */
  readonly copies: readonly TarballCopy[];
  /**
   * Builds the `npm install` specs, given the host directory the tarballs are copied to,
   * leaving out the `exclude`d packages (installed some other way).
   */
  readonly specs: (cacheDir: string, exclude?: readonly string[]) => string[];
  /** The host paths of the tarballs, leaving out those of the `exclude`d packages. */
  readonly tarballPaths: (cacheDir: string, exclude?: readonly string[]) => string[];
  readonly registry?: string;
  /** The registry version (absent for tarballs). */
  readonly version?: string;
}

/** This package's version: the default version of the host packages. */
export function ownVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('../package.json') as { version: string }).version;
}

/** `@push-jobs/server` → `push-jobs-server-` (the start of `npm pack`'s file name). */
export function packFilePrefix(pkg: string): string {
  return `${pkg.replace(/^@/, '').replace('/', '-')}-`;
}

function isTarballSource(source: PackageSource): source is TarballPackageSource {
  return 'tarballs' in source;
}

/**
 * Checks a package source and resolves it for `packages` (the ones the host needs; their
 * `@push-jobs/*` dependencies come along). Tarballs of the `skip`ped packages (other hosts'
 * packages, when one list serves a whole fleet) are left out. Tarballs are read now, for their
 * hashes.
 *
 * @throws ArgumentError for a source with both or neither form, a tarball that cannot be read,
 *   or tarballs missing one of `packages`.
 */
export function resolvePackageSource(
  who: Who,
  source: PackageSource | undefined,
  packages: readonly string[],
  skip: readonly string[] = [],
): ResolvedPackageSource {
  const s = source ?? {};
  if (typeof s !== 'object' || s === null) {
    throw argumentError(who, 'packageSource must be { version, registry } or { tarballs }');
  }
  if (isTarballSource(s)) {
    if ('version' in s || 'registry' in s) {
      throw argumentError(who, 'packageSource: give either tarballs or version/registry, not both');
    }
    if (!Array.isArray(s.tarballs) || s.tarballs.length === 0) {
      throw argumentError(who, 'packageSource.tarballs must be a non-empty list of npm pack tarball paths');
    }
    const wanted = s.tarballs
      .map((localPath, index) => ({ localPath, index }))
      .filter(({ localPath }) => !skip.some((pkg) => basename(localPath).startsWith(packFilePrefix(pkg))));
    const copies = wanted.map(({ localPath, index: i }): TarballCopy => {
      let data: Buffer;
      try {
        data = readFileSync(localPath);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw argumentError(who, `packageSource.tarballs[${i}] cannot be read (${why}); run npm pack first`);
      }
      return {
        localPath,
        fileName: basename(localPath),
        sha256: createHash('sha256').update(data).digest('hex'),
      };
    });
    for (const pkg of packages) {
      if (!copies.some((c) => c.fileName.startsWith(packFilePrefix(pkg)))) {
        throw argumentError(
          who,
          `packageSource.tarballs has no ${packFilePrefix(pkg)}<version>.tgz; add the npm pack tarball of ${pkg}`,
        );
      }
    }
    const names = new Set<string>();
    for (const c of copies) {
      if (names.has(c.fileName)) throw argumentError(who, `packageSource.tarballs lists ${c.fileName} twice`);
      names.add(c.fileName);
    }
    const paths = (cacheDir: string, exclude: readonly string[] = []): string[] =>
      copies
        .filter((c) => !exclude.some((pkg) => c.fileName.startsWith(packFilePrefix(pkg))))
        .map((c) => posix.join(cacheDir, c.fileName));
    return { copies, specs: paths, tarballPaths: paths };
  }
  const version = s.version ?? ownVersion();
  if (typeof version !== 'string' || version.trim() === '' || /\s/u.test(version)) {
    throw argumentError(
      who,
      `packageSource.version must be an npm version or range, got ${JSON.stringify(version)}`,
    );
  }
  if (s.registry !== undefined && !/^https?:\/\/\S+$/u.test(s.registry)) {
    throw argumentError(
      who,
      `packageSource.registry must be an http(s) URL, got ${JSON.stringify(s.registry)}`,
    );
  }
  return {
    copies: [],
    specs: (_cacheDir, exclude = []) =>
      packages.filter((pkg) => !exclude.includes(pkg)).map((pkg) => `${pkg}@${version}`),
    tarballPaths: () => [],
    version,
    ...(s.registry === undefined ? {} : { registry: s.registry }),
  };
}
