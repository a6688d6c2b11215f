/**
 * Where things go on a host. Every path is under the host root: `/` on a real host, a temp
 * directory when the scripts run in a test.
 *
 * @module
 */
import { posix } from 'node:path';

/** The init systems the host scripts know. */
export const INIT_SYSTEMS = ['systemd', 'none'] as const;

/**
 * `systemd`: a unit file, `systemctl enable` and `restart`. `none`: the process is started in
 * the background with `setsid nohup` and a pid file (containers, tests).
 */
export type InitSystem = (typeof INIT_SYSTEMS)[number];

/** `path` (absolute, as on a real host) under `root`. */
export function underRoot(root: string, path: string): string {
  return posix.join(root, path);
}

/** Where the Node.js this package may install lives (shared by the components on a host). */
export function nodeHome(root: string): string {
  return underRoot(root, '/opt/push-jobs-node');
}

/** The server's files on its host. */
export interface ServerLayout {
  readonly root: string;
  readonly nodeHome: string;
  /** npm install prefix of `@push-jobs/server`. */
  readonly prefix: string;
  /** Where copied package tarballs wait for `npm install`. */
  readonly cacheDir: string;
  /** The server's JSON config file. */
  readonly configFile: string;
  /** Where TLS files go (`server.crt`, `server.key`). */
  readonly tlsDir: string;
  /** The server's data directory (database, keys). */
  readonly dataDir: string;
  /** Log file (init system `none`). */
  readonly logFile: string;
  /** Pid file (init system `none`). */
  readonly pidFile: string;
  /** systemd unit file. */
  readonly unitFile: string;
  /** The `push-jobs-server` launcher. */
  readonly serverBin: string;
}

/** The server's layout under `root`, for a service named `serviceName`. */
export function serverLayout(root: string, serviceName: string): ServerLayout {
  const prefix = underRoot(root, '/opt/push-jobs-server');
  return {
    root,
    nodeHome: nodeHome(root),
    prefix,
    cacheDir: underRoot(root, '/var/cache/push-jobs-server'),
    configFile: underRoot(root, '/etc/push-jobs/server.json'),
    tlsDir: underRoot(root, '/etc/push-jobs/tls'),
    dataDir: underRoot(root, '/var/lib/push-jobs'),
    logFile: underRoot(root, `/var/log/push-jobs/${serviceName}.log`),
    pidFile: underRoot(root, `/run/push-jobs/${serviceName}.pid`),
    unitFile: underRoot(root, `/etc/systemd/system/${serviceName}.service`),
    serverBin: posix.join(prefix, 'node_modules/@push-jobs/server/bin/push-jobs-server.js'),
  };
}

/** The agent's files on its host that the component itself manages. */
export interface AgentLayout {
  readonly root: string;
  readonly nodeHome: string;
  /** npm prefix of `@push-jobs/cookbook` (the converge tool; it installs the agent itself). */
  readonly toolsPrefix: string;
  /** Where copied package tarballs wait. */
  readonly cacheDir: string;
  /** The attributes file given to the cookbook (`chef-solo -j` shape). */
  readonly attributesFile: string;
  /** The cookbook's launcher. */
  readonly cookbookBin: string;
  /** Where pid files go (init system `none`). */
  readonly runDir: string;
}

/** The agent's layout under `root`. */
export function agentLayout(root: string): AgentLayout {
  const toolsPrefix = underRoot(root, '/opt/push-jobs-cookbook');
  return {
    root,
    nodeHome: nodeHome(root),
    toolsPrefix,
    cacheDir: underRoot(root, '/var/cache/push-jobs-client'),
    attributesFile: underRoot(root, '/etc/chef/push-jobs-attributes.json'),
    cookbookBin: posix.join(toolsPrefix, 'node_modules/@push-jobs/cookbook/bin/push-jobs-cookbook.js'),
    runDir: underRoot(root, '/run/push-jobs'),
  };
}
