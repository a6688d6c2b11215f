/**
 * Escaping for log lines. Much of what the agent logs comes from the wire or from the job writer
 * (commands, job ids, node names, variable names, server error texts); a newline in any of them
 * would start a line of the attacker's choosing in the agent's log. The daemon's logger passes
 * every message through {@link escapeControlCharacters}, so one log call is always one line.
 *
 * @module
 */

/**
 * C0 controls (newline, carriage return, escape, ...), DEL, C1 controls, the Unicode line and
 * paragraph separators and the bidirectional overrides and isolates (which can make a line read
 * differently from what it holds).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `text` with every control character written as an escape: `\n`, `\r`, `\t`, `\xHH` (other C0
 * and C1 controls, DEL) or `\uHHHH` (line and paragraph separators, bidirectional controls).
 * Everything else, backslashes included, is kept as it is.
 */
export function escapeControlCharacters(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    const named = NAMED[ch];
    if (named !== undefined) return named;
    const code = ch.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
