// escapeControlCharacters: one log call stays one line, whatever the wire sent.
import { expect } from 'chai';
import { escapeControlCharacters } from '../src/log-escape.js';

describe('escapeControlCharacters', () => {
  it('escapes newlines, carriage returns, tabs and other C0 controls, DEL and C1 controls', () => {
    expect(escapeControlCharacters('a\nERROR: forged\r\n\tb')).to.equal('a\\nERROR: forged\\r\\n\\tb');
    expect(escapeControlCharacters('\u0000\u001b[31m\u007f\u0085\u009b')).to.equal(
      '\\x00\\x1b[31m\\x7f\\x85\\x9b',
    );
  });

  it('escapes Unicode line separators and bidirectional controls', () => {
    expect(escapeControlCharacters('a\u2028b\u2029c\u202ed\u2066e')).to.equal(
      'a\\u2028b\\u2029c\\u202ed\\u2066e',
    );
  });

  it('keeps everything else, backslashes and non-ASCII text included', () => {
    const text = "Job 1: whitelist '/^ls (\\S+)$/' to 'ls -l' — nœud été 日本";
    expect(escapeControlCharacters(text)).to.equal(text);
  });
});
