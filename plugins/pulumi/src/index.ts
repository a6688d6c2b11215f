/**
 * `@push-jobs/pulumi`: Pulumi components that provision a push-jobs server and install
 * push-jobs agents on a fleet of hosts over SSH, built on `@pulumi/command`.
 *
 * - {@link PushJobsServer} (`push-jobs:index:Server`): one server, its org, admin and validator.
 * - {@link PushJobsAgent} (`push-jobs:index:Agent`): an agent on one host, registered and
 *   converged with the `@push-jobs/cookbook` renderer.
 * - {@link PushJobsCluster} (`push-jobs:index:Cluster`): several servers on one PostgreSQL
 *   database behind a load balancer (cluster mode), and what that load balancer must do.
 * - {@link PushJobsFleet} (`push-jobs:index:Fleet`): a server (or a cluster) plus agents for a
 *   list of hosts.
 *
 * @example
 * ```ts
 * import { PushJobsFleet } from '@push-jobs/pulumi';
 *
 * const fleet = new PushJobsFleet('ops', {
 *   server: { connection: { host: 'push.example.com', user: 'ubuntu', privateKey } },
 *   whitelist: { uptime: 'uptime', 'chef-client': 'chef-client' },
 *   hosts: [{ nodeName: 'web1', connection: { host: 'web1.example.com', user: 'ubuntu', privateKey } }],
 * });
 * ```
 *
 * @module
 */
export {
  INSTANCE_NAME_MAX_LENGTH,
  INSTANCE_NAME_PATTERN,
  MIN_LEASE_SECONDS,
  PushJobsServer,
  SERVER_DEFAULTS,
  type PushJobsServerArgs,
  type PushJobsServerEndpoint,
  type ServerClusterOptions,
  type ServerLogLevel,
  type ServerStorage,
  type ServerTls,
} from './server.js';
export { agentAttributes, PushJobsAgent, type PushJobsAgentArgs, type Whitelist } from './agent.js';
export {
  CLUSTER_HEALTH_CHECK_PATH,
  loadBalancerRequirements,
  PushJobsCluster,
  type LoadBalancerSpec,
  type PushJobsClusterArgs,
  type PushJobsClusterInstance,
} from './cluster.js';
export { PushJobsFleet, type PushJobsFleetArgs, type PushJobsFleetHost } from './fleet.js';
export { DEFAULT_NODE_DIST_URL, DEFAULT_NODE_MAJOR, type HostOptions } from './common.js';
export { DEFAULT_SSH_PORT, DEFAULT_SSH_USER, type HostConnection } from './connection.js';
export {
  agentLayout,
  INIT_SYSTEMS,
  serverLayout,
  type AgentLayout,
  type InitSystem,
  type ServerLayout,
} from './host/layout.js';
export {
  ownVersion,
  type PackageSource,
  type RegistryPackageSource,
  type TarballPackageSource,
} from './package-source.js';
export { ArgumentError } from './validate.js';
