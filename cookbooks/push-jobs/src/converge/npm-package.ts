/**
 * `push_jobs_package[NAME] action install`: installs the agent's npm package into the install
 * prefix, from the npm registry or from local tarballs, at the requested version.
 *
 * Idempotent: what was installed (source, requested version, tarball checksums, installed
 * version) is recorded in `PREFIX/.push-jobs-cookbook-install.json`; an unchanged request with
 * the binary in place is up to date. An install happens in a staging directory next to the
 * prefix and replaces the prefix only once it succeeded, so a failed install leaves the
 * previous one as it was.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AGENT_BIN_RELATIVE } from '../attributes/defaults.js';
import type { PackageSource, PushJobsAttributes, RecipeName } from '../attributes/types.js';
import { CookbookError, errorMessage } from '../errors.js';
import { lastLines } from './command.js';
import type { ConvergeContext } from './context.js';
import { type Notification, type Resource, type ResourceOutcome, UP_TO_DATE } from './resource.js';
import { readTarballPackage, type TarballPackage } from './tarball.js';

/** The install record kept in the prefix. */
export const INSTALL_STATE_FILE = '.push-jobs-cookbook-install.json';

/** What was installed (the content of {@link INSTALL_STATE_FILE}). */
export interface InstallState {
  /** The agent package. */
  package: string;
  /** Where it came from. */
  source: PackageSource;
  /** The requested version (or range), or null for the newest. */
  requested: string | null;
  /** The registry used, or null for npm's own setting. */
  registry: string | null;
  /** The tarballs installed: path and SHA-256. */
  tarballs: { path: string; sha256: string }[];
  /** The version npm installed. */
  installed: string;
}

/**
 * The environment npm runs with. Inside an npm run (`npm test`, `npm exec`), npm exports its
 * own settings (`npm_config_local_prefix`, workspace selection, ...) that would point the child
 * npm at the enclosing project; those are dropped (the child re-reads the same npmrc files).
 * Outside an npm run the environment is passed unchanged.
 */
export function npmEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env['npm_command'] === undefined && env['npm_lifecycle_event'] === undefined) return { ...env };
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    if (!/^npm_/iu.test(key) && key !== 'INIT_CWD') out[key] = value;
  }
  return out;
}

/** The tarballs of `local_package_path`, resolved to absolute paths. */
export function tarballPaths(attrs: PushJobsAttributes): string[] {
  const local = attrs.local_package_path;
  if (local === null) return [];
  return (Array.isArray(local) ? local : [local]).map((p) => resolve(p));
}

/** The effective package source: `package_source`, else `tarball` when tarballs are given. */
export function packageSource(attrs: PushJobsAttributes): PackageSource {
  return attrs.package_source ?? (attrs.local_package_path === null ? 'registry' : 'tarball');
}

/** `push_jobs_package[NAME] action install`. */
export class NpmPackageResource implements Resource {
  readonly type = 'push_jobs_package';
  readonly action = 'install';
  readonly name: string;
  readonly source: PackageSource;
  readonly tarballs: string[];

  constructor(
    readonly attrs: PushJobsAttributes,
    readonly recipe: RecipeName,
    readonly notifies: readonly Notification[] = [],
    /** The npm executable. */
    readonly npm = 'npm',
  ) {
    this.name = `push_jobs_package[${attrs.package_name}]`;
    this.source = packageSource(attrs);
    this.tarballs = this.source === 'tarball' ? tarballPaths(attrs) : [];
  }

