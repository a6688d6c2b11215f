/**
 * `@push-jobs/server`: the push-jobs server as a library. `startPushServer()` runs everything
 * (HTTP API, ZeroMQ sockets, tracker, engine, feeds); `buildApp()` runs the API alone; the
 * store, config and identity helpers are what the `push-jobs-server` binary is built from.
 *
 * @example
 * ```ts
 * import { DEFAULT_SERVER_CONFIG, openStore, startPushServer } from '@push-jobs/server';
 *
 * const store = await openStore('/var/lib/push-jobs/push-jobs.sqlite');
 * const server = await startPushServer({ config: { ...DEFAULT_SERVER_CONFIG }, store });
 * await server.app.listen({ port: 10003 });
 * ```
 *
 * @module
 */
export { buildApp, type AppOptions, type PushRuntime, type RouteDeps } from './app.js';
export { compileServerConfig, DEFAULT_SERVER_CONFIG, type ServerConfig } from './config/index.js';
export {
  associateUser,
  createClientWithKey,
  createOrgWithDefaults,
  createUserWithKey,
  generateRsaKeyPair,
  normalizePublicKey,
} from './identity/index.js';
export { startPushServer, type PushServer, type PushServerOptions } from './push-server.js';
export { clusterChannels, listInstances, type InstanceInfo } from './cluster/index.js';
export { openStore } from './store/index.js';
export type { Store } from './store/types.js';
