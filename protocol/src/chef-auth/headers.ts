/**
 * Header names and case-insensitive header access for Chef request signing.
 */

/** Request headers as Node's `IncomingMessage#headers` or a plain object hold them. */
export type HeaderInput = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The headers every signed request must carry with a non-empty value, in canonical spelling. */
export const REQUIRED_HEADERS = [
  'X-Ops-UserId',
  'X-Ops-Timestamp',
  'X-Ops-Sign',
  'X-Ops-Content-Hash',
] as const;

/** One of {@link REQUIRED_HEADERS}. */
export type RequiredHeader = (typeof REQUIRED_HEADERS)[number];

/** Canonical spelling of the optional server API version header signed by 1.3. */
export const SERVER_API_VERSION_HEADER = 'X-Ops-Server-API-Version';

/** Prefix of the numbered signature headers, `X-Ops-Authorization-1`, `-2`, ... */
export const AUTHORIZATION_HEADER_PREFIX = 'X-Ops-Authorization-';

/** Length of each `X-Ops-Authorization-N` chunk of the base64 signature. */
export const AUTHORIZATION_CHUNK_LENGTH = 60;

/** Header values by lower-cased name. */
export type HeaderLookup = ReadonlyMap<string, string>;

function headerValue(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw.trim();
  if (Array.isArray(raw)) {
    // Repeated headers: combine them the way Node does for most headers.
    const parts: string[] = [];
    for (const p of raw as unknown[]) {
      if (typeof p !== 'string') return undefined;
      parts.push(p.trim());
    }
    return parts.length === 0 ? undefined : parts.join(', ');
  }
  return undefined;
}

/**
 * Builds a case-insensitive view of `headers`. Values that are not strings (or arrays of strings)
 * are ignored; string values are trimmed. When a name occurs twice with different case, the
 * first occurrence wins. Never throws.
 */
export function headerLookup(headers: unknown): HeaderLookup {
  const out = new Map<string, string>();
  if (typeof headers !== 'object' || headers === null) return out;
  let names: string[];
  try {
    names = Object.keys(headers);
  } catch {
    return out;
  }
  for (const name of names) {
    let value: string | undefined;
    try {
      value = headerValue((headers as Record<string, unknown>)[name]);
    } catch {
      value = undefined;
    }
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (!out.has(lower)) out.set(lower, value);
  }
  return out;
}

/**
 * Concatenates `X-Ops-Authorization-1`, `-2`, ... in order, stopping at the first one that is
 * missing (chef_authn). Returns `''` when there is no `X-Ops-Authorization-1`.
 *
 * mixlib instead joins every `X-Ops-Authorization-N` it finds, sorted by N, ignoring gaps; a
 * well-formed request has no gaps, so both read the same signature.
 */
export function readAuthorizationFromLookup(lookup: HeaderLookup): string {
  let sig = '';
  for (let i = 1; ; i++) {
    const part = lookup.get(`x-ops-authorization-${i}`);
    if (part === undefined) return sig;
    sig += part;
  }
}

/**
 * Reads the base64 signature carried by `X-Ops-Authorization-1..N` (header names are
 * case-insensitive). See {@link readAuthorizationFromLookup}. Never throws.
 */
export function readAuthorizationHeader(headers: HeaderInput): string {
  return readAuthorizationFromLookup(headerLookup(headers));
}

/**
 * Splits a base64 signature into `X-Ops-Authorization-N` headers of
 * {@link AUTHORIZATION_CHUNK_LENGTH} characters (the last may be shorter), as Ruby's
 * `Base64.encode64` lines and chef_authn `sig_header_items/1` do.
 */
export function authorizationHeaders(signatureBase64: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0, n = 1; i < signatureBase64.length; i += AUTHORIZATION_CHUNK_LENGTH, n++) {
    out[`${AUTHORIZATION_HEADER_PREFIX}${n}`] = signatureBase64.slice(i, i + AUTHORIZATION_CHUNK_LENGTH);
  }
  return out;
}
