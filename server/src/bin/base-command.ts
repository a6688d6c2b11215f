/**
 * The base class of every `push-jobs-server` command: `--json` for commands that print results
 * (the bare result document, as before), `--debug`, and command-line mistakes reported as the
 * protocol's {@link UsageError} worded as they always were (`unknown option --frob (did you
 * mean --from?)`, `missing NAME`). Errors are printed by `main`, not here.
 *
 * @module
 */
import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { UsageError } from '@push-jobs/protocol/internal';
import { suggestName } from '../config/load.js';

/** The parsed flags of a command: its own and the base flags. */
export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof ServerCommand)['baseFlags'] & T['flags']
>;
/** The parsed arguments of a command. */
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

/** What oclif's parse errors carry (their classes are not exported; they are told by message). */
interface ParseErrorFields {
  flags?: unknown;
  args?: unknown;
}

function names(list: unknown): string[] {
  return Array.isArray(list)
    ? list.map((item) =>
        typeof item === 'object' && item !== null ? String((item as { name?: unknown }).name) : String(item),
      )
    : [];
}

/** Rewords an oclif parse error as a {@link UsageError} of `command`; other errors pass. */
export function toUsageError(err: unknown, command: string, flagNames: readonly string[]): unknown {
  if (!(err instanceof Errors.CLIError)) return err;
  const usage = (message: string): UsageError => new UsageError(message, { command, cause: err });
  const fields = err as ParseErrorFields;
  const text = err.message.replace(/\nSee more help with --help$/, '');
  if (text.startsWith('Nonexistent flag')) {
    const option = names(fields.flags)[0] ?? '';
    const bare = option.replace(/^-+/, '').split('=')[0] ?? '';
    const found = suggestName(bare, flagNames);
    // Prefer the kebab-case spelling of a setting that has both.
    const kebab = found?.replace(/_/g, '-');
    const suggestion = kebab !== undefined && flagNames.includes(kebab) ? kebab : found;
    return usage(
      `unknown option ${option}${suggestion === undefined ? '' : ` (did you mean --${suggestion}?)`}`,
    );
  }
  if (text.startsWith('Missing') && fields.args !== undefined)
    return usage(`missing ${names(fields.args).join(' ')}`);
  if (text.startsWith('Unexpected argument')) {
    return usage(`unexpected argument ${JSON.stringify(names(fields.args).join(' '))}`);
  }
  const needsValue = /^Flag (--\S+) expects a value$/.exec(text);
  if (needsValue !== null) return usage(`option ${needsValue[1]} needs a value`);
  const twice = /^Flag (--\S+) can only be specified once$/.exec(text);
  if (twice !== null) return usage(`option ${twice[1]} given more than once`);
  return usage(text.replace(/\s*\n\s*/g, ' '));
}

/** What helpers shared by several commands may use of the command running them. */
export interface CommandOutput {
  /** The command words, as users type them: `org create`. */
  readonly words: string;
  /** A usage error of this command (exit 2, with a hint to its `--help`). */
  usage(message: string): UsageError;
  /** Prints the human `lines` unless `--json` is given (then `run`'s result is printed). */
  print(lines: string | readonly string[]): void;
}

/** The base command; see the module notes. */
export abstract class ServerCommand<T extends typeof Command> extends Command implements CommandOutput {
  static override baseFlags = {
    debug: Flags.boolean({ description: 'Print stack traces with errors.', helpGroup: 'GLOBAL' }),
  };

  protected flags!: CommandFlags<T>;
  protected args!: CommandArgs<T>;

  /** The command words, as users type them: `org create`. */
  get words(): string {
    return (this.id ?? '').replace(/:/g, ' ');
  }

  override async init(): Promise<void> {
    await super.init();
    const ctor = this.ctor as typeof ServerCommand;
    try {
      const { args, flags } = await this.parse({
        args: ctor.args,
        baseFlags: ctor.baseFlags,
        enableJsonFlag: ctor.enableJsonFlag,
        flags: ctor.flags,
        strict: ctor.strict,
      });
      this.flags = flags as CommandFlags<T>;
      this.args = args as CommandArgs<T>;
    } catch (err) {
      const names = Object.keys({ ...ctor.baseFlags, ...ctor.flags });
      if (ctor.enableJsonFlag) names.push('json');
      throw toUsageError(err, this.words, names);
    }
  }

  /** A usage error of this command (exit 2, with a hint to its `--help`). */
  usage(message: string): UsageError {
    return new UsageError(message, { command: this.words });
  }

  /** Prints the human `lines` unless `--json` is given (then `run`'s result is printed). */
  print(lines: string | readonly string[]): void {
    if (this.jsonEnabled()) return;
    const text = typeof lines === 'string' ? lines : lines.join('\n');
    if (text !== '') this.log(text);
  }

  /** Errors go to `main`, which prints them and picks the exit code. */
  protected override async catch(err: Error & { exitCode?: number }): Promise<never> {
    throw err;
  }
}
