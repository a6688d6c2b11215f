/**
 * CURVE key helpers: keys travel Z85-encoded (40 characters) and are compared as 32 raw bytes.
 *
 * @module
 */

import { z85Decode } from '@push-jobs/protocol/internal';
import { curveKeyPair } from 'zeromq';

/** Length of a raw CURVE key. */
export const CURVE_KEY_BYTES = 32;

/** A CURVE key pair, both halves Z85-encoded (40 characters each). */
export interface CurveKeyPair {
  publicKey: string;
  secretKey: string;
}

/** Generates a fresh CURVE key pair (the server makes one at every start and never stores it). */
export function generateCurveKeyPair(): CurveKeyPair {
  const { publicKey, secretKey } = curveKeyPair();
  return { publicKey, secretKey };
}

/** Decodes a Z85 CURVE key to its 32 raw bytes; undefined when it is not valid Z85 of that size. */
export function curveKeyFromZ85(z85: string): Buffer | undefined {
  if (z85.length !== 40) return undefined;
  const raw = z85Decode(z85);
  return raw !== undefined && raw.length === CURVE_KEY_BYTES ? raw : undefined;
}
