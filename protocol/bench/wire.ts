// Hot paths of the ZeroMQ message codec: HMAC encode and open, RSA heartbeat sign and verify.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { formatHttpDate } from '../src/http-date.js';
import { encodeMessage, openMessage, rsaSha1Sign, rsaSha1Verify } from '../src/wire/index.js';
import { measure, type BenchResult } from './harness.js';

/** A typical client heartbeat (server-protocol.md 5.3), about 300 bytes once serialised. */
function clientHeartbeat(): Record<string, unknown> {
  return {
    node: 'web01.prod.example.com',
    client: 'web01.prod.example.com',
    protocol_version: '2.0',
    org: 'acme-production',
    type: 'heartbeat',
    sequence: 17,
    timestamp: formatHttpDate(new Date()),
    incarnation_id: '0d9d1f0e-6c55-4f4e-9f61-2f7b3c8a91d2',
    job_state: 'running',
    job_id: '3f2a9c0e1b7d4e8fa6c5d4b3a2918070',
  };
}

/** Runs the wire benchmarks and returns their results; prints nothing. */
export async function benchWire(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const key = randomBytes(32);
  const body = clientHeartbeat();
  const resolver = (): Buffer => key;
  const signer = { method: 'hmac_sha256', key } as const;
  const frames = encodeMessage(body, signer);
  let sink = 0;

  results.push(
    await measure(`wire hmac encode+sign (${frames[1].length} B heartbeat)`, () => {
      sink += encodeMessage(body, signer)[0].length;
    }),
  );
  results.push(
    await measure('wire hmac openMessage (decode+parse+verify+skew)', () => {
      if (openMessage(frames, resolver).ok) sink++;
    }),
  );
  results.push(
    await measure('wire hmac round trip (encode + openMessage)', () => {
      if (openMessage(encodeMessage(body, signer), resolver).ok) sink++;
    }),
  );

  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const serverHeartbeat = Buffer.from(
    JSON.stringify({
      sequence: 812,
      timestamp: formatHttpDate(new Date()),
      server: 'push01',
      type: 'heartbeat',
      incarnation_id: '6f1c0b7e-3d2a-4c55-9a0e-2b8f4d1e7c90',
    }),
  );
  const signature = rsaSha1Sign(serverHeartbeat, privateKey);
  results.push(
    await measure('wire rsa2048_sha1 sign (server heartbeat)', () => {
      sink += rsaSha1Sign(serverHeartbeat, privateKey).length;
    }),
  );
  results.push(
    await measure('wire rsa2048_sha1 verify (server heartbeat)', () => {
      if (rsaSha1Verify(serverHeartbeat, publicKey, signature)) sink++;
    }),
  );
  if (sink < 0) throw new Error('unreachable');
  return results;
}
