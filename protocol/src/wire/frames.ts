/**
 * Two-frame messages, `[header, json]` (server-protocol.md 4, "Framing"), and the ROUTER's extra
 * identity frame.
 *
 * @module
 */

import { asBuffer, isBytes } from './bytes.js';
import { HEADER_PREFIX, parseHeader, type ParsedHeader } from './header.js';
import { hmacSign } from './hmac.js';
import type { RsaKeyInput } from './key-cache.js';
import { DEFAULT_MAX_BODY_BYTES, MAX_HEADER_BYTES } from './limits.js';
import { rsaSha1Sign } from './rsa.js';
import { isWireError, wireError, type WireError } from './wire-error.js';

/** How {@link encodeMessage} signs: HMAC with a session key, or RSA with the server's private key. */
export type Signer =
  | { readonly method: 'hmac_sha256'; readonly key: Uint8Array }
  | { readonly method: 'rsa2048_sha1'; readonly privateKey: RsaKeyInput };

/** Limits for {@link decodeMessage}. Values that are not non-negative numbers fall back to the defaults. */
export interface DecodeOptions {
  /**
   * Largest body frame, in bytes (the `max_body_size` setting).
   * @default {@link DEFAULT_MAX_BODY_BYTES} (65536)
   */
  readonly maxBodySize?: number;
  /**
   * Largest header frame, in bytes.
   * @default {@link MAX_HEADER_BYTES} (2048)
   */
  readonly maxHeaderSize?: number;
}

/** A message whose framing and header are sound. The signature is NOT verified yet. */
export interface DecodedFrames {
  readonly header: ParsedHeader;
  /** The exact body bytes, over which the signature is computed. */
  readonly bodyBytes: Buffer;
}

/** A ROUTER message split into the sender's identity and its two application frames. */
export interface RouterFrames {
  /** The ROUTER-generated identity of the peer: pass it back as the first frame of a reply. */
  readonly identity: Buffer;
  readonly frames: [Buffer, Buffer];
}

function limit(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && value >= 0 ? value : fallback;
}

/**
 * Encodes and signs a message: `[header, body]`, ready for a DEALER or PUB socket (prepend the
 * identity for a ROUTER). An object body is serialised with `JSON.stringify` once, and the exact
 * bytes sent are the bytes signed; a string body is taken to be JSON already.
 *
 * @throws when the body cannot be serialised, or {@link WireCryptoError} when RSA signing fails.
 */
export function encodeMessage(body: object | string, signer: Signer): [Buffer, Buffer] {
  const bodyBytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  const signature =
    signer.method === 'hmac_sha256'
      ? hmacSign(bodyBytes, signer.key)
      : rsaSha1Sign(bodyBytes, signer.privateKey);
  return [Buffer.from(HEADER_PREFIX[signer.method] + signature, 'latin1'), bodyBytes];
}

/**
 * Splits a message received on a ROUTER socket, `[identity, header, body]`, into the identity and
 * the two application frames. Any other frame count, or a frame that is not bytes, is a
 * `frame_count` error ("runt/overlength" in the original). Never throws.
 */
export function splitRouterFrames(frames: readonly Uint8Array[]): RouterFrames | WireError {
  if (!Array.isArray(frames)) return wireError('frame_count', 'frames is not an array');
  if (frames.length !== 3)
    return wireError('frame_count', `expected 3 frames from ROUTER, got ${frames.length}`);
  const [identity, header, body] = frames as unknown[];
  if (!isBytes(identity) || !isBytes(header) || !isBytes(body)) {
    return wireError('frame_count', 'a ROUTER frame is not bytes');
  }
  return { identity: asBuffer(identity), frames: [asBuffer(header), asBuffer(body)] };
}

/**
 * Checks the framing of a two-frame message and parses its header, without verifying the
 * signature (that needs the key, which the caller looks up from the body). Checks, in order:
 * exactly two byte frames (`frame_count`), the header ({@link parseHeader}), and the body size
 * (`body_too_large`). Never throws, whatever the input.
 */
export function decodeMessage(
  frames: readonly Uint8Array[],
  opts: DecodeOptions = {},
): DecodedFrames | WireError {
  if (!Array.isArray(frames)) return wireError('frame_count', 'frames is not an array');
  if (frames.length !== 2) return wireError('frame_count', `expected 2 frames, got ${frames.length}`);
  const [headerFrame, bodyFrame] = frames as unknown[];
  if (!isBytes(headerFrame)) return wireError('bad_header', 'header frame is not bytes');
  if (!isBytes(bodyFrame)) return wireError('bad_json', 'body frame is not bytes');
  const options: DecodeOptions = opts ?? {};
  const header = parseHeader(asBuffer(headerFrame), limit(options.maxHeaderSize, MAX_HEADER_BYTES));
  if (isWireError(header)) return header;
  const maxBody = limit(options.maxBodySize, DEFAULT_MAX_BODY_BYTES);
  if (bodyFrame.length > maxBody) {
    return wireError('body_too_large', `body of ${bodyFrame.length} bytes is larger than ${maxBody} bytes`);
  }
  return { header, bodyBytes: asBuffer(bodyFrame) };
}
