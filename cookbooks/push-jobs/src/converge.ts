/**
 * `converge(attributes, options)`: validates the attributes, builds the resources of the
 * requested recipes and converges them, returning a {@link ConvergeReport}.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { CONFIG_PATH, PLATFORM_PROFILES } from './attributes/defaults.js';
import {
  INIT_SYSTEMS,
  RECIPES,
  type InitSystem,
  type PlatformFamily,
  type PushJobsAttributes,
  type RecipeName,
} from './attributes/types.js';
import { requireConnection, validateAttributesDetailed } from './attributes/validate.js';
import { type CommandRunner, execCommand } from './converge/command.js';
import { ConvergeContext } from './converge/context.js';
import type { ConvergeReport } from './converge/report.js';
import type { Resource } from './converge/resource.js';
import { countUpdated, runResources } from './converge/runner.js';
import { ServiceHandle } from './converge/service.js';
import {
  RecordingServiceManager,
  type ServiceManager,
  serviceManagerFor,
} from './converge/service-manager.js';
import { CookbookError } from './errors.js';
import { detectInitSystem, detectPlatformFamily } from './platform.js';
import { configFileMode, configRecipe, installRecipe, serviceRecipe } from './recipes.js';
import { agentConfigFromAttributes, renderClientRb } from './render/client-rb.js';
import { type RenderedFile, renderServiceFiles } from './render/service-files.js';

/** Options of {@link converge}. */
export interface ConvergeOptions {
  /**
   * Lay everything under this directory instead of `/` (tests, container images). Paths inside
   * rendered files stay the node's paths (`/etc/chef/...`). Service actions are recorded, not
   * run (see {@link RecordingServiceManager}).
   * @default '/' (the real machine)
   */
  root?: string;
  /** Report what would change, with diffs, and change nothing. @default false */
  whyRun?: boolean;
  /** Recipes to run, in order. @default ['install', 'config', 'service'] */
  recipes?: RecipeName[];
  /** The platform family. @default detected from /etc/os-release (the root's, else the machine's) */
  platformFamily?: PlatformFamily;
  /**
   * The init system; wins over the `init_style` attribute.
   * @default `init_style`, else detected (systemd under a root)
   */
  initSystem?: InitSystem;
  /** Receives progress lines like chef-client's (`  * template[...] action create`). @default none */
  log?: (line: string) => void;
  /** Acts on the service. @default a recording manager under a root, else the init system's tool */
  serviceManager?: ServiceManager;
  /** Runs npm and the init system's tools. @default child_process.spawn */
  commandRunner?: CommandRunner;
  /** The npm executable. @default 'npm' */
  npmCommand?: string;
}

/** The recipe list: deduplicated, checked. */
export function normalizeRecipes(recipes: readonly string[] | undefined): RecipeName[] {
  if (recipes === undefined) return [...RECIPES];
  const out: RecipeName[] = [];
  for (const recipe of recipes) {
    const name = recipe.replace(/^push-jobs::/u, '').trim();
    if (!(RECIPES as readonly string[]).includes(name)) {
      throw new CookbookError(`unknown recipe '${recipe}' (use ${RECIPES.join(', ')})`);
    }
    if (!out.includes(name as RecipeName)) out.push(name as RecipeName);
  }
  if (out.length === 0) throw new CookbookError(`no recipe to run (use ${RECIPES.join(', ')})`);
  return out;
}

/** The init system a converge uses: the option, else `init_style`, else detected. */
export function chooseInitSystem(
  attrs: PushJobsAttributes,
  family: PlatformFamily,
  options: Pick<ConvergeOptions, 'initSystem' | 'root'>,
): InitSystem {
  if (options.initSystem !== undefined && !(INIT_SYSTEMS as readonly string[]).includes(options.initSystem)) {
    throw new CookbookError(
      `init system '${String(options.initSystem)}' is not supported (use ${INIT_SYSTEMS.join(', ')})`,
    );
  }
  return options.initSystem ?? attrs.init_style ?? detectInitSystem(options.root, family);
}

