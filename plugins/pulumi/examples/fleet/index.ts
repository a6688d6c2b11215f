/**
 * A push-jobs server and an agent on each of a list of existing hosts, reached over SSH.
 *
 *   pulumi config set serverHost 10.0.0.5
 *   pulumi config set --path 'hosts[0].name' web1
 *   pulumi config set --path 'hosts[0].address' 10.0.0.11
 *   pulumi config set --secret sshPrivateKey -- "$(cat ~/.ssh/id_ed25519)"
 *   pulumi up
 *   pulumi stack output adminKey --show-secrets > admin.pem
 */
import * as pulumi from '@pulumi/pulumi';
import { PushJobsFleet } from '@push-jobs/pulumi';

interface HostConfig {
  name: string;
  address: string;
  /** Extra allowed commands on this host only. */
  whitelist?: Record<string, string>;
}

const config = new pulumi.Config();
const sshUser = config.get('sshUser') ?? 'ubuntu';
const privateKey = config.requireSecret('sshPrivateKey');
const hosts = config.requireObject<HostConfig[]>('hosts');

const fleet = new PushJobsFleet('ops', {
  server: {
    connection: { host: config.require('serverHost'), user: sshUser, privateKey },
    org: 'ops',
    heartbeatInterval: 1000,
    // storage: { postgresUrl: config.requireSecret('databaseUrl') },
  },
  // Every agent may run these; each host can add (or, with null, remove) entries.
  whitelist: {
    uptime: 'uptime',
    'chef-client': 'chef-client',
    'restart-app': { command_line: 'systemctl restart app', lock: true },
  },
  attributes: { logging_level: 'info' },
  hosts: hosts.map((h) => ({
    nodeName: h.name,
    connection: { host: h.address, user: sshUser, privateKey },
    ...(h.whitelist === undefined ? {} : { whitelist: h.whitelist }),
  })),
});

export const apiUrl = fleet.apiUrl;
export const chefServerUrl = fleet.chefServerUrl;
export const nodes = fleet.nodeNames;
/** The admin user's key, for knife push or `push jobs` (a secret). */
export const adminKey = fleet.adminKey;
