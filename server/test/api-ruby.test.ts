import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { type ApiHarness, startApi } from './helpers/api.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/mixlib-sign.rb', import.meta.url));

interface SignOp {
  key: string;
  method: string;
  path: string;
  body: string;
  userId: string;
  version: string;
}

function rubySign(ops: SignOp[]): Array<Record<string, string>> {
  const child = spawnSync('ruby', [SCRIPT], {
    input: JSON.stringify(ops),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (child.error)
    throw new Error(`cannot run ruby (install ruby and ruby-mixlib-authentication): ${child.error.message}`);
  if (child.status !== 0) throw new Error(`ruby signing failed (exit ${child.status}): ${child.stderr}`);
  return JSON.parse(child.stdout) as Array<Record<string, string>>;
}

describe('API accepts requests signed by Ruby mixlib-authentication (knife, the Ruby client)', function () {
  let api: ApiHarness;
  let dir: string;
  let keyPath: string;
  before(async () => {
    api = await startApi();
    dir = mkdtempSync(join(tmpdir(), 'pj-ruby-'));
    keyPath = join(dir, 'alice.pem');
    writeFileSync(keyPath, api.admin.privateKey, { mode: 0o600 });
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await api.close();
  });

  it('GET and POST signed with versions 1.0, 1.1 and 1.3 succeed; a tampered one fails', async () => {
    const path = '/organizations/acme/pushy/jobs';
    const body = JSON.stringify({ command: 'chef-client', nodes: ['web1'] });
    const ops: SignOp[] = [];
    for (const version of ['1.0', '1.1', '1.3']) {
      ops.push({ key: keyPath, method: 'GET', path, body: '', userId: 'alice', version });
      ops.push({ key: keyPath, method: 'POST', path, body, userId: 'alice', version });
    }
    const signed = rubySign(ops);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const headers = { ...signed[i]!, accept: 'application/json', 'content-type': 'application/json' };
      const res = await api.app.inject({
        method: op.method as 'GET',
        url: path,
        headers,
        ...(op.method === 'POST' ? { payload: body } : {}),
      });
      expect(res.statusCode, `${op.method} v${op.version}: ${res.body}`).to.equal(
        op.method === 'POST' ? 201 : 200,
      );
    }
    const [tampered] = rubySign([
      { key: keyPath, method: 'POST', path, body, userId: 'alice', version: '1.3' },
    ]);
    const res = await api.app.inject({
      method: 'POST',
      url: path,
      headers: { ...tampered!, 'content-type': 'application/json' },
      payload: body.replace('web1', 'web2'),
    });
    expect(res.statusCode).to.equal(401);
    expect(await api.store.listJobs('acme')).to.have.length(3);
  });
});
