/**
 * The agent's allow-list (the original's "whitelist", client spec A.11): maps the command name a
 * job asks for to the command line the agent actually runs. It is the last line of defence on a
 * node: the agent never runs anything the allow-list did not produce, and never runs the
 * requested name itself.
 *
 * @module
 */
import {
  DEFAULT_WHITELIST,
  ERROR_CODES,
  isPlainObject,
  parseWhitelistRegexKey,
  PushJobsError,
  type Whitelist,
} from '@push-jobs/protocol/lite';

/** A whitelist that failed validation. The message names the offending key. */
export class AllowListError extends PushJobsError {
  /** The offending whitelist key, when the problem is with one entry. */
  readonly key: string | undefined;

  constructor(message: string, key?: string) {
    super(ERROR_CODES.CONFIG, message);
    this.key = key;
  }
}

/**
 * The result of a successful {@link AllowList.match}.
 */
export interface AllowListMatch {
  /** The whitelist key that matched, exactly as written in the config (`/PATTERN/FLAGS` for a regex). */
  readonly key: string;
  /** Whether the key matched exactly (rule 1) or as a regular expression (rule 2). */
  readonly kind: 'exact' | 'regex';
  /** The command line to run: the entry's value, after substitution for a regex key. */
  readonly commandLine: string;
  /**
   * The entry's lock: `false` (no lock; also for string entries and `lock: false`), `true`
   * (lock the configured `lockfile`, else `<file_cache_path>/chef-client-running.pid`), or a
   * lock file path.
   */
  readonly lock: boolean | string;
}

interface CompiledEntry {
  readonly key: string;
  readonly commandLine: string;
  readonly lock: boolean | string;
}

interface CompiledRegexEntry extends CompiledEntry {
  /** Compiled with the `g` flag added; only used through `matchAll`, which copies it. */
  readonly regex: RegExp;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** Validates one entry's value and normalises it to a command line and lock. */
function compileValue(key: string, value: unknown): { commandLine: string; lock: boolean | string } {
  if (typeof value === 'string') return { commandLine: value, lock: false };
  if (!isPlainObject(value)) {
    throw new AllowListError(
      `whitelist entry '${key}': value must be a command line string or { command_line, lock? }, got ${describe(value)}`,
      key,
    );
  }
  for (const prop of Object.keys(value)) {
    if (prop !== 'command_line' && prop !== 'lock') {
      throw new AllowListError(
        `whitelist entry '${key}': unknown property '${prop}' (allowed: command_line, lock)`,
        key,
      );
    }
  }
  const commandLine = value['command_line'];
  if (typeof commandLine !== 'string') {
    throw new AllowListError(
      `whitelist entry '${key}': command_line must be a string, got ${describe(commandLine)}`,
      key,
    );
  }
  const lock = value['lock'];
  if (lock === undefined || typeof lock === 'boolean') return { commandLine, lock: lock ?? false };
  if (typeof lock === 'string' && lock.length > 0) return { commandLine, lock };
  throw new AllowListError(
    `whitelist entry '${key}': lock must be true, false or a non-empty lock file path, got ${
      typeof lock === 'string' ? 'an empty string' : describe(lock)
    }`,
    key,
  );
}

/**
 * Expands a Ruby `String#gsub` replacement string for one match. Supported escapes, as in Ruby:
 * `\0` and `\&` (whole match), `\1`…`\9` (numbered group; a group that did not take part is
 * empty), `\k<name>` (named group), `` \` `` (text before the match), `\'` (text after the
 * match), `\+` (the last group) and `\\` (one backslash). Any other backslash sequence, and a
 * trailing backslash, is kept literally. `$` has no special meaning (unlike JavaScript's
 * `String#replace`).
 */
function expandReplacement(template: string, match: RegExpExecArray, input: string): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i];
    if (ch !== '\\' || i + 1 >= template.length) {
      out += ch;
      continue;
    }
    const next = template[i + 1] ?? '';
    if (next >= '0' && next <= '9') {
      out += match[Number(next)] ?? '';
      i++;
    } else if (next === '&') {
      out += match[0];
      i++;
    } else if (next === '`') {
      out += input.slice(0, match.index);
      i++;
    } else if (next === "'") {
      out += input.slice(match.index + match[0].length);
      i++;
    } else if (next === '+') {
      out += match.length > 1 ? (match[match.length - 1] ?? '') : '';
      i++;
    } else if (next === '\\') {
      out += '\\';
      i++;
    } else if (next === 'k' && template[i + 2] === '<') {
      const close = template.indexOf('>', i + 3);
      const name = close === -1 ? undefined : template.slice(i + 3, close);
      if (name !== undefined && match.groups !== undefined && Object.hasOwn(match.groups, name)) {
        out += match.groups[name] ?? '';
        i = close;
      } else {
        out += ch;
      }
    } else {
      out += ch;
    }
  }
  return out;
}

