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
