/**
 * Service managers: how the service recipe enables, starts, reloads and restarts the agent.
 * One per init system for real hosts (`systemctl`, `service` + `update-rc.d`/`chkconfig`,
 * `sv`), and a recording one for converges under a root directory, which only writes what it
 * would do to `ROOT/var/lib/push-jobs-cookbook/service-actions.log` and never touches the
 * machine's init system.
 *
 * @module
 */
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { appendFile, mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PLATFORM_PROFILES, STATE_DIR } from '../attributes/defaults.js';
import type { InitSystem, PlatformFamily } from '../attributes/types.js';
import { CookbookError } from '../errors.js';
import { type CommandRunner, execCommand, formatCommand, lastLines } from './command.js';

/** Whether a service is enabled (starts at boot) and running. */
export interface ServiceStatus {
  /** Starts at boot. */
  enabled: boolean;
  /** Running now. */
  running: boolean;
}

/** The service operations the recipes need. */
export interface ServiceManager {
  /** What it manages (`systemd`, `sysvinit`, `runit`) or `recording`. */
  readonly kind: InitSystem | 'recording';
  /** The service's current state. */
  status(service: string): Promise<ServiceStatus>;
  /** Enables the service at boot. */
  enable(service: string): Promise<void>;
  /** Starts the service. */
  start(service: string): Promise<void>;
  /** Sends the agent SIGHUP: it reloads its allow-list without a restart. */
  reload(service: string): Promise<void>;
  /** Restarts the service. */
  restart(service: string): Promise<void>;
  /** Makes the init system re-read service definitions (systemd's `daemon-reload`; else a no-op). */
  daemonReload(): Promise<void>;
}

/** The service action log under a converge root. */
export const SERVICE_ACTIONS_LOG = `${STATE_DIR}/service-actions.log`;
/** The recorded service state under a converge root. */
export const SERVICE_STATE_FILE = `${STATE_DIR}/service-state.json`;

function linkExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

abstract class CommandServiceManager implements ServiceManager {
  abstract readonly kind: InitSystem;
  constructor(protected readonly run: CommandRunner = execCommand) {}

  /** Runs a command; a non-zero exit is an error naming the command. */
  protected async must(command: string, args: readonly string[]): Promise<void> {
    const result = await this.run(command, args);
    if (result.code !== 0) {
      const output = lastLines(`${result.stdout}\n${result.stderr}`);
      throw new CookbookError(
        `${formatCommand(command, args)} failed (exit ${result.code})${output === '' ? '' : `: ${output}`}`,
      );
    }
  }

  /** Runs a command; true when it exits 0. */
  protected async ok(command: string, args: readonly string[]): Promise<boolean> {
    return (await this.run(command, args)).code === 0;
  }

  abstract status(service: string): Promise<ServiceStatus>;
  abstract enable(service: string): Promise<void>;
  abstract start(service: string): Promise<void>;
  abstract reload(service: string): Promise<void>;
  abstract restart(service: string): Promise<void>;
  async daemonReload(): Promise<void> {}
}

/** systemd through `systemctl`. */
export class SystemdServiceManager extends CommandServiceManager {
  readonly kind = 'systemd';
  async status(service: string): Promise<ServiceStatus> {
    const unit = `${service}.service`;
    return {
      enabled: await this.ok('systemctl', ['is-enabled', '--quiet', unit]),
      running: await this.ok('systemctl', ['is-active', '--quiet', unit]),
    };
  }
  enable(service: string): Promise<void> {
    return this.must('systemctl', ['enable', `${service}.service`]);
  }
  start(service: string): Promise<void> {
    return this.must('systemctl', ['start', `${service}.service`]);
  }
  reload(service: string): Promise<void> {
    return this.must('systemctl', ['reload', `${service}.service`]);
  }
  restart(service: string): Promise<void> {
    return this.must('systemctl', ['restart', `${service}.service`]);
  }
  override daemonReload(): Promise<void> {
    return this.must('systemctl', ['daemon-reload']);
  }
}

