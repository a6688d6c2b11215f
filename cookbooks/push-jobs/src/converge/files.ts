/**
 * File-system resources: `directory`, `file`/`template` (content, owner, mode; atomic write;
 * backup of the replaced file) and the node's key file.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, type Stats } from 'node:fs';
import {
  chmod,
  chown,
  copyFile,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  unlink,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import type { RecipeName } from '../attributes/types.js';
import { CookbookError, errorMessage } from '../errors.js';
import type { ConvergeContext } from './context.js';
import { type Notification, type Resource, type ResourceOutcome, UP_TO_DATE } from './resource.js';

/** Owner and group (numeric ids) of managed files: root, as in the original cookbook. */
export const ROOT_UID = 0;
/** Group id of managed files. */
export const ROOT_GID = 0;

/** How many backups of one file are kept. */
export const BACKUPS_KEPT = 5;

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    // ENOTDIR: a parent is a file, so the path cannot exist (creating it reports the problem).
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

function sha(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 12);
}

/** Owner/mode differences of an existing path, as messages. */
function metadataChanges(ctx: ConvergeContext, st: Stats, mode: number): string[] {
  const changes: string[] = [];
  if ((st.mode & 0o7777) !== mode) changes.push(`change mode from '${octal(st.mode)}' to '${octal(mode)}'`);
  if (ctx.canChown && (st.uid !== ROOT_UID || st.gid !== ROOT_GID)) {
    changes.push(`change owner from '${st.uid}:${st.gid}' to 'root:root'`);
  }
  return changes;
}

async function applyMetadata(ctx: ConvergeContext, path: string, mode: number): Promise<void> {
  await chmod(path, mode);
  if (ctx.canChown) await chown(path, ROOT_UID, ROOT_GID);
}

function ownershipWarning(ctx: ConvergeContext): void {
  if (!ctx.canChown) ctx.warn('not running as root: file owners are not managed (modes are)');
}

function writeError(ctx: ConvergeContext, nodePath: string, err: unknown, what = 'write'): CookbookError {
  const code = (err as NodeJS.ErrnoException).code;
  const hint =
    code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? ' (check permissions, or converge under --root)'
      : code === 'ENOTDIR'
        ? ' (a parent is not a directory)'
        : '';
  return new CookbookError(`cannot ${what} ${ctx.describePath(nodePath)}: ${errorMessage(err)}${hint}`, {
    path: nodePath,
    cause: err,
  });
}

/** Options of a {@link DirectoryResource}. */
export interface DirectoryOptions {
  /** Permission bits. @default 0o755 */
  mode?: number;
}

/** `directory[PATH] action create`: creates the directory (and missing parents) and fixes its mode and owner. */
export class DirectoryResource implements Resource {
  readonly type = 'directory';
  readonly action = 'create';
  readonly notifies: readonly Notification[] = [];
  readonly name: string;
  readonly mode: number;

  constructor(
    readonly path: string,
    readonly recipe: RecipeName,
    options: DirectoryOptions = {},
  ) {
    this.name = `directory[${path}]`;
    this.mode = options.mode ?? 0o755;
  }

  async converge(ctx: ConvergeContext): Promise<ResourceOutcome> {
    ownershipWarning(ctx);
    const host = ctx.hostPath(this.path);
    let st: Stats | undefined;
    try {
      st = await statOrUndefined(host);
    } catch (err) {
      throw writeError(ctx, this.path, err, 'inspect');
    }
    if (st !== undefined && !st.isDirectory()) {
      throw new CookbookError(`${ctx.describePath(this.path)} exists and is not a directory`, {
        path: this.path,
      });
    }
    const messages =
      st === undefined ? [`create new directory ${this.path}`] : metadataChanges(ctx, st, this.mode);
    if (messages.length === 0) return UP_TO_DATE;
    if (st === undefined) messages.push(`change mode to '${octal(this.mode)}'`);
    if (ctx.whyRun) return { updated: true, messages };
    try {
      if (st === undefined) await mkdir(host, { recursive: true, mode: 0o755 });
      await applyMetadata(ctx, host, this.mode);
    } catch (err) {
      throw writeError(ctx, this.path, err, 'create directory');
    }
    return { updated: true, messages };
  }
}