/**
 * Ruby's `cmd.gsub(regex, replacement)`: every non-overlapping match of `regex` in `input` is
 * replaced by the expanded `template`; text between matches is kept.
 */
function globalSubstitute(input: string, regex: RegExp, template: string): string {
  let out = '';
  let last = 0;
  for (const match of input.matchAll(regex)) {
    out += input.slice(last, match.index) + expandReplacement(template, match, input);
    last = match.index + match[0].length;
  }
  return out + input.slice(last);
}

/**
 * The agent's allow-list, built from the `whitelist` config setting (client spec A.11).
 *
 * **Keys.** A key written `/PATTERN/FLAGS` (see `parseWhitelistRegexKey` in
 * `@push-jobs/protocol`) is a JavaScript regular expression; every other key is an exact name.
 * In the original, regex keys were Ruby `Regexp` objects that only a hand-written Ruby config
 * could produce; JSON has no such type, hence the `/…/` spelling.
 *
 * **Values.** A command line string, or `{ command_line, lock? }` where `lock` is `true`
 * (lock the configured lock file) or a lock file path. Unknown properties are rejected.
 *
 * **Lookup ({@link AllowList.match}), in order:**
 * 1. If the requested command is exactly (`===`, no trimming, no Unicode normalisation) one of
 *    the exact-name keys, that key's value is returned unchanged.
 * 2. Otherwise the regex keys are tried in the whitelist's insertion order. The first one that
 *    matches *anywhere* in the command wins, and the command line is the requested command with
 *    **every** match of the regex replaced by the value (Ruby `gsub`): the value may use `\1`…`\9`,
 *    `\0`/`\&`, `\k<name>` and the other Ruby back-references (see below). For an object value,
 *    `command_line` is substituted the same way and `lock` is kept.
 * 3. Nothing matches: `undefined`, meaning "not allowed".
 *
 * The command is only ever compared and pattern-matched as a string; it is never passed through
 * a shell or split into words here. Matching is pure: logging is left to the caller (the
 * original logged "[UNKNOWN] Job UNKNOWN: whitelist '<cmd>' to '<result>'" on every lookup).
 *
 * **Security risk of regex keys (kept as in the original, deliberately not "fixed"):** the
 * substitution keeps whatever the regex did not match, and inserts whatever the groups
 * captured, into a command line that the job runner may hand to `/bin/sh`. So:
 * - an *unanchored* key such as `/deliverance (.+)/` turns
 *   `x; rm -rf / #deliverance lunch` into `x; rm -rf / #deliverance eats at lunch`;
 * - a permissive capture such as `(.+)` passes `$(id)`, backticks, `;` or `|` straight into the
 *   command line even when the key is anchored.
 * Write regex keys anchored with `^…$` and with narrow captures (for example `^deploy ([a-z0-9-]+)$`).
 * Exact keys have no such risk: a command that differs from the key by even one character
 * (`chef-client; rm -rf /`, `chef-client\n…`) matches nothing.
 *
 * **Deliberate differences from the original:**
 * - Regexes use JavaScript syntax and semantics. In particular `^` and `$` anchor at the start
 *   and end of the whole string unless the `m` flag is given (in Ruby they always anchor at line
 *   boundaries, so `^chef-client$` matched the first line of `"chef-client\nrm -rf /"` and kept
 *   the second line). `.` does not match a newline unless the `s` flag is given (as in Ruby
 *   without `/m`).
 * - A key that looks like `/…/` is always a regex; there is no way to write an exact-name key of
 *   that form (the original compared exact keys with `==`, which a `Regexp` key never equals).
 * - The whitelist is validated when the allow-list is built: an empty key, an empty regex
 *   (`//`, which matches everywhere), a regex that does not compile, a value that is not a
 *   string or `{ command_line, lock? }`, a lock that is neither boolean nor a non-empty path, and
 *   unknown entry properties all throw {@link AllowListError} naming the key. The original
 *   accepted anything and failed at run time (see client spec C.8).
 * - Lookups use a `Map`, so names such as `__proto__`, `constructor` or `toString` only match
 *   if they are real keys.
 * - `lock` entries are returned like any other entry, with their lock; the caller takes the lock,
 *   acks the commit, and releases the lock when the job ends (the original never acked them).
 */
