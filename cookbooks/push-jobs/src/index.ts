/**
 * `@push-jobs/cookbook`: the push-jobs cookbook as a library. Typed `push_jobs` attributes with
 * per-platform defaults and Chef precedence, pure renderers of the agent's config file and
 * service definitions, and an idempotent converge (install, config, service) that reports what
 * it changed.
 *
 * @example
 * ```ts
 * import { converge } from '@push-jobs/cookbook';
 *
 * const report = await converge(
 *   {
 *     chef: { chef_server_url: 'https://push.example.com/organizations/acme', node_name: 'web1' },
 *     whitelist: { uptime: 'uptime' },
 *   },
 *   { root: '/tmp/node-root', platformFamily: 'debian' },
 * );
 * console.log(`${report.updatedCount}/${report.totalCount} resources updated`);
 * ```
 *
 * @module
 */
export {
  AGENT_BIN_RELATIVE,
  CONFIG_DIR,
  CONFIG_PATH,
  LOG_FILE_NAME,
  PLATFORM_PROFILES,
  STATE_DIR,
  assertPlatformFamily,
  defaultAttributes,
  isPlatformFamily,
  type PlatformProfile,
} from './attributes/defaults.js';
export {
  attributeLevelsFromDocument,
  mergeAttributes,
  parseAttributesFile,
  precedenceLayers,
} from './attributes/merge.js';
export {
  INIT_SYSTEMS,
  PACKAGE_SOURCES,
  PLATFORM_FAMILIES,
  RECIPES,
  SSL_VERIFY_MODE_VALUES,
  type AttributeLevels,
  type ChefAttributes,
  type DeepPartial,
  type InitSystem,
  type PackageSource,
  type PlatformFamily,
  type ProxyAttributes,
  type PushJobsAttributes,
  type PushJobsAttributesInput,
  type RecipeName,
  type SslVerifyMode,
  type WhitelistAttribute,
  type WhitelistHashEntry,
  type WhitelistValue,
} from './attributes/types.js';
export {
  requireConnection,
  validateAttributes,
  validateAttributesDetailed,
  type ValidatedAttributes,
} from './attributes/validate.js';
export { runCli, type CliIo } from './cli/run.js';
export {
  chooseInitSystem,
  converge,
  normalizeRecipes,
  renderFiles,
  type ConvergeOptions,
  type RenderFilesOptions,
} from './converge.js';
export {
  execCommand,
  type CommandOptions,
  type CommandResult,
  type CommandRunner,
} from './converge/command.js';
export { INSTALL_STATE_FILE, type InstallState } from './converge/npm-package.js';
export { summaryLine, type ConvergeReport, type ResourceReport } from './converge/report.js';
export {
  RecordingServiceManager,
  RunitServiceManager,
  SERVICE_ACTIONS_LOG,
  SERVICE_STATE_FILE,
  serviceManagerFor,
  SystemdServiceManager,
  SysvinitServiceManager,
  type ServiceManager,
  type ServiceStatus,
} from './converge/service-manager.js';
export { CookbookError, type CookbookErrorDetails } from './errors.js';
export { detectInitSystem, detectPlatformFamily, familyFromOsRelease } from './platform.js';
export { configChangeAction, configFileMode } from './recipes.js';
export { agentConfigFromAttributes, renderClientRb } from './render/client-rb.js';
export { rubyRegexLiteral, rubyWhitelist } from './render/ruby.js';
export {
  agentBinPath,
  agentCommand,
  MANAGED_MARKER,
  renderRunitLogRun,
  renderRunitRun,
  renderServiceFiles,
  renderSystemdUnit,
  renderSysvinitScript,
  serviceDefinitionPath,
  type RenderedFile,
} from './render/service-files.js';
export { fetchNodeAttributes, type FetchNodeAttributesOptions } from './server-attributes.js';
