/**
 * `service[NAME]`: enable and start actions, and the target of notifications (restart, reload,
 * daemon_reload).
 *
 * @module
 */
import type { RecipeName } from '../attributes/types.js';
import type { ConvergeContext, NotificationTarget } from './context.js';
import { type Notification, type Resource, type ResourceOutcome, UP_TO_DATE } from './resource.js';
import type { ServiceManager } from './service-manager.js';

/** Notification actions a service understands. */
export const SERVICE_NOTIFICATION_ACTIONS = ['restart', 'reload', 'daemon_reload'] as const;

/** The service as a notification target; shared by its `enable` and `start` resources. */
export class ServiceHandle implements NotificationTarget {
  /** `service[NAME]`. */
  readonly name: string;
  /** True once `start` started (or, in why-run, would have started) the service in this run. */
  startedThisRun = false;

  constructor(
    /** The service name. */
    readonly service: string,
    /** How to act on it. */
    readonly manager: ServiceManager,
  ) {
    this.name = `service[${service}]`;
  }

  skipReason(action: string): string | undefined {
    if ((action === 'restart' || action === 'reload') && this.startedThisRun) {
      return 'the service was started in this run and already uses the new configuration';
    }
    return undefined;
  }

  async run(action: string, ctx: ConvergeContext): Promise<ResourceOutcome> {
    switch (action) {
      case 'daemon_reload':
        if (!ctx.whyRun) await this.manager.daemonReload();
        return { updated: true, messages: ['reload the init system configuration (daemon-reload)'] };
      case 'restart':
        if (!ctx.whyRun) await this.manager.restart(this.service);
        return { updated: true, messages: [`restart ${this.name}`] };
      case 'reload': {
        const status = await this.manager.status(this.service);
        if (!status.running)
          return { updated: false, messages: [`${this.name} is not running: nothing to reload`] };
        if (!ctx.whyRun) await this.manager.reload(this.service);
        return {
          updated: true,
          messages: [`reload ${this.name} (SIGHUP: the agent re-reads its allow-list)`],
        };
      }
      default:
        throw new Error(`unknown service action '${action}'`);
    }
  }
}

/** `service[NAME] action enable|start`. */
export class ServiceResource implements Resource {
  readonly type = 'service';
  readonly name: string;
  readonly notifies: readonly Notification[] = [];

  constructor(
    readonly handle: ServiceHandle,
    readonly action: 'enable' | 'start',
    readonly recipe: RecipeName,
  ) {
    this.name = handle.name;
  }

  async converge(ctx: ConvergeContext): Promise<ResourceOutcome> {
    const { manager, service } = this.handle;
    const status = await manager.status(service);
    if (this.action === 'enable') {
      if (status.enabled) return UP_TO_DATE;
      if (!ctx.whyRun) await manager.enable(service);
      return { updated: true, messages: [`enable ${this.name}`] };
    }
    if (status.running) return UP_TO_DATE;
    if (!ctx.whyRun) await manager.start(service);
    this.handle.startedThisRun = true;
    return { updated: true, messages: [`start ${this.name}`] };
  }
}
