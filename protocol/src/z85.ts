/**
 * Z85, the ZeroMQ base-85 encoding of binary data (ZeroMQ RFC 32/Z85). Push Jobs uses it for the
 * 32-byte CURVE public keys: the server's `curve_public_key` in the config response and the
 * client's `ccpk` query parameter (40 characters each).
 *
 * @module
 */

import { InvalidArgumentError } from './errors.js';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

/** Character code to digit value, or 255 for characters outside the alphabet. */
const DECODE = new Uint8Array(128).fill(255);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/**
 * Encodes `buf` as Z85. Every 4 bytes become 5 characters, so 32 bytes become 40 characters.
 *
 * @throws {@link InvalidArgumentError} when the length of `buf` is not a multiple of 4.
 */
export function z85Encode(buf: Uint8Array): string {
  if (buf.length % 4 !== 0) {
    throw new InvalidArgumentError(`z85Encode: length ${buf.length} is not a multiple of 4`);
  }
  let out = '';
  for (let i = 0; i < buf.length; i += 4) {
    let value =
      (buf[i] ?? 0) * 0x1000000 + (buf[i + 1] ?? 0) * 0x10000 + (buf[i + 2] ?? 0) * 0x100 + (buf[i + 3] ?? 0);
    const d4 = value % 85;
    value = (value - d4) / 85;
    const d3 = value % 85;
    value = (value - d3) / 85;
    const d2 = value % 85;
    value = (value - d2) / 85;
    const d1 = value % 85;
    const d0 = (value - d1) / 85;
    out +=
      ALPHABET.charAt(d0) +
      ALPHABET.charAt(d1) +
      ALPHABET.charAt(d2) +
      ALPHABET.charAt(d3) +
      ALPHABET.charAt(d4);
  }
  return out;
}

/**
 * Decodes a Z85 string. Returns `undefined`, and never throws, when `s` is not a string, its length
 * is not a multiple of 5, it holds a character outside the Z85 alphabet, or a 5-character group
 * encodes a value above 2^32 - 1.
 */
export function z85Decode(s: string): Buffer | undefined {
  if (typeof s !== 'string' || s.length % 5 !== 0) return undefined;
  const out = Buffer.allocUnsafe((s.length / 5) * 4);
  for (let i = 0, o = 0; i < s.length; i += 5, o += 4) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const code = s.charCodeAt(i + j);
      const d = code < 128 ? (DECODE[code] ?? 255) : 255;
      if (d === 255) return undefined;
      value = value * 85 + d;
    }
    if (value > 0xffffffff) return undefined;
    out.writeUInt32BE(value, o);
  }
  return out;
}
