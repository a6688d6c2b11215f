/**
 * Ruby literals, written so that both a real Ruby push client (`Chef::Config.from_file`) and
 * the agent's Ruby-subset reader (`agent/src/config/ruby-config.ts`) read back the same values.
 *
 * @module
 */
import { parseWhitelistRegexKey } from '@push-jobs/protocol';
import { CookbookError } from '../errors.js';
import type { WhitelistAttribute, WhitelistValue } from '../attributes/types.js';

/** A Ruby single-quoted string: only `\` and `'` need escaping. */
export function rubySingleQuoted(value: string): string {
  return `'${value.replace(/\\/gu, '\\\\').replace(/'/gu, "\\'")}'`;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\t': '\\t',
  '\r': '\\r',
  '\f': '\\f',
  '\v': '\\v',
  '\b': '\\b',
  '\x07': '\\a',
  '\x1b': '\\e',
};

/** A Ruby double-quoted string as `String#inspect` writes it (`#{`, `#$`, `#@` escaped). */
export function rubyInspectString(value: string): string {
  let out = '"';
  const chars = [...value];
  chars.forEach((ch, i) => {
    const simple = SIMPLE_ESCAPES[ch];
    if (simple !== undefined) out += simple;
    else if (ch === '#' && ['{', '$', '@'].includes(chars[i + 1] ?? '')) out += '\\#';
    else if (ch < ' ' || ch === '\x7f')
      out += `\\u${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    else out += ch;
  });
  return `${out}"`;
}

/**
 * The Ruby regex literal for a whitelist key `/PATTERN/FLAGS` (JavaScript syntax, as the agent
 * reads keys). Outside character classes `^` becomes `\A` and `$` becomes `\z`, so a Ruby
 * client anchors at the whole command as the agent does (Ruby's `^`/`$` are line anchors); the
 * agent's reader turns them back. `/` is escaped; flag `s` becomes Ruby's `m`.
 *
 * @throws CookbookError for flags other than `i` and `s`.
 */
export function rubyRegexLiteral(key: string): string {
  const parsed = parseWhitelistRegexKey(key);
  if (parsed === undefined) throw new CookbookError(`whitelist key ${JSON.stringify(key)} is not a /regex/`);
  let out = '';
  let inClass = false;
  const p = parsed.pattern;
  for (let i = 0; i < p.length; i++) {
    const ch = p[i] ?? '';
    if (ch === '\\') {
      out += ch + (p[i + 1] ?? '');
      i++;
    } else if (inClass) {
      if (ch === ']') inClass = false;
      out += ch === '/' ? '\\/' : ch;
    } else if (ch === '[') {
      inClass = true;
      out += ch;
      if (p[i + 1] === '^') {
        out += '^';
        i++;
      }
      // `[]` and `[^]` mean "nothing" and "anything" in JavaScript but are errors in Ruby.
      if (p[i + 1] === ']') {
        throw new CookbookError(
          `whitelist key ${JSON.stringify(key)}: an empty character class cannot be written to Ruby`,
        );
      }
    } else if (ch === '^') out += '\\A';
    else if (ch === '$') out += '\\z';
    else if (ch === '/') out += '\\/';
    else out += ch;
  }
  let flags = '';
  for (const flag of parsed.flags) {
    if (flag === 'i') flags += 'i';
    else if (flag === 's') flags += 'm';
    else
      throw new CookbookError(
        `whitelist key ${JSON.stringify(key)}: regex flag '${flag}' cannot be written to Ruby`,
      );
  }
  return `/${out}/${flags}`;
}

function rubyValue(value: WhitelistValue): string {
  if (typeof value === 'string') return rubyInspectString(value);
  // Symbol keys: what the Ruby client reads (the original cookbook wrote string keys, which the
  // client ignored, spec C.8); the agent's reader takes either.
  const parts = [`:command_line=>${rubyInspectString(value.command_line)}`];
  if (value.lock !== undefined) {
    parts.push(
      `:lock=>${typeof value.lock === 'string' ? rubyInspectString(value.lock) : String(value.lock)}`,
    );
  }
  return `{${parts.join(', ')}}`;
}

/**
 * The whitelist as Ruby's `Hash#inspect` writes it, e.g. `{"chef-client"=>"chef-client"}`
 * (spec C.5), with `/regex/` keys as Ruby regex literals and hash values with symbol keys.
 */
export function rubyWhitelist(whitelist: WhitelistAttribute): string {
  const entries = Object.entries(whitelist).map(([key, value]) => {
    const rubyKey =
      parseWhitelistRegexKey(key) === undefined ? rubyInspectString(key) : rubyRegexLiteral(key);
    return `${rubyKey}=>${rubyValue(value)}`;
  });
  return `{${entries.join(', ')}}`;
}

/** A Ruby array of strings, as `Array#inspect` writes it. */
export function rubyStringArray(values: readonly string[]): string {
  return `[${values.map(rubyInspectString).join(', ')}]`;
}

/**
 * A JSON value as a Ruby literal, as `inspect` writes it: strings double-quoted, `nil`, hashes
 * with string keys (`{"a"=>1}`). Non-finite numbers are refused.
 */
export function rubyJson(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return rubyInspectString(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CookbookError(`cannot write ${String(value)} to Ruby`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(rubyJson).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(
      ([k, v]) => `${rubyInspectString(k)}=>${rubyJson(v)}`,
    );
    return `{${entries.join(', ')}}`;
  }
  throw new CookbookError(`cannot write a ${typeof value} to Ruby`);
}
