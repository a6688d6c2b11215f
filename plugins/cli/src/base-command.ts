/**
 * The base class of every `push ...` command: the connection flags, `--json` with one stable
 * envelope, the signed API client, and one error policy (a line on stderr or a JSON error
 * envelope, an exit code per class of failure, a stack trace only with `--debug`).
 *
 * @module
 */
import { Command, Errors, ux, type Interfaces } from '@oclif/core';
import type { PushApiClient } from '@push-jobs/protocol';
import { createClient, resolveConnection, type ResolvedConnection } from './config/connection.js';
import { toCliError, type ApiErrorContext, type CliError } from './errors.js';
import { connectionFlags } from './flags.js';
import { Reconnector } from './jobs/reconnect.js';

/** The parsed flags of a command: its own and the base flags. */
export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>;
/** The parsed arguments of a command. */
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

/** `--json` output of a command that succeeded. */
export interface SuccessEnvelope<T> {
  ok: true;
  data: T;
}

/** `--json` output of a command that failed; `data` only when there is a partial result. */
export interface ErrorEnvelope {
  ok: false;
  data?: unknown;
  error: { code: string; message: string; exitCode: number };
}

/** The `--json` error envelope of a failure. */
export function errorEnvelope(failure: CliError): ErrorEnvelope {
  return {
    ok: false,
    ...(failure.data === undefined ? {} : { data: failure.data }),
    error: { code: failure.code, message: failure.message, exitCode: failure.exitCode },
  };
}

function stackOf(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && depth < 5; depth++) {
    parts.push(e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e));
    e = e instanceof Error ? e.cause : undefined;
    if (e !== undefined) parts.push('Caused by:');
  }
  return parts.join('\n');
}

/** The values of a `multiple: true` argument (oclif types them as one string). */
export function argValues(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return value === undefined ? [] : [String(value)];
}

/** The base command; see the module notes. */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override baseFlags = connectionFlags;
  static override enableJsonFlag = true;

  protected flags!: CommandFlags<T>;
  protected args!: CommandArgs<T>;
  /** Describes what the command works on, to word a 404. */
  protected errorContext: ApiErrorContext = {};
  /**
   * `--json` as JSON lines (live output): the final envelope is printed on one line, after the
   * lines the command printed while it ran.
   */
  protected jsonLines = false;

  #connection?: ResolvedConnection;
  #client?: PushApiClient;

  override async init(): Promise<void> {
    await super.init();
    const ctor = this.ctor as typeof BaseCommand;
    const { args, flags } = await this.parse({
      args: ctor.args,
      baseFlags: ctor.baseFlags,
      enableJsonFlag: ctor.enableJsonFlag,
      flags: ctor.flags,
      strict: ctor.strict,
    });
    this.flags = flags as CommandFlags<T>;
    this.args = args as CommandArgs<T>;
  }

  /** The resolved connection settings (read once). */
  protected connection(): ResolvedConnection {
    if (this.#connection === undefined) {
      this.#connection = resolveConnection(this.flags);
      if (this.debugEnabled()) {
        const c = this.#connection;
        this.logToStderr(
          `debug: ${c.orgUrl} as ${c.user} (key ${c.keySource}, signing ${c.signVersion}` +
            `${c.insecure ? ', TLS not verified' : ''}${c.caFile === undefined ? '' : `, CA ${c.caFile}`})`,
        );
        for (const [setting, source] of Object.entries(c.origins))
          this.logToStderr(`debug: ${setting} from ${source}`);
      }
    }
    return this.#connection;
  }

  /** The API client (built once, closed when the command ends). */
  protected client(): PushApiClient {
    this.#client ??= createClient(this.connection(), this.config.userAgent);
    return this.#client;
  }

  /** `BIN push jobs status` as this CLI spells it (the host CLI's bin and topic separator). */
  protected commandLine(...words: string[]): string {
    return `${this.config.bin} ${words.join(this.config.topicSeparator ?? ':')}`;
  }

  /**
   * The retry policy of a wait: the reconnect timeout from `--reconnect-timeout` (or its
   * environment variable or config file key), notices on stderr (also under `--json`, whose
   * document stays alone on stdout) through `aside` when given (the live progress line), and
   * for a job the command that checks it later.
   */
  protected reconnector(
    activity: string,
    jobId: string | undefined,
    signal: AbortSignal,
    aside: (print: () => void) => void = (print) => print(),
  ): Reconnector {
    return new Reconnector({
      timeoutMs: this.connection().reconnectTimeoutMs,
      activity,
      ...(jobId === undefined
        ? {}
        : {
            hint: `the job may still be running; check it later with: ${this.commandLine('push', 'jobs', 'status', jobId)}`,
          }),
      notify: (line) => aside(() => process.stderr.write(`${line}\n`)),
      signal,
    });
  }

  /** Whether output goes to a terminal (live progress, table widths, colours). */
  protected isTty(): boolean {
    return process.stdout.isTTY === true;
  }

  /** The terminal width, or `undefined` when output is not a terminal. */
  protected terminalWidth(): number | undefined {
    return this.isTty() ? (process.stdout.columns ?? 80) : undefined;
  }

  /** Prints a warning line on stderr (not under `--json`). */
  protected warning(message: string): void {
    this.logToStderr(`${ux.colorize('yellow', 'Warning')}: ${message}`);
  }

  protected debugEnabled(): boolean {
    return (
      (this.flags as { debug?: boolean } | undefined)?.debug === true ||
      this.argv.includes('--debug') ||
      /^(1|true|yes|y)$/i.test(process.env.PUSH_JOBS_DEBUG ?? '')
    );
  }

  /** Turns an error into the CLI's words for it, with this command's context. */
  protected failure(err: unknown, ctx: ApiErrorContext = {}): CliError {
    return toCliError(err, {
      ...this.errorContext,
      ...(this.#connection === undefined
        ? {}
        : { user: this.#connection.user, server: this.#connection.orgUrl }),
      ...ctx,
    });
  }

  override logJson(json: unknown): void {
    if (this.jsonLines) process.stdout.write(`${JSON.stringify(json)}\n`);
    else super.logJson(json);
  }

  protected override toSuccessJson(result: unknown): SuccessEnvelope<unknown> {
    return { ok: true, data: result };
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<never> {
    if (err instanceof Errors.ExitError) throw err;
    const failure = this.failure(err);
    if (this.jsonEnabled()) {
      this.logJson(errorEnvelope(failure));
    } else {
      this.logToStderr(`${ux.colorize('red', 'Error')}: ${failure.message}`);
      if (this.debugEnabled()) this.logToStderr(stackOf(failure.cause ?? failure));
    }
    throw new Errors.ExitError(failure.exitCode);
  }

  protected override async finally(err: Error | undefined): Promise<void> {
    this.#client?.close();
    await super.finally(err);
  }
}
