/**
 * One-shot receive path: frames -> verified, fresh, in-order message body.
 *
 * @module
 */

import { KeyObject } from 'node:crypto';
import { parseBody, type MessageBody } from './body.js';
import { decodeMessage, type DecodeOptions } from './frames.js';
import type { ParsedHeader } from './header.js';
import { hmacVerify } from './hmac.js';
import type { RsaKeyInput } from './key-cache.js';
import { DEFAULT_MAX_MESSAGE_SKEW_SECONDS } from './limits.js';
import { rsaSha1Verify } from './rsa.js';
import type { SequenceTracker } from './sequence.js';
import { checkSkew, skewError } from './skew.js';
import { isWireError, wireError, type WireError } from './wire-error.js';

/**
 * Finds the HMAC session key of a message's sender from its *unverified* body (normally from
 * `org` and `node`). Returns `undefined` when no key is known.
 */
export type HmacKeyResolver = (unverifiedBody: Readonly<MessageBody>) => Uint8Array | undefined;

/**
 * Where {@link openMessage} gets its key: an {@link HmacKeyResolver} function (the message must
 * then be `hmac_sha256`), or a fixed RSA public key (the message must be `rsa2048_sha1`, as server
 * heartbeats are).
 */
export type MessageKeySource = HmacKeyResolver | RsaKeyInput;

/** Replay protection for {@link openMessage}. */
export interface ReplayCheck {
  readonly tracker: SequenceTracker;
  /** The peer key (e.g. `org/node`) of a verified body, or `undefined` when it cannot be told. */
  readonly peer: (body: Readonly<MessageBody>) => string | undefined;
  /**
   * The sender's incarnation ID.
   * @default the body's `incarnation_id`
   */
  readonly incarnation?: (body: Readonly<MessageBody>) => string | undefined;
}

/** Options of {@link openMessage}. Out-of-range numbers fall back to the defaults. */
export interface OpenOptions extends DecodeOptions {
  /**
   * `max_message_skew`, in seconds.
   * @default {@link DEFAULT_MAX_MESSAGE_SKEW_SECONDS} (300)
   */
  readonly maxSkewSeconds?: number;
  /**
   * The receiver's clock, as a Date or epoch milliseconds.
   * @default Date.now()
   */
  readonly now?: Date | number;
  /** When given, `sequence` must go forward per peer and incarnation (checked last). */
  readonly replay?: ReplayCheck;
  /**
   * Shares `rsa2048_sha1` verdicts between receivers that open the very same frame objects (see
   * {@link SignatureMemo}). Everything else is still checked per call.
   */
  readonly signatureMemo?: SignatureMemo;
}

/**
 * Remembers the RSA signature verdict of received body frames, by frame object, signature and
 * key. For many receivers in one process handed the same frames (the fleet simulator's agents
 * sharing one heartbeat SUB socket): the first verifies, the rest reuse its verdict. A frame
 * object is only ever the bytes of one receive, and a verdict only counts for the same
 * signature and the same key, so a hit is exactly the result verifying again would give.
 * Entries go with their frames (a WeakMap).
 */
export class SignatureMemo {
  readonly #verdicts = new WeakMap<object, { signature: string; key: unknown; ok: boolean }>();

  /** `verify()`'s result for this frame, signature and key, computing it only the first time. */
  check(frame: object, signature: string, key: unknown, verify: () => boolean): boolean {
    const seen = this.#verdicts.get(frame);
    if (seen !== undefined && seen.signature === signature && seen.key === key) return seen.ok;
    const ok = verify();
    this.#verdicts.set(frame, { signature, key, ok });
    return ok;
  }
}

/** The result of {@link openMessage}. */
export type OpenResult =
  | { readonly ok: true; readonly body: MessageBody; readonly header: ParsedHeader }
  | { readonly ok: false; readonly error: WireError };

function fail(error: WireError): OpenResult {
  return { ok: false, error };
}

function defaultIncarnation(body: Readonly<MessageBody>): string | undefined {
  const id = body['incarnation_id'];
  return typeof id === 'string' ? id : undefined;
}

function nowMillis(now: Date | number | undefined): number {
  const ms = typeof now === 'number' ? now : now instanceof Date ? now.getTime() : Number.NaN;
  return Number.isFinite(ms) ? ms : Date.now();
}

