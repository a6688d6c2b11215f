// Hot paths of Chef request signing: verifying a v1.3 request (what the server does on every
// REST call) and signing one (what the CLI and the server's calls to erchef do).
import { generateKeyPairSync } from 'node:crypto';

import { signRequest, verifyRequest } from '../src/chef-auth/index.js';
import { measure, type BenchResult } from './harness.js';

/** A typical POST /pushy/jobs body, padded to about 200 bytes. */
function jobBody(): string {
  const body = JSON.stringify({
    command: 'chef-client',
    nodes: ['web01.prod.example.com', 'web02.prod.example.com', 'db01.prod.example.com'],
    quorum: 3,
    run_timeout: 3600,
    user: 'deploy',
  });
  return body.length >= 200 ? body : body.slice(0, -1) + `,"pad":"${'x'.repeat(200 - body.length - 9)}"}`;
}

/** Runs the Chef signing benchmarks (RSA-2048, PEM keys as a server gets them) and returns their results; prints nothing. */
export async function benchChefAuth(): Promise<BenchResult[]> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privatePem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const body = jobBody();
  const path = '/organizations/acme/pushy/jobs';
  const sign = (): Record<string, string> =>
    signRequest({
      method: 'POST',
      path,
      body,
      userId: 'deploy',
      privateKey: privatePem,
      serverApiVersion: 1,
    });
  const req = { method: 'POST', path, body, headers: sign() };
  const keys = [publicPem];
  let sink = 0;

  const results: BenchResult[] = [];
  results.push(
    await measure(`chef-auth v1.3 verifyRequest (${Buffer.byteLength(body)} B JSON body, 1 PEM key)`, () => {
      const result = verifyRequest(req, keys);
      if (!result.ok) throw new Error(`chef-auth benchmark: verification failed: ${result.message}`);
    }),
  );
  results.push(
    await measure('chef-auth v1.3 signRequest (RSA-2048)', () => {
      sink += sign()['X-Ops-Authorization-1']?.length ?? 0;
    }),
  );
  if (sink === 0) throw new Error('chef-auth benchmark: signing produced no signature');
  return results;
}
