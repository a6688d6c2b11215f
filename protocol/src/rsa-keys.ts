/**
 * RSA key inputs shared by Chef request signing and the ZeroMQ codec: accepts `KeyObject`s or
 * PEM strings and keeps the parsed form of recent PEM strings, so hot paths (request
 * verification, heartbeat signing) do not parse the same PEM on every call.
 */
import { KeyObject, createPrivateKey, createPublicKey } from 'node:crypto';

/** An RSA key: a parsed `KeyObject`, or PEM text (parsed once, then cached). */
export type RsaKeyInput = KeyObject | string;

/** How many distinct PEM strings each cache keeps; the oldest entry is dropped first. */
export const KEY_CACHE_SIZE = 256;

/** A small insertion-ordered cache; a hit moves the entry to the young end. */
class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly limit: number) {}

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined && this.map.size > 1) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.limit) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) break;
      this.map.delete(oldest.value);
    }
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
  }
}

// `null` records a PEM that failed to parse, so garbage is not re-parsed either.
const publicKeys = new BoundedCache<KeyObject | null>(KEY_CACHE_SIZE);
const privateKeys = new BoundedCache<KeyObject | null>(KEY_CACHE_SIZE);

function isRsa(key: KeyObject): boolean {
  return key.type !== 'secret' && key.asymmetricKeyType === 'rsa';
}

/**
 * The RSA key to verify with, from a `KeyObject` or a PEM string (SPKI `PUBLIC KEY`, PKCS#1
 * `RSA PUBLIC KEY`, an X.509 certificate, or a private key), or `null` when it is not an RSA
 * key or does not parse. Never throws.
 */
export function toVerifyKey(key: unknown): KeyObject | null {
  if (key instanceof KeyObject) return isRsa(key) ? key : null;
  if (typeof key !== 'string') return null;
  const cached = publicKeys.get(key);
  if (cached !== undefined) return cached;
  let parsed: KeyObject | null;
  try {
    const k = createPublicKey(key);
    parsed = isRsa(k) ? k : null;
  } catch {
    parsed = null;
  }
  publicKeys.set(key, parsed);
  return parsed;
}

/**
 * The RSA private key to sign with, from a `KeyObject` or a PEM string (PKCS#1 or PKCS#8), or
 * `null` when it is not an RSA private key or does not parse. Never throws.
 */
export function toSigningKey(key: unknown): KeyObject | null {
  if (key instanceof KeyObject) return key.type === 'private' && isRsa(key) ? key : null;
  if (typeof key !== 'string') return null;
  const cached = privateKeys.get(key);
  if (cached !== undefined) return cached;
  let parsed: KeyObject | null;
  try {
    const k = createPrivateKey(key);
    parsed = isRsa(k) ? k : null;
  } catch {
    parsed = null;
  }
  privateKeys.set(key, parsed);
  return parsed;
}

/** Number of PEM strings currently cached, public and private. For tests and diagnostics. */
export function keyCacheSize(): { public: number; private: number } {
  return { public: publicKeys.size, private: privateKeys.size };
}

/** Empties both PEM caches. */
export function clearKeyCache(): void {
  publicKeys.clear();
  privateKeys.clear();
}