/** Options of a {@link FileResource}. */
export interface FileOptions {
  /** Permission bits. @default 0o644 */
  mode?: number;
  /** Never show the content (keys, passwords): the diff says it is suppressed. @default false */
  sensitive?: boolean;
  /** `file` or `template` (the resource type shown). @default 'template' */
  type?: 'file' | 'template';
  /** Notifications when the file changes. */
  notifies?: readonly Notification[];
  /**
   * Chooses the notifications from the old and new content (for example a reload when only the
   * whitelist changed). Overrides `notifies` when given.
   */
  notificationsFor?: (oldContent: string | undefined, newContent: string) => Notification[];
}

/** Content of a file resource: text, bytes, or a function producing them at converge time. */
export type FileContent = string | Buffer | (() => Promise<Buffer | string>);

/**
 * `template[PATH]` / `file[PATH]` action `create`: writes the content when it differs
 * (atomically: a temporary file in the same directory, then a rename, after backing up the old
 * file), and fixes mode and owner.
 */
export class FileResource implements Resource {
  readonly type: 'file' | 'template';
  readonly action = 'create';
  readonly name: string;
  readonly notifies: readonly Notification[];
  readonly mode: number;
  readonly sensitive: boolean;

  constructor(
    readonly path: string,
    readonly content: FileContent,
    readonly recipe: RecipeName,
    readonly options: FileOptions = {},
  ) {
    this.type = options.type ?? 'template';
    this.name = `${this.type}[${path}]`;
    this.notifies = options.notifies ?? [];
    this.mode = options.mode ?? 0o644;
    this.sensitive = options.sensitive ?? false;
  }

  async converge(ctx: ConvergeContext): Promise<ResourceOutcome> {
    ownershipWarning(ctx);
    const desired = await this.desired();
    const host = ctx.hostPath(this.path);
    let st: Stats | undefined;
    let current: Buffer | undefined;
    try {
      st = await statOrUndefined(host);
      if (st?.isDirectory()) {
        throw new CookbookError(`${ctx.describePath(this.path)} is a directory, not a file`, {
          path: this.path,
        });
      }
      if (st?.isFile()) current = await readFile(host);
    } catch (err) {
      if (err instanceof CookbookError) throw err;
      throw writeError(ctx, this.path, err, 'read');
    }
    const contentChanged = current === undefined || !current.equals(desired);
    const meta = st?.isFile() === true ? metadataChanges(ctx, st, this.mode) : [];
    if (!contentChanged && meta.length === 0) return UP_TO_DATE;
    const messages: string[] = [];
    if (current === undefined) {
      messages.push(`create new file ${this.path}`, `change mode to '${octal(this.mode)}'`);
    } else if (contentChanged) {
      messages.push(
        this.sensitive
          ? `update content in file ${this.path} (sensitive content suppressed)`
          : `update content in file ${this.path} from ${sha(current)} to ${sha(desired)}`,
        ...meta,
      );
    } else {
      messages.push(...meta);
    }

    const diff = contentChanged ? this.diff(current, desired) : messages.join('\n');
    // Only a content change concerns the service; a fixed mode or owner does not.
    const notifications = contentChanged
      ? this.options.notificationsFor?.(current?.toString('utf8'), desired.toString('utf8'))
      : [];
    const outcome: ResourceOutcome = {
      updated: true,
      diff,
      messages,
      ...(notifications === undefined ? {} : { notifications }),
    };
    if (ctx.whyRun) return outcome;

    if (contentChanged) {
      if (current !== undefined && st !== undefined) await this.backup(ctx, host, st);
      await this.atomicWrite(ctx, host, desired);
    } else {
      try {
        await applyMetadata(ctx, host, this.mode);
      } catch (err) {
        throw writeError(ctx, this.path, err, 'change mode or owner of');
      }
    }
    return outcome;
  }

  private async desired(): Promise<Buffer> {
    const content = typeof this.content === 'function' ? await this.content() : this.content;
    return Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
  }

  private diff(current: Buffer | undefined, desired: Buffer): string {
    if (this.sensitive) return `(sensitive content of ${this.path} suppressed)`;
    return createTwoFilesPatch(
      current === undefined ? '/dev/null' : this.path,
      this.path,
      current?.toString('utf8') ?? '',
      desired.toString('utf8'),
      undefined,
      undefined,
      { context: 3 },
    ).replace(/^=+\n/u, '');
  }