export class AllowList {
  private readonly exact = new Map<string, CompiledEntry>();
  private readonly regexes: CompiledRegexEntry[] = [];
  private readonly allKeys: string[] = [];

  /**
   * Validates and compiles `whitelist`.
   *
   * @throws {AllowListError} when the whitelist or one of its entries is invalid; the message
   *   names the key.
   */
  constructor(whitelist: Whitelist) {
    if (!isPlainObject(whitelist)) {
      throw new AllowListError(
        `whitelist must be an object mapping names to command lines, got ${describe(whitelist)}`,
      );
    }
    for (const [key, value] of Object.entries(whitelist)) {
      if (key.length === 0) throw new AllowListError('whitelist keys must be non-empty strings', key);
      const { commandLine, lock } = compileValue(key, value as unknown);
      const parsed = parseWhitelistRegexKey(key);
      if (parsed === undefined) {
        this.exact.set(key, { key, commandLine, lock });
      } else {
        if (parsed.pattern.length === 0) {
          throw new AllowListError(
            `whitelist entry '${key}': empty regular expression matches everything`,
            key,
          );
        }
        let regex: RegExp;
        try {
          const flags = parsed.flags.includes('g') ? parsed.flags : `${parsed.flags}g`;
          regex = new RegExp(parsed.pattern, flags);
        } catch (err) {
          throw new AllowListError(
            `whitelist entry '${key}': invalid regular expression: ${err instanceof Error ? err.message : String(err)}`,
            key,
          );
        }
        this.regexes.push({ key, commandLine, lock, regex });
      }
      this.allKeys.push(key);
    }
  }

  /** The allow-list for the default whitelist, `{ 'chef-client': 'chef-client' }`. */
  static default(): AllowList {
    return new AllowList(DEFAULT_WHITELIST);
  }

  /** The allow-list for a config's `whitelist` setting, or the default when it is not set. */
  static fromConfig(whitelist: Whitelist | undefined): AllowList {
    return whitelist === undefined ? AllowList.default() : new AllowList(whitelist);
  }

  /** The whitelist keys, in insertion order (as written in the config). */
  keys(): string[] {
    return [...this.allKeys];
  }

  /** Number of entries. */
  get size(): number {
    return this.allKeys.length;
  }

  /**
   * Resolves a requested command name to the command line to run, following the lookup rules
   * described on {@link AllowList}. Returns `undefined` when the command is not allowed.
   */
  match(command: string): AllowListMatch | undefined {
    if (typeof command !== 'string') return undefined;
    const exact = this.exact.get(command);
    if (exact !== undefined) {
      return { key: exact.key, kind: 'exact', commandLine: exact.commandLine, lock: exact.lock };
    }
    for (const entry of this.regexes) {
      // matchAll clones the regex, so the shared lastIndex is never touched.
      const first = command.matchAll(entry.regex).next();
      if (first.done === true) continue;
      return {
        key: entry.key,
        kind: 'regex',
        commandLine: globalSubstitute(command, entry.regex, entry.commandLine),
        lock: entry.lock,
      };
    }
    return undefined;
  }
}
