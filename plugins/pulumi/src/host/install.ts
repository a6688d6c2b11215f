/**
 * Installing push-jobs packages on a host with npm, from the registry at a version or from
 * `npm pack` tarballs copied to the host beforehand.
 *
 * @module
 */
import { assignments, bashCommand, heredoc, preamble, shellQuote, type RunAs } from './shell.js';
import type { HostCommands } from './types.js';

/** Packages with install scripts that npm 11 must be allowed to run (native modules). */
export const ALLOWED_INSTALL_SCRIPTS: Readonly<Record<string, boolean>> = Object.freeze({
  zeromq: true,
  'better-sqlite3': true,
});

/** What the install step needs. */
export interface InstallStepInput {
  readonly nodeHome: string;
  /** npm prefix to install into (gets a `package.json` and `node_modules`). */
  readonly prefix: string;
  /** Where copied tarballs are; removed on delete. */
  readonly cacheDir: string;
  /**
   * What `npm install` gets: `@push-jobs/server@0.1.0`-style specs, or the host paths of copied
   * tarballs.
   */
  readonly specs: readonly string[];
  /** npm registry URL, when not the default. */
  readonly registry?: string;
  /**
   * Content hashes of the tarballs (written into the script as a comment, so a changed tarball
   * re-runs the step).
   */
  readonly tarballHashes: readonly string[];
  readonly label: string;
  readonly runAs: RunAs;
}

/** The package.json of an install prefix. */
export function prefixPackageJson(name: string): string {
  return `${JSON.stringify(
    {
      name,
      version: '0.0.0',
      private: true,
      description: 'Installed by @push-jobs/pulumi',
      allowScripts: ALLOWED_INSTALL_SCRIPTS,
    },
    null,
    2,
  )}\n`;
}

/** The create and delete commands of an install step. */
export function installStep(input: InstallStepInput): HostCommands {
  const name =
    input.prefix
      .split('/')
      .filter((s) => s !== '')
      .pop() ?? 'push-jobs';
  const registry = input.registry === undefined ? '' : ` --registry ${shellQuote(input.registry)}`;
  const hashes = input.tarballHashes.map((h) => `# tarball sha256 ${h}`).join('\n');
  const create = `${preamble(input.nodeHome)}
${assignments({ PREFIX: input.prefix })}
${hashes}
command -v npm >/dev/null 2>&1 || { echo "$0: npm not found (it comes with Node.js)" >&2; exit 1; }
mkdir -p "$PREFIX"
${heredoc('"$PREFIX/package.json"', prefixPackageJson(name))}
# Reinstall our packages (a tarball may have changed under the same name); the other
# dependencies, native builds included, stay.
rm -rf "$PREFIX/node_modules/@push-jobs" "$PREFIX/package-lock.json"
cd "$PREFIX"
npm install --prefix "$PREFIX" --omit=dev --no-audit --no-fund --no-update-notifier${registry} ${input.specs.map(shellQuote).join(' ')}
echo "installed ${input.specs.length} package(s) in $PREFIX"
`;
  const del = `${preamble(input.nodeHome)}
${assignments({ PREFIX: input.prefix, CACHE_DIR: input.cacheDir })}
rm -rf "$PREFIX" "$CACHE_DIR"
echo "removed $PREFIX"
`;
  return {
    create: bashCommand(create, input.label, input.runAs),
    delete: bashCommand(del, `${input.label}-delete`, input.runAs),
  };
}