/** sysvinit through `service`, enabled with `update-rc.d` (debian) or `chkconfig` (the others). */
export class SysvinitServiceManager extends CommandServiceManager {
  readonly kind = 'sysvinit';
  constructor(
    private readonly family: PlatformFamily,
    run: CommandRunner = execCommand,
    private readonly etc = '/etc',
  ) {
    super(run);
  }
  async status(service: string): Promise<ServiceStatus> {
    let enabled: boolean;
    if (PLATFORM_PROFILES[this.family].sysvEnable === 'update-rc.d') {
      const rc2 = join(this.etc, 'rc2.d');
      enabled = existsSync(rc2) && readdirSync(rc2).some((f) => /^S\d\d/u.test(f) && f.slice(3) === service);
    } else {
      const list = await this.run('chkconfig', ['--list', service]);
      enabled = list.code === 0 && /\b3:on\b/u.test(list.stdout);
    }
    return { enabled, running: await this.ok('service', [service, 'status']) };
  }
  async enable(service: string): Promise<void> {
    if (PLATFORM_PROFILES[this.family].sysvEnable === 'update-rc.d') {
      await this.must('update-rc.d', [service, 'defaults']);
    } else {
      await this.must('chkconfig', ['--add', service]);
      await this.must('chkconfig', [service, 'on']);
    }
  }
  start(service: string): Promise<void> {
    return this.must('service', [service, 'start']);
  }
  reload(service: string): Promise<void> {
    return this.must('service', [service, 'reload']);
  }
  restart(service: string): Promise<void> {
    return this.must('service', [service, 'restart']);
  }
}

/** runit: enabled by linking `/etc/service/NAME` to `/etc/sv/NAME`; `sv` for the rest. */
export class RunitServiceManager extends CommandServiceManager {
  readonly kind = 'runit';
  constructor(
    run: CommandRunner = execCommand,
    private readonly etc = '/etc',
  ) {
    super(run);
  }
  async status(service: string): Promise<ServiceStatus> {
    const enabled = linkExists(join(this.etc, 'service', service));
    const st = enabled ? await this.run('sv', ['status', service]) : undefined;
    return { enabled, running: st !== undefined && st.code === 0 && st.stdout.startsWith('run:') };
  }
  async enable(service: string): Promise<void> {
    await mkdir(join(this.etc, 'service'), { recursive: true });
    if (linkExists(join(this.etc, 'service', service))) return;
    await symlink(join(this.etc, 'sv', service), join(this.etc, 'service', service));
  }
  start(service: string): Promise<void> {
    return this.must('sv', ['up', service]);
  }
  reload(service: string): Promise<void> {
    return this.must('sv', ['hup', service]);
  }
  restart(service: string): Promise<void> {
    return this.must('sv', ['restart', service]);
  }
}

/**
 * For converges under a root: records `INIT ACTION SERVICE` lines in
 * `ROOT/var/lib/push-jobs-cookbook/service-actions.log` and keeps the would-be state in
 * `service-state.json`, so a second converge sees the service enabled and running.
 */
export class RecordingServiceManager implements ServiceManager {
  readonly kind = 'recording';
  constructor(
    /** The converge root. */
    readonly root: string,
    /** The init system whose actions are recorded. */
    readonly initSystem: InitSystem,
  ) {}

  /** The action log on the host. */
  get logPath(): string {
    return join(this.root, SERVICE_ACTIONS_LOG);
  }

  private get statePath(): string {
    return join(this.root, SERVICE_STATE_FILE);
  }

  private async readState(): Promise<Record<string, ServiceStatus>> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.statePath, 'utf8'));
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, ServiceStatus>) : {};
    } catch {
      return {};
    }
  }

  private async record(
    action: string,
    service: string | undefined,
    change?: Partial<ServiceStatus>,
  ): Promise<void> {
    await mkdir(join(this.root, STATE_DIR), { recursive: true, mode: 0o755 });
    await appendFile(
      this.logPath,
      `${[this.initSystem, action, service].filter((x) => x !== undefined).join(' ')}\n`,
    );
    if (service === undefined || change === undefined) return;
    const state = await this.readState();
    state[service] = { ...(state[service] ?? { enabled: false, running: false }), ...change };
    const tmp = `${this.statePath}.tmp`;
    await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
    await rename(tmp, this.statePath);
  }

  async status(service: string): Promise<ServiceStatus> {
    return (await this.readState())[service] ?? { enabled: false, running: false };
  }
  enable(service: string): Promise<void> {
    return this.record('enable', service, { enabled: true });
  }
  start(service: string): Promise<void> {
    return this.record('start', service, { running: true });
  }
  reload(service: string): Promise<void> {
    return this.record('reload', service, {});
  }
  restart(service: string): Promise<void> {
    return this.record('restart', service, { running: true });
  }
  daemonReload(): Promise<void> {
    return this.initSystem === 'systemd' ? this.record('daemon-reload', undefined) : Promise.resolve();
  }
}

/** The real manager for an init system. */
export function serviceManagerFor(
  initSystem: InitSystem,
  family: PlatformFamily,
  run: CommandRunner = execCommand,
): ServiceManager {
  const managers: Record<InitSystem, () => ServiceManager> = {
    systemd: () => new SystemdServiceManager(run),
    sysvinit: () => new SysvinitServiceManager(family, run),
    runit: () => new RunitServiceManager(run),
  };
  return managers[initSystem]();
}