  /** Copies the old file to `STATE_DIR/backup/PATH.TIMESTAMP` and keeps the newest few. */
  private async backup(ctx: ConvergeContext, host: string, st: Stats): Promise<void> {
    const dir = join(ctx.stateDir, 'backup', dirname(this.path));
    const stamp = new Date().toISOString().replace(/[-:]/gu, '').replace('T', '').replace('Z', '');
    const target = join(dir, `${basename(this.path)}.${stamp}`);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await copyFile(host, target, fsConstants.COPYFILE_EXCL);
      await chmod(target, st.mode & 0o7777 & ~0o022);
      const prefix = `${basename(this.path)}.`;
      const old = (await readdir(dir))
        .filter((f) => f.startsWith(prefix) && /^\d{14}\.\d{3}$/u.test(f.slice(prefix.length)))
        .sort();
      for (const f of old.slice(0, Math.max(0, old.length - BACKUPS_KEPT)))
        await rm(join(dir, f), { force: true });
    } catch (err) {
      throw writeError(ctx, join('/var/lib/push-jobs-cookbook/backup', this.path), err, 'back up to');
    }
  }

  private async atomicWrite(ctx: ConvergeContext, host: string, data: Buffer): Promise<void> {
    const tmp = join(
      dirname(host),
      `.${basename(host)}.push-jobs-cookbook-${randomBytes(6).toString('hex')}`,
    );
    let created = false;
    try {
      const handle = await open(tmp, 'wx', 0o600);
      created = true;
      try {
        await handle.writeFile(data);
        await handle.chmod(this.mode);
        if (ctx.canChown) await handle.chown(ROOT_UID, ROOT_GID);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, host);
      created = false;
    } catch (err) {
      if (created) await unlink(tmp).catch(() => undefined);
      throw writeError(ctx, this.path, err);
    }
  }
}

/**
 * `file[KEY PATH]`: the node's private key, mode 0600. With a source file its content is
 * installed (never shown); without one an existing key only gets its mode and owner fixed, and
 * a missing key is a warning (the agent cannot start until it exists).
 */
export class KeyFileResource implements Resource {
  readonly type = 'file';
  readonly action = 'create';
  readonly notifies: readonly Notification[];
  readonly name: string;
  private readonly file: FileResource | undefined;

  constructor(
    readonly path: string,
    readonly source: string | null,
    readonly recipe: RecipeName,
    notifies: readonly Notification[] = [],
  ) {
    this.name = `file[${path}]`;
    this.notifies = notifies;
    this.file =
      source === null
        ? undefined
        : new FileResource(path, () => readKeySource(source), recipe, {
            type: 'file',
            mode: 0o600,
            sensitive: true,
            notifies,
          });
  }

  async converge(ctx: ConvergeContext): Promise<ResourceOutcome> {
    if (this.file !== undefined) return this.file.converge(ctx);
    const host = ctx.hostPath(this.path);
    const st = await statOrUndefined(host).catch((err: unknown) => {
      throw writeError(ctx, this.path, err, 'inspect');
    });
    if (st === undefined) {
      ctx.warn(
        `key file ${ctx.describePath(this.path)} does not exist: the agent cannot start until it does ` +
          '(set push_jobs.chef.client_key_source to install one)',
      );
      return UP_TO_DATE;
    }
    if (!st.isFile())
      throw new CookbookError(`${ctx.describePath(this.path)} is not a regular file`, { path: this.path });
    const messages = metadataChanges(ctx, st, 0o600);
    if (messages.length === 0) return UP_TO_DATE;
    if (!ctx.whyRun) {
      try {
        await applyMetadata(ctx, host, 0o600);
      } catch (err) {
        throw writeError(ctx, this.path, err, 'change mode or owner of');
      }
    }
    return { updated: true, diff: messages.join('\n'), messages, notifications: [] };
  }
}

async function readKeySource(source: string): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(source);
  } catch (err) {
    throw new CookbookError(`push_jobs.chef.client_key_source: cannot read ${source}: ${errorMessage(err)}`, {
      attribute: 'push_jobs.chef.client_key_source',
      path: source,
      cause: err,
    });
  }
  if (!data.toString('utf8').includes('PRIVATE KEY-----')) {
    throw new CookbookError(`push_jobs.chef.client_key_source: ${source} is not a PEM private key`, {
      attribute: 'push_jobs.chef.client_key_source',
      path: source,
    });
  }
  return data;
}
