/**
 * Cluster mode: three push-jobs servers on one PostgreSQL database, behind a load balancer you
 * run (any TCP or HTTP one), and agents that use the load balancer as their server.
 *
 *   pulumi config set --secret databaseUrl 'postgres://push:PASSWORD@db.internal:5432/push'
 *   pulumi config set loadBalancerUrl https://push.example.com
 *   pulumi config set --path 'servers[0]' 10.0.0.5
 *   pulumi config set --path 'servers[1]' 10.0.0.6
 *   pulumi config set --path 'servers[2]' 10.0.0.7
 *   pulumi config set --path 'hosts[0].name' web1
 *   pulumi config set --path 'hosts[0].address' 10.0.0.11
 *   pulumi config set --secret sshPrivateKey -- "$(cat ~/.ssh/id_ed25519)"
 *   pulumi up
 *   pulumi stack output loadBalancerRequirements   # what the load balancer must do
 *
 * The load balancer forwards to `apiBackends` and health-checks `healthCheckPath`; agents register
 * through it, so it must answer first: run `pulumi up` without `hosts`, set the load balancer up
 * from the outputs, then add the hosts and run `pulumi up` again.
 */
import * as pulumi from '@pulumi/pulumi';
import { PushJobsAgent, PushJobsCluster } from '@push-jobs/pulumi';

interface HostConfig {
  name: string;
  address: string;
}

const config = new pulumi.Config();
const sshUser = config.get('sshUser') ?? 'ubuntu';
const privateKey = config.requireSecret('sshPrivateKey');

const cluster = new PushJobsCluster('push', {
  storage: { postgresUrl: config.requireSecret('databaseUrl') },
  loadBalancerUrl: config.require('loadBalancerUrl'),
  org: 'ops',
  // Each instance: its own host (the same ports on every host), named push-1, push-2, ...
  instances: config.requireObject<string[]>('servers').map((address) => ({
    connection: { host: address, user: sshUser, privateKey },
  })),
});

const agents =
  (config.getBoolean('agentsAfterLoadBalancer') ?? true)
    ? config.requireObject<HostConfig[]>('hosts').map(
        (h) =>
          new PushJobsAgent(h.name, {
            connection: { host: h.address, user: sshUser, privateKey },
            nodeName: h.name,
            server: cluster, // chef_server_url: <loadBalancerUrl>/organizations/ops
            whitelist: { uptime: 'uptime' },
          }),
      )
    : [];

/** What the load balancer must do, as text. */
export const loadBalancerRequirements = cluster.loadBalancerRequirements;
/** Its backends (`host:port` of every instance's API) and health check. */
export const apiBackends = cluster.apiBackends;
export const healthCheckPath = cluster.healthCheckPath;
/** What nodes reach directly (not through the load balancer). */
export const heartbeatAddresses = cluster.heartbeatAddresses;
export const commandAddresses = cluster.commandAddresses;
export const chefServerUrl = cluster.chefServerUrl;
export const nodes = agents.map((a) => a.nodeName);
/** The admin user's key, for knife push or `push jobs` (a secret). */
export const adminKey = cluster.adminKey;