function verifySignature(
  header: ParsedHeader,
  bodyBytes: Buffer,
  body: MessageBody,
  keySource: MessageKeySource,
  memo: { memo: SignatureMemo; frame: object } | undefined,
): WireError | undefined {
  if (typeof keySource === 'function') {
    if (header.signingMethod !== 'hmac_sha256') {
      return wireError('unsupported_method', `expected hmac_sha256, got ${header.signingMethod}`);
    }
    let key: Uint8Array | undefined;
    try {
      key = keySource(body);
    } catch (err) {
      return wireError('no_key', `key lookup failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!(key instanceof Uint8Array)) return wireError('no_key', 'no session key for the sender');
    return hmacVerify(bodyBytes, key, header.signature)
      ? undefined
      : wireError('bad_signature', 'hmac_sha256 signature does not verify');
  }
  if (typeof keySource !== 'string' && !(keySource instanceof KeyObject))
    return wireError('no_key', 'no key given');
  if (header.signingMethod !== 'rsa2048_sha1') {
    return wireError('unsupported_method', `expected rsa2048_sha1, got ${header.signingMethod}`);
  }
  const verify = (): boolean => rsaSha1Verify(bodyBytes, keySource, header.signature);
  const ok = memo === undefined ? verify() : memo.memo.check(memo.frame, header.signature, keySource, verify);
  return ok ? undefined : wireError('bad_signature', 'rsa2048_sha1 signature does not verify');
}

/**
 * Opens a received two-frame message (strip a ROUTER's identity first with
 * {@link splitRouterFrames}): decodes the frames ({@link decodeMessage}), parses the body
 * ({@link parseBody}), finds the key and verifies the signature, checks `timestamp`
 * ({@link checkSkew}, both directions) and, when `opts.replay` is given, the sequence. The first
 * failure is returned as `{ ok: false, error }`. Never throws, whatever the input (a throwing key
 * resolver gives `no_key`).
 */
export function openMessage(
  frames: readonly Uint8Array[],
  keySource: MessageKeySource,
  opts: OpenOptions = {},
): OpenResult {
  const options: OpenOptions = typeof opts === 'object' && opts !== null ? opts : {};
  const decoded = decodeMessage(frames, options);
  if (isWireError(decoded)) return fail(decoded);
  const body = parseBody(decoded.bodyBytes);
  if (isWireError(body)) return fail(body);

  // decodeMessage checked that frames[1], the body, is a byte frame.
  const memo =
    options.signatureMemo === undefined ? undefined : { memo: options.signatureMemo, frame: frames[1]! };
  const signatureError = verifySignature(decoded.header, decoded.bodyBytes, body, keySource, memo);
  if (signatureError !== undefined) return fail(signatureError);

  const maxSkew =
    typeof options.maxSkewSeconds === 'number' &&
    options.maxSkewSeconds > 0 &&
    Number.isFinite(options.maxSkewSeconds)
      ? options.maxSkewSeconds
      : DEFAULT_MAX_MESSAGE_SKEW_SECONDS;
  const timestamp = body['timestamp'];
  const verdict = checkSkew(timestamp, nowMillis(options.now), maxSkew);
  if (verdict !== 'ok') return fail(skewError(verdict, timestamp, maxSkew));

  const replay = options.replay;
  if (replay !== undefined) {
    let peer: string | undefined;
    let incarnation: string | undefined;
    try {
      peer = replay.peer(body);
      incarnation = (replay.incarnation ?? defaultIncarnation)(body);
    } catch (err) {
      return fail(
        wireError('replay', `peer lookup failed: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
    if (peer === undefined || incarnation === undefined) {
      return fail(wireError('replay', 'cannot tell the peer or incarnation of the message'));
    }
    const sequence = body['sequence'];
    const seqVerdict = replay.tracker.check(
      peer,
      incarnation,
      typeof sequence === 'number' ? sequence : Number.NaN,
    );
    if (seqVerdict === 'bad_sequence') {
      return fail(wireError('replay', 'sequence is missing or not a non-negative integer'));
    }
    if (seqVerdict === 'replay') {
      return fail(wireError('replay', `sequence ${String(sequence)} of ${peer} does not go forward`));
    }
  }
  return { ok: true, body, header: decoded.header };
}