  /** Reads the tarballs; errors name `local_package_path` or `package_version`. */
  private async readTarballs(): Promise<TarballPackage[]> {
    if (this.source !== 'tarball') return [];
    const packages: TarballPackage[] = [];
    for (const path of this.tarballs) {
      if (!existsSync(path)) {
        throw new CookbookError(`push_jobs.local_package_path: package tarball ${path} not found`, {
          attribute: 'push_jobs.local_package_path',
          path,
        });
      }
      try {
        packages.push(await readTarballPackage(path));
      } catch (err) {
        throw new CookbookError(`push_jobs.local_package_path: ${errorMessage(err)}`, {
          attribute: 'push_jobs.local_package_path',
          path,
          cause: err,
        });
      }
    }
    const agent = packages.find((p) => p.name === this.attrs.package_name);
    if (agent === undefined) {
      throw new CookbookError(
        `push_jobs.local_package_path: none of the tarballs is ${this.attrs.package_name} ` +
          `(found ${packages.map((p) => `${p.name}@${p.version}`).join(', ')})`,
        { attribute: 'push_jobs.local_package_path' },
      );
    }
    const wanted = this.attrs.package_version;
    if (wanted !== null && wanted !== agent.version) {
      throw new CookbookError(
        `push_jobs.package_version is ${wanted} but the tarball ${agent.path} holds ${agent.name}@${agent.version}`,
        { attribute: 'push_jobs.package_version', path: agent.path },
      );
    }
    return packages;
  }

  private async currentState(hostPrefix: string): Promise<InstallState | undefined> {
    try {
      const state = JSON.parse(await readFile(join(hostPrefix, INSTALL_STATE_FILE), 'utf8')) as InstallState;
      if (!existsSync(join(hostPrefix, AGENT_BIN_RELATIVE))) return undefined;
      const pkg = JSON.parse(
        await readFile(join(hostPrefix, 'node_modules', this.attrs.package_name, 'package.json'), 'utf8'),
      ) as { version?: unknown };
      return pkg.version === state.installed ? state : undefined;
    } catch {
      return undefined;
    }
  }

  async converge(ctx: ConvergeContext): Promise<ResourceOutcome> {
    const prefix = this.attrs.install_prefix;
    const hostPrefix = ctx.hostPath(prefix);
    const tarballs = await this.readTarballs();
    const wanted: Omit<InstallState, 'installed'> = {
      package: this.attrs.package_name,
      source: this.source,
      requested: this.attrs.package_version,
      registry: this.source === 'registry' ? this.attrs.npm_registry : null,
      tarballs: tarballs.map((t) => ({ path: t.path, sha256: t.sha256 })),
    };
    const current = await this.currentState(hostPrefix);
    if (current !== undefined && sameRequest(current, wanted)) return UP_TO_DATE;

    const agentTarball = tarballs.find((t) => t.name === this.attrs.package_name);
    const target = agentTarball?.version ?? this.attrs.package_version ?? 'latest';
    const from =
      this.source === 'tarball'
        ? `${tarballs.length} local tarball${tarballs.length === 1 ? '' : 's'}`
        : `the npm registry${wanted.registry === null ? '' : ` ${wanted.registry}`}`;
    const verb = current === undefined ? 'install' : `upgrade ${current.package}@${current.installed} to`;
    const messages = [`${verb} ${this.attrs.package_name}@${target} from ${from} into ${prefix}`];
    const diff = [
      current === undefined ? `- (not installed by this cookbook)` : `- ${describeState(current)}`,
      `+ ${describeState({ ...wanted, installed: target })}`,
    ].join('\n');
    if (ctx.whyRun) return { updated: true, diff, messages };

    const installed = await this.install(ctx, hostPrefix, tarballs);
    return {
      updated: true,
      diff: diff.replace(/^\+ .*$/mu, `+ ${describeState({ ...wanted, installed })}`),
      messages: [messages[0]!.replace(`@${target} `, `@${installed} `)],
    };
  }

