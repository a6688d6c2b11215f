/**
 * `push-jobs-server instance list`: the instances of a cluster (several servers on one
 * PostgreSQL), with their state, node and job counts and leases.
 *
 * @module
 */
import { Flags } from '@oclif/core';
import { ClusterDb, listInstances, type InstanceInfo } from '../../../cluster/index.js';
import { isPostgresUrl, UsageError } from '@push-jobs/protocol/internal';
import { resolveDatabaseUrl } from '../../../config/load.js';
import { ServerCommand } from '../../base-command.js';
import { loadConfig } from '../../context.js';
import { storeFlags } from '../../flags.js';

/** Seconds, said the short way: `12s`, `4m05s`, `2h03m`. */
export function shortDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The lease column: `12s left`, or `expired 3s ago`. */
function leaseText(i: InstanceInfo, now: number): string {
  const left = (i.leaseUntil.getTime() - now) / 1000;
  return left >= 0 ? `${shortDuration(left)} left` : `expired ${shortDuration(-left)} ago`;
}

/** Rows padded into columns. */
function columns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '),
  );
}

/** `instance list`. */
export default class InstanceList extends ServerCommand<typeof InstanceList> {
  static override summary = 'List the instances of a cluster, with their nodes, jobs and leases.';
  static override description =
    'Cluster mode (several servers sharing one PostgreSQL database_url): one line per instance with ' +
    'its state (active, draining, expired: being cleared by another instance, gone), the nodes it ' +
    'holds, the jobs it runs, its lease, its host and process, its API port and ZeroMQ command ' +
    "address. Counts are as of each instance's last lease renewal (every third of " +
    'cluster_lease_seconds). Gone instances are listed with --all (those of the last hour).';
  static override examples = [
    '<%= config.bin %> <%= command.id %> --database-url postgres://push@db/push',
    '<%= config.bin %> <%= command.id %> --all --json',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    ...storeFlags,
    all: Flags.boolean({ description: 'Also list instances gone in the last hour.', default: false }),
  };

  async run(): Promise<InstanceInfo[]> {
    const config = loadConfig(this.flags, this.words);
    const url = resolveDatabaseUrl(config);
    if (!isPostgresUrl(url)) {
      throw new UsageError(
        'instances exist only in cluster mode, on a PostgreSQL database_url; this one is SQLite ' +
          `(${url}). Pass --database-url postgres://... or set it in the config file.`,
      );
    }
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema') ?? undefined;
    parsed.searchParams.delete('schema');
    const db = new ClusterDb({
      connectionString: parsed.toString(),
      ...(schema === undefined ? {} : { schema }),
      max: 1,
    });
    let instances: InstanceInfo[];
    try {
      instances = (await listInstances(db)).filter((i) => this.flags.all || i.state !== 'gone');
    } finally {
      await db.close();
    }
    const now = Date.now();
    if (instances.length === 0) {
      this.print('No instances (no server has run in cluster mode on this database).');
      return instances;
    }
    this.print(
      columns([
        ['NAME', 'STATE', 'NODES', 'JOBS', 'LEASE', 'HOST', 'PID', 'API', 'COMMAND', 'STARTED'],
        ...instances.map((i) => [
          i.name,
          i.state,
          String(i.nodeCount),
          String(i.jobCount),
          leaseText(i, now),
          i.host,
          String(i.pid),
          String(i.apiPort),
          i.commandEndpoint,
          i.startedAt.toISOString(),
        ]),
      ]),
    );
    return instances;
  }
}
