/**
 * The server's settings: the type derived from the protocol's `ServerConfigSchema`, where every
 * setting's default, bounds and meaning are written once. A {@link ServerConfig} is complete:
 * `compileServerConfig` fills in every default, so the rest of the server never sees
 * `undefined` for a setting.
 *
 * @module
 */
export type { ServerConfig, ServerSettingName } from '@push-jobs/protocol/internal';