  /** Installs into a staging directory, then swaps it in. Returns the installed version. */
  private async install(
    ctx: ConvergeContext,
    hostPrefix: string,
    tarballs: TarballPackage[],
  ): Promise<string> {
    const prefix = this.attrs.install_prefix;
    const suffix = randomBytes(4).toString('hex');
    const staging = `${hostPrefix}.staging-${suffix}`;
    const old = `${hostPrefix}.old-${suffix}`;
    const dependencies: Record<string, string> =
      this.source === 'tarball'
        ? Object.fromEntries(tarballs.map((t) => [t.name, `file:${t.path}`]))
        : { [this.attrs.package_name]: this.attrs.package_version ?? 'latest' };
    const manifest = {
      name: 'push-jobs-agent-install',
      private: true,
      description: 'The push jobs agent, installed by the push-jobs cookbook; do not edit.',
      dependencies,
      // npm 11 runs no install scripts unless allowed; zeromq's picks its prebuilt binary.
      allowScripts: { zeromq: true },
    };
    try {
      await mkdir(dirname(hostPrefix), { recursive: true, mode: 0o755 });
      await mkdir(staging, { mode: 0o755 });
      await writeFile(join(staging, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw new CookbookError(`cannot create ${ctx.describePath(prefix)}: ${errorMessage(err)}`, {
        path: prefix,
        cause: err,
      });
    }
    try {
      const args = ['install', '--omit=dev', '--no-audit', '--no-fund', '--no-update-notifier'];
      if (this.source === 'registry' && this.attrs.npm_registry !== null)
        args.push('--registry', this.attrs.npm_registry);
      const result = await ctx.run(this.npm, args, { cwd: staging, env: npmEnvironment() });
      if (result.code !== 0) throw this.npmError(result.code, `${result.stdout}\n${result.stderr}`);
      if (!existsSync(join(staging, AGENT_BIN_RELATIVE))) {
        throw new CookbookError(
          `${this.attrs.package_name} installed but has no push-jobs-client binary (${AGENT_BIN_RELATIVE}); is push_jobs.package_name the agent package?`,
          { attribute: 'push_jobs.package_name' },
        );
      }
      const pkg = JSON.parse(
        await readFile(join(staging, 'node_modules', this.attrs.package_name, 'package.json'), 'utf8'),
      ) as { version?: unknown };
      const installed = String(pkg.version);
      const state: InstallState = {
        package: this.attrs.package_name,
        source: this.source,
        requested: this.attrs.package_version,
        registry: this.source === 'registry' ? this.attrs.npm_registry : null,
        tarballs: tarballs.map((t) => ({ path: t.path, sha256: t.sha256 })),
        installed,
      };
      await writeFile(join(staging, INSTALL_STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
      const hadPrevious = existsSync(hostPrefix);
      if (hadPrevious) await rename(hostPrefix, old);
      try {
        await rename(staging, hostPrefix);
      } catch (err) {
        if (hadPrevious) await rename(old, hostPrefix).catch(() => undefined);
        throw err;
      }
      if (hadPrevious) await rm(old, { recursive: true, force: true });
      return installed;
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      if (err instanceof CookbookError) throw err;
      throw new CookbookError(
        `installing ${this.attrs.package_name} into ${ctx.describePath(prefix)} failed: ${errorMessage(err)}`,
        {
          path: prefix,
          cause: err,
        },
      );
    }
  }

  private npmError(code: number, output: string): CookbookError {
    const spec = `${this.attrs.package_name}@${this.attrs.package_version ?? 'latest'}`;
    if (/\bE404\b|404 Not Found|is not in this registry/u.test(output)) {
      return new CookbookError(
        `package ${this.attrs.package_name} cannot be found in the npm registry (push_jobs.package_name; npm: ${lastLines(output, 2)})`,
        { attribute: 'push_jobs.package_name' },
      );
    }
    if (/\bETARGET\b|No matching version/u.test(output)) {
      return new CookbookError(
        `no version of ${spec} can be found in the npm registry (push_jobs.package_version; npm: ${lastLines(output, 2)})`,
        { attribute: 'push_jobs.package_version' },
      );
    }
    return new CookbookError(`npm install of ${spec} failed (exit ${code}): ${lastLines(output)}`, {
      attribute: this.source === 'tarball' ? 'push_jobs.local_package_path' : 'push_jobs.package_version',
    });
  }
}

function sameRequest(current: InstallState, wanted: Omit<InstallState, 'installed'>): boolean {
  return (
    current.package === wanted.package &&
    current.source === wanted.source &&
    current.requested === wanted.requested &&
    current.registry === wanted.registry &&
    JSON.stringify(current.tarballs) === JSON.stringify(wanted.tarballs)
  );
}

function describeState(state: InstallState): string {
  const detail =
    state.source === 'tarball'
      ? state.tarballs.map((t) => `${t.path} sha256:${t.sha256.slice(0, 12)}`).join(', ')
      : `registry${state.registry === null ? '' : ` ${state.registry}`}${state.requested === null ? '' : `, requested ${state.requested}`}`;
  return `${state.package}@${state.installed} (${detail})`;
}
