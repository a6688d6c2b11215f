/**
 * What every resource sees during a converge: the root it converges under, why-run, logging,
 * the command runner and the notification targets.
 *
 * @module
 */
import { join, resolve } from 'node:path';
import { STATE_DIR } from '../attributes/defaults.js';
import type { InitSystem, PlatformFamily, RecipeName } from '../attributes/types.js';
import type { CommandRunner } from './command.js';
import type { ResourceOutcome } from './outcome.js';

/** Something a notification can run an action on (a service). */
export interface NotificationTarget {
  /** Runs `action` (e.g. `restart`, `reload`, `daemon_reload`). */
  run(action: string, ctx: ConvergeContext): Promise<ResourceOutcome>;
  /** A reason to skip `action`, or undefined to run it (e.g. the service was started in this run). */
  skipReason?(action: string): string | undefined;
}

/** The converge context. */
export class ConvergeContext {
  /** Absolute converge root; `/` for the real machine. */
  readonly root: string;
  /** Warnings collected for the report. */
  readonly warnings: string[] = [];
  /** Notification targets by resource name (`service[NAME]`). */
  readonly targets = new Map<string, NotificationTarget>();
  /** The recipe whose resources are being declared or run. */
  recipe: RecipeName = 'install';

  constructor(
    root: string | undefined,
    /** True for why-run: resources report what they would do and change nothing. */
    readonly whyRun: boolean,
    /** Progress lines. */
    readonly log: (line: string) => void,
    /** Runs external commands. */
    readonly run: CommandRunner,
    /** The platform family. */
    readonly platformFamily: PlatformFamily,
    /** The init system. */
    readonly initSystem: InitSystem,
    /** Whether file owners can be set (running as root). */
    readonly canChown: boolean = process.getuid?.() === 0,
  ) {
    this.root = root === undefined ? '/' : resolve(root);
  }

  /** True when converging under a directory rather than the real machine. */
  get underRoot(): boolean {
    return this.root !== '/';
  }

  /** The real location of a node path (`/etc/chef` → `ROOT/etc/chef`). */
  hostPath(nodePath: string): string {
    return this.underRoot ? join(this.root, nodePath) : nodePath;
  }

  /** `PATH` or `PATH (under ROOT)`, for messages. */
  describePath(nodePath: string): string {
    return this.underRoot ? `${nodePath} (under ${this.root})` : nodePath;
  }

  /** The cookbook's state directory, on the host. */
  get stateDir(): string {
    return this.hostPath(STATE_DIR);
  }

  /** Records a warning (reported, and logged). */
  warn(message: string): void {
    if (!this.warnings.includes(message)) {
      this.warnings.push(message);
      this.log(`WARN: ${message}`);
    }
  }
}
