export { AllowList, AllowListError, type AllowListMatch } from './allow-list.js';
export {
  buildJobEnvironment,
  CHEF_PUSH_JOB_FILE,
  CHEF_PUSH_JOB_ID,
  CHEF_PUSH_NODE_NAME,
  JOB_ENV_RENAME_PREFIX,
  JobEnvironmentError,
  type JobEnvironmentOptions,
} from './job-env.js';
export * from './config/index.js';
export * from './job-runner.js';
export {
  Agent,
  type AgentCreateOptions,
  type AgentLifecycleState,
  type AgentStatus,
  type JobRunnerFactory,
} from './agent.js';
export {
  AgentConnection,
  AgentStartError,
  configUrl,
  fetchAgentConfig,
  SILENT_LOGGER,
  type AgentConnectionOptions,
  type AgentIdentity,
  type AgentLogger,
  type ConnectionEvents,
  type HeartbeatFeed,
  type CurveKeyPair,
  type DroppedMessage,
  type FetchedConfig,
} from './connection.js';
export { Heartbeater, type HeartbeaterHooks, type HeartbeaterOptions } from './heartbeater.js';
export {
  agentVersion,
  DEFAULT_FILE_CACHE_PATH,
  FILE_DIR_CLEAN_INTERVAL_MS,
  startDaemon,
  type DaemonHandle,
  type DaemonIo,
  type DaemonOutput,
} from './daemon.js';
export { SharedHeartbeatFeed } from './heartbeat-feed.js';
export { agentTlsOptions, type AgentTlsOptions } from './http.js';
export { loadOrRegisterClientKey } from './register.js';
export { SimulatedJobRunner, simulatedLine, type SimulatedJobRunnerOptions } from './simulated-runner.js';
export {
  OutputStream,
  OUTPUT_CHUNK_BYTES,
  OUTPUT_FLUSH_MS,
  type OutputChunk,
  type OutputStreamOptions,
} from './output-stream.js';
export type {
  CommitOptions,
  JobRunnerPort,
  RunnerControlReply,
  RunnerOutput,
  RunnerReply,
  RunnerResultFields,
} from './runner-types.js';
