/**
 * Lenient-but-valid standard base64, as found in signature clauses.
 *
 * @module
 */

/** 1 for the 64 alphabet characters, 2 for whitespace, 0 otherwise (indexed by char code < 128). */
const CLASS = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')
  CLASS[c.charCodeAt(0)] = 1;
for (const c of ' \t\r\n') CLASS[c.charCodeAt(0)] = 2;
const EQUALS = 61;
const WHITESPACE = /[ \t\r\n]+/g;

/**
 * Returns `s` with whitespace (space, tab, CR, LF) removed if what is left is valid standard
 * base64, else `undefined`.
 *
 * Ruby wraps base64 output at 60 columns, so RSA signatures arrive with embedded newlines; the
 * padding (`=`, at most two, only at the end) may be present or missing. An empty string is
 * invalid. Never throws.
 */
export function normalizeBase64(s: string): string | undefined {
  if (typeof s !== 'string') return undefined;
  let hasWhitespace = false;
  let dataChars = 0;
  let padding = 0;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    const cls = code < 128 ? CLASS[code] : 0;
    if (cls === 1) {
      if (padding > 0) return undefined;
      dataChars++;
    } else if (cls === 2) {
      hasWhitespace = true;
    } else if (code === EQUALS) {
      if (++padding > 2) return undefined;
    } else {
      return undefined;
    }
  }
  if (dataChars === 0 || dataChars % 4 === 1) return undefined;
  if (padding > 0 && (dataChars + padding) % 4 !== 0) return undefined;
  return hasWhitespace ? s.replace(WHITESPACE, '') : s;
}
