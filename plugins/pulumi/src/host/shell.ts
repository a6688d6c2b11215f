/**
 * Shell building blocks of the host scripts: quoting, the wrapper every remote command uses,
 * and the small Node.js snippets the scripts run (Node is installed first on every host).
 *
 * @module
 */

/** `s` as one single-quoted POSIX shell word. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** How a script runs on the host. */
export interface RunAs {
  /** Run under `sudo -n` (non-interactive). */
  readonly sudo: boolean;
}

/**
 * The command string given to `remote.Command`: the host's login shell runs
 * `[sudo -n] /bin/bash -c '<script>' <label>`, so `$0` (and error messages) name the step and
 * standard input stays free for secrets.
 */
export function bashCommand(script: string, label: string, runAs: RunAs): string {
  const sudo = runAs.sudo ? 'sudo -n ' : '';
  return `${sudo}/bin/bash -c ${shellQuote(script)} ${shellQuote(label)}`;
}

/** Lines that assign shell variables, each value quoted. */
export function assignments(vars: Readonly<Record<string, string>>): string {
  return Object.entries(vars)
    .map(([name, value]) => `${name}=${shellQuote(value)}`)
    .join('\n');
}

/**
 * The start of every host script: strict mode, and the Node.js this package installs (when it
 * installed one) first on the `PATH`.
 */
export function preamble(nodeHome: string): string {
  return [
    'set -euo pipefail',
    'umask 022',
    `PUSH_JOBS_NODE_HOME=${shellQuote(nodeHome)}`,
    'if [ -x "$PUSH_JOBS_NODE_HOME/bin/node" ]; then PATH="$PUSH_JOBS_NODE_HOME/bin:$PATH"; fi',
    'export PATH',
  ].join('\n');
}

/**
 * Node.js (CommonJS, for `node -e`) that reads `{ "files": [{ "path", "content", "mode" }] }`
 * from standard input and writes each file atomically (temp file, then rename), creating parent
 * directories. Secrets travel this way, never in the command line.
 */
export const WRITE_FILES_JS = [
  "const fs = require('fs'), path = require('path');",
  "let text = '';",
  "process.stdin.setEncoding('utf8');",
  "process.stdin.on('data', (d) => { text += d; });",
  "process.stdin.on('end', () => {",
  '  const doc = JSON.parse(text);',
  '  for (const f of doc.files) {',
  '    fs.mkdirSync(path.dirname(f.path), { recursive: true, mode: 0o755 });',
  "    const tmp = f.path + '.tmp-' + process.pid;",
  '    fs.writeFileSync(tmp, f.content, { mode: f.mode });',
  '    fs.chmodSync(tmp, f.mode);',
  '    fs.renameSync(tmp, f.path);',
  '  }',
  '});',
].join('\n');

/**
 * Node.js (for `node -e JS URL`) that exits 0 when `GET URL` answers 200, 1 otherwise. The probe
 * goes to the loopback address, so a self-signed TLS certificate is accepted.
 */
export const PROBE_JS = [
  "process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';",
  'fetch(process.argv[1], { signal: AbortSignal.timeout(5000) })',
  '  .then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1));',
].join('\n');

/** A heredoc that writes `content` verbatim to `path` (a quoted shell word or variable). */
export function heredoc(path: string, content: string, marker = 'PUSH_JOBS_EOF'): string {
  if (content.split('\n').includes(marker)) throw new Error(`heredoc content contains its marker ${marker}`);
  const body = content.endsWith('\n') ? content : `${content}\n`;
  return `cat > ${path} <<'${marker}'\n${body}${marker}`;
}
