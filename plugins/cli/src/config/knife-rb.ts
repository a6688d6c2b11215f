/**
 * The basics of a knife configuration (`knife.rb` or `config.rb`), which is Ruby: only lines
 * that set `chef_server_url`, `node_name` (or `client_name`), `client_key`, `ssl_ca_file` and
 * `ssl_verify_mode` are read, plus simple variable assignments they refer to. Values may be
 * string literals (with `#{...}` interpolation), symbols, variables, `__FILE__`, `__dir__`,
 * `ENV['NAME']`, `File.dirname(...)`, `File.join(...)` and `File.expand_path(...)`, e.g.
 *
 * ```ruby
 * current_dir = File.dirname(__FILE__)
 * node_name   "alice"
 * client_key  "#{current_dir}/alice.pem"
 * chef_server_url "https://chef.example.com/organizations/acme"
 * ```
 *
 * Anything else is Ruby this module does not run, and is ignored.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { configError } from '../errors.js';
import type { SourceSettings } from './types.js';

type Token =
  | { t: 'id'; v: string }
  | { t: 'str'; v: string; interpolate: boolean }
  | { t: 'sym'; v: string }
  | { t: 'p'; v: string };

class Unsupported extends Error {}

function tokenize(line: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      break;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let text = '';
      let depth = 0;
      for (; j < line.length; j++) {
        const d = line[j]!;
        if (c === '"' && d === '#' && line[j + 1] === '{') depth++;
        else if (depth > 0 && d === '}') depth--;
        if (d === '\\' && j + 1 < line.length) {
          const e = line[++j]!;
          text +=
            c === '"'
              ? ({ n: '\n', t: '\t', '"': '"', '\\': '\\', '#': '\\#' }[e] ?? e)
              : e === "'" || e === '\\'
                ? e
                : `\\${e}`;
          continue;
        }
        if (d === c && depth === 0) break;
        text += d;
      }
      if (j >= line.length) throw new Unsupported('unterminated string');
      out.push({ t: 'str', v: text, interpolate: c === '"' });
      i = j + 1;
    } else if (c === ':' && /[A-Za-z_]/.test(line[i + 1] ?? '')) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*[?!]?/.exec(line.slice(i + 1))!;
      out.push({ t: 'sym', v: m[0] });
      i += 1 + m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*[?!]?/.exec(line.slice(i))!;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else if ('()[],.='.includes(c)) {
      out.push({ t: 'p', v: c });
      i++;
    } else {
      throw new Unsupported(`unsupported character '${c}'`);
    }
  }
  return out;
}

interface Scope {
  file: string;
  vars: Map<string, string>;
  env: NodeJS.ProcessEnv;
}

class Expr {
  pos = 0;
  constructor(
    readonly tokens: Token[],
    readonly scope: Scope,
  ) {}

  peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  punct(v: string): boolean {
    const t = this.peek();
    if (t?.t === 'p' && t.v === v) {
      this.pos++;
      return true;
    }
    return false;
  }

  expect(v: string): void {
    if (!this.punct(v)) throw new Unsupported(`expected '${v}'`);
  }

  args(): string[] {
    this.expect('(');
    const out: string[] = [];
    if (this.punct(')')) return out;
    for (;;) {
      out.push(this.value());
      if (this.punct(')')) return out;
      this.expect(',');
    }
  }

  value(): string {
    const t = this.tokens[this.pos++];
    if (t === undefined) throw new Unsupported('missing value');
    if (t.t === 'str') return t.interpolate ? this.interpolate(t.v) : t.v;
    if (t.t === 'sym') return t.v;
    if (t.t === 'p') throw new Unsupported(`unexpected '${t.v}'`);
    switch (t.v) {
      case '__FILE__':
        return this.scope.file;
      case '__dir__':
        return dirname(this.scope.file);
      case 'ENV': {
        this.expect('[');
        const name = this.value();
        this.expect(']');
        const v = this.scope.env[name];
        if (v === undefined) throw new Unsupported(`ENV['${name}'] is not set`);
        return v;
      }
      case 'File': {
        this.expect('.');
        const fn = this.tokens[this.pos++];
        if (fn?.t !== 'id') throw new Unsupported('expected a File method');
        const args = this.args();
        if (fn.v === 'dirname' && args.length === 1) return dirname(args[0]!);
        if (fn.v === 'join' && args.length > 0) return join(...args);
        if (fn.v === 'expand_path' && (args.length === 1 || args.length === 2)) {
          const [p, base] = args as [string, string | undefined];
          const home = this.scope.env['HOME'];
          const expanded = p.startsWith('~/') && home !== undefined ? join(home, p.slice(2)) : p;
          return resolve(base ?? process.cwd(), expanded);
        }
        throw new Unsupported(`File.${fn.v} is not supported`);
      }
      default: {
        const v = this.scope.vars.get(t.v);
        if (v === undefined) throw new Unsupported(`unknown variable '${t.v}'`);
        return v;
      }
    }
  }

  interpolate(text: string): string {
    return text.replace(/(\\?)#\{([^}]*)\}/g, (whole, escaped: string, inner: string) => {
      if (escaped === '\\') return whole.slice(1);
      const e = new Expr(tokenize(inner), this.scope);
      const v = e.value();
      if (e.pos !== e.tokens.length) throw new Unsupported('unsupported interpolation');
      return v;
    });
  }
}

const SETTINGS = new Set([
  'chef_server_url',
  'node_name',
  'client_name',
  'client_key',
  'ssl_ca_file',
  'ssl_verify_mode',
]);

/** The settings a knife configuration file gives, from its text. */
export function parseKnifeRb(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): SourceSettings {
  const scope: Scope = { file, vars: new Map(), env };
  const found = new Map<string, string>();
  for (const line of text.split('\n')) {
    let tokens: Token[];
    try {
      tokens = tokenize(line);
    } catch {
      continue;
    }
    const first = tokens[0];
    if (first?.t !== 'id') continue;
    try {
      if (tokens[1]?.t === 'p' && tokens[1].v === '=' && !SETTINGS.has(first.v)) {
        const e = new Expr(tokens.slice(2), scope);
        const v = e.value();
        if (e.pos === e.tokens.length) scope.vars.set(first.v, v);
        continue;
      }
      if (!SETTINGS.has(first.v)) continue;
      let rest = tokens.slice(1);
      if (rest[0]?.t === 'p' && rest[0].v === '=') rest = rest.slice(1);
      const parenthesised = rest[0]?.t === 'p' && rest[0].v === '(';
      const e = new Expr(parenthesised ? rest.slice(1) : rest, scope);
      const v = e.value();
      if (parenthesised) e.expect(')');
      if (e.pos === e.tokens.length) found.set(first.v, v);
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
    }
  }
  const dir = dirname(file);
  const out: SourceSettings = {};
  const url = found.get('chef_server_url');
  if (url !== undefined) out.serverUrl = url;
  const user = found.get('node_name') ?? found.get('client_name');
  if (user !== undefined) out.user = user;
  const key = found.get('client_key');
  if (key !== undefined) out.key = { path: isAbsolute(key) ? key : resolve(dir, key) };
  const ca = found.get('ssl_ca_file');
  if (ca !== undefined) out.caFile = isAbsolute(ca) ? ca : resolve(dir, ca);
  const verify = found.get('ssl_verify_mode');
  if (verify === 'verify_none') out.insecure = true;
  else if (verify === 'verify_peer') out.insecure = false;
  return out;
}

/**
 * Where knife would look for its configuration, in order: `$KNIFE_HOME`, a `.chef` directory
 * in the working directory or any parent, then `~/.chef`; in each, `config.rb` before
 * `knife.rb`. Returns the first file that exists.
 */
export function findKnifeRb(cwd: string, home: string, env: NodeJS.ProcessEnv): string | undefined {
  const dirs: string[] = [];
  const knifeHome = env['KNIFE_HOME'];
  if (knifeHome !== undefined && knifeHome !== '') dirs.push(knifeHome);
  for (let d = resolve(cwd); ; d = dirname(d)) {
    dirs.push(join(d, '.chef'));
    if (dirname(d) === d) break;
  }
  dirs.push(join(home, '.chef'));
  for (const dir of dirs) {
    for (const name of ['config.rb', 'knife.rb']) {
      const path = join(dir, name);
      if (existsSync(path)) return path;
    }
  }
  return undefined;
}

/** Reads a knife configuration file. */
export function readKnifeRb(path: string, env: NodeJS.ProcessEnv): SourceSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(`cannot read ${path}: ${(err as Error).message}; fix its permissions`, undefined, err);
  }
  return parseKnifeRb(text, path, env);
}
