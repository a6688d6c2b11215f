/**
 * Byte-frame helpers.
 *
 * @module
 */

/** Views a `Uint8Array` as a `Buffer` without copying (a `Buffer` is returned as is). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** True for a `Buffer` or any other `Uint8Array` (what ZeroMQ frames are). */
export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}
