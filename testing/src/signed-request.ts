// A REST request signed as a Chef user or client (the protocol package's signing), sent over real
// HTTP, its answer read as text and, when it parses, JSON.
import { signRequest } from '@push-jobs/protocol';

/** Who signs, and where requests go (`baseUrl` has no trailing slash; paths start with `/`). */
export interface RequestSigner {
  baseUrl: string;
  userId: string;
  privateKey: string;
}

/** The answer: its status, its body as text, and the body parsed (`undefined` when not JSON). */
export interface SignedResponse {
  status: number;
  json: unknown;
  text: string;
}

/** Sends `body` (JSON-encoded when given) to `path`, signed by `signer`. */
export async function signedRequest(
  signer: RequestSigner,
  method: string,
  path: string,
  body?: unknown,
  accept = 'application/json',
): Promise<SignedResponse> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = signRequest({
    method,
    path,
    body: text ?? '',
    userId: signer.userId,
    privateKey: signer.privateKey,
  });
  const res = await fetch(`${signer.baseUrl}${path}`, {
    method,
    headers: {
      ...headers,
      accept,
      ...(text === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(text === undefined ? {} : { body: text }),
  });
  const out = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(out);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text: out };
}