/** Options of {@link renderFiles}. */
export interface RenderFilesOptions {
  /** The platform family. */
  platformFamily: PlatformFamily;
  /** The init system. @default `init_style`, else the family's usual one */
  initSystem?: InitSystem;
}

/**
 * Every file the config and service recipes write (not the key), by node path: a pure
 * function of the attributes, for golden tests and for user-data.
 *
 * @throws CookbookError for bad attributes or a missing server URL or node name.
 */
export function renderFiles(attributes: unknown, options: RenderFilesOptions): Record<string, RenderedFile> {
  const { attributes: attrs } = validateAttributesDetailed(attributes, options.platformFamily);
  // A pure rendering: the family's usual init system, never the machine's.
  const initSystem =
    options.initSystem ?? attrs.init_style ?? PLATFORM_PROFILES[options.platformFamily].initSystem;
  const files: RenderedFile[] = [
    { path: CONFIG_PATH, content: renderClientRb(attrs), mode: configFileMode(attrs) },
    ...renderServiceFiles(attrs, initSystem, options.platformFamily),
  ];
  return Object.fromEntries(files.map((f) => [f.path, f]));
}

/**
 * Converges the node: validates `attributes` (the `push_jobs` tree, merged over the family's
 * defaults), then runs the recipes. Each resource changes only what differs from its desired
 * state and reports whether it did; notifications to the service run once at the end.
 *
 * @param attributes - the `push_jobs` attribute tree (or `{ push_jobs: tree }`); see
 *   {@link mergeAttributes} to combine precedence levels first.
 * @returns the report; `success` is true.
 * @throws CookbookError for bad attributes or platform (nothing changed), or when a resource
 *   fails (the error's `report` holds what ran; earlier resources stay converged, the failed
 *   one is not left half-written).
 */
export async function converge(attributes: unknown, options: ConvergeOptions = {}): Promise<ConvergeReport> {
  const started = performance.now();
  const root = options.root === undefined ? undefined : resolve(options.root);
  const family = options.platformFamily ?? detectPlatformFamily(root);
  const { attributes: attrs, warnings } = validateAttributesDetailed(attributes, family);
  const initSystem = chooseInitSystem(attrs, family, { initSystem: options.initSystem, root });
  const recipes = normalizeRecipes(options.recipes);
  if (recipes.includes('config')) {
    requireConnection(attrs);
    agentConfigFromAttributes(attrs);
  }
  const log = options.log ?? ((): void => undefined);
  const ctx = new ConvergeContext(
    root,
    options.whyRun ?? false,
    log,
    options.commandRunner ?? execCommand,
    family,
    initSystem,
  );
  for (const warning of warnings) ctx.warn(warning);

  const manager =
    options.serviceManager ??
    (ctx.underRoot
      ? new RecordingServiceManager(ctx.root, initSystem)
      : serviceManagerFor(initSystem, family, ctx.run));
  const handle = new ServiceHandle(attrs.service_name, manager);
  const resources: Resource[] = [];
  for (const recipe of recipes) {
    if (recipe === 'install') resources.push(...installRecipe(attrs, options.npmCommand));
    else if (recipe === 'config') resources.push(...configRecipe(attrs));
    else {
      ctx.targets.set(handle.name, handle);
      resources.push(...serviceRecipe(attrs, initSystem, family, handle));
    }
  }

  log(
    `Starting push-jobs-cookbook run${ctx.whyRun ? ' (why-run)' : ''}: platform family ${family}, init system ${initSystem}` +
      `${ctx.underRoot ? `, root ${ctx.root}` : ''}, recipes ${recipes.join(', ')}`,
  );
  const result = await runResources(resources, ctx);
  const report: ConvergeReport = {
    resources: result.entries,
    updatedCount: countUpdated(result.entries),
    totalCount: result.entries.length,
    elapsedMs: performance.now() - started,
    whyRun: ctx.whyRun,
    success: result.error === undefined,
    root: ctx.root,
    platformFamily: family,
    initSystem,
    recipes,
    warnings: ctx.warnings,
  };
  if (result.error !== undefined) {
    result.error.report = report;
    throw result.error;
  }
  return report;
}
