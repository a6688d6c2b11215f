/**
 * Agents for a server that is already running (stood up by another stack, or by hand): give its
 * org URL and the validator's key, and each host registers its own client.
 *
 *   pulumi config set chefServerUrl https://push.example.com:10003/organizations/ops
 *   pulumi config set --secret validatorKey -- "$(cat ops-validator.pem)"
 *   pulumi config set --secret sshPrivateKey -- "$(cat ~/.ssh/id_ed25519)"
 */
import * as pulumi from '@pulumi/pulumi';
import { PushJobsAgent } from '@push-jobs/pulumi';

const config = new pulumi.Config();
const privateKey = config.requireSecret('sshPrivateKey');
const server = {
  chefServerUrl: config.require('chefServerUrl'),
  validatorName: config.get('validatorName') ?? 'ops-validator',
  validatorKey: config.requireSecret('validatorKey'),
};

const workers = ['worker1', 'worker2'].map(
  (name, i) =>
    new PushJobsAgent(name, {
      connection: { host: `10.0.1.${10 + i}`, user: 'ec2-user', privateKey },
      nodeName: name,
      server,
      platformFamily: 'amazon',
      whitelist: { 'run-batch': '/usr/local/bin/run-batch', 'chef-client': null },
      attributes: { environment_variables: { LANG: 'C.UTF-8' }, logging_level: 'warn' },
      packageSource: { version: '0.1.0' },
    }),
);

export const configPaths = workers.map((w) => w.configPath);
export const clients = workers.map((w) => w.clientName);
