import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadOrCreateServerId, serverIdPath } from '../src/keys/server-id.js';

describe('loadOrCreateServerId', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pj-server-id-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes 32 hex digits on first start and keeps them', async () => {
    const first = await loadOrCreateServerId(dir);
    expect(first).to.match(/^[0-9a-f]{32}$/);
    expect(readFileSync(serverIdPath(dir), 'utf8')).to.equal(`${first}\n`);
    expect(await loadOrCreateServerId(dir)).to.equal(first);
  });

  it('two starts at once agree on one id (the file is never replaced)', async () => {
    const ids = await Promise.all([loadOrCreateServerId(dir), loadOrCreateServerId(dir)]);
    expect(ids[0]).to.equal(ids[1]);
  });

  it('refuses a file that does not hold an id, naming it, and leaves it alone', async () => {
    writeFileSync(serverIdPath(dir), 'not an id\n');
    let error: unknown;
    await loadOrCreateServerId(dir).catch((e: unknown) => (error = e));
    expect(String(error)).to.include(serverIdPath(dir));
    expect(readFileSync(serverIdPath(dir), 'utf8')).to.equal('not an id\n');
  });
});
