// `push-jobs-server node import`: the real, built command as a child process, writing into the
// store of a running push server, whose search then finds the imported nodes.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { PushFixture } from '@push-jobs/testing/push-server';

const SERVER_DIR = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(SERVER_DIR, 'bin', 'push-jobs-server.js');
const KNIFE = fileURLToPath(new URL('./fixtures/knife', import.meta.url));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PUSH_JOBS_')) env[k] = v;
  return env;
}

interface ImportJson {
  org: string;
  dryRun: boolean;
  imported: string[];
  replaced: string[];
  skipped: { name: string; reason: string }[];
}

describe('push-jobs-server node import', function () {
  this.timeout(120_000);
  let h: PushFixture;
  let dir: string;

  before(async () => {
    h = await PushFixture.start({ tempPrefix: 'pj-node-import-' });
    dir = mkdtempSync(join(tmpdir(), 'pj-node-import-in-'));
  });
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function run(...args: string[]): Promise<Result> {
    const store = ['--data-dir', h.dataDir, '--database-url', 'push-jobs.sqlite'];
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [MAIN, 'node', 'import', ...args, ...store], {
        cwd: SERVER_DIR,
        env: cleanEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  async function runJson(...args: string[]): Promise<ImportJson> {
    const r = await run(...args, '--json');
    expect(r.code, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as ImportJson;
  }

  const search = async (q: string): Promise<string[]> => {
    const res = await h.request('GET', `/organizations/${h.org}/search/node?q=${encodeURIComponent(q)}`);
    expect(res.status).to.equal(200);
    return (res.json as { rows: { name: string }[] }).rows.map((r) => r.name).sort();
  };

  const nodeNames = async (): Promise<string[]> => (await h.store.listNodeNames(h.org)).sort();

  it('imports knife node show output, an array and a knife download directory; search finds them', async () => {
    const one = await run(join(KNIFE, 'web1.json'), '--org', h.org);
    expect(one.code, one.stderr).to.equal(0);
    expect(one.stdout).to.equal(`imported 1, replaced 0, skipped 0 in org ${h.org}\n`);
    const several = await runJson(join(KNIFE, 'several.json'), '--org', h.org);
    expect(several).to.deep.equal({
      org: h.org,
      dryRun: false,
      imported: ['db1', 'web2'],
      replaced: [],
      skipped: [],
    });
    // The repository root: its nodes/ directory is read; app2.json has no name (its file names it).
    const repo = await runJson(join(KNIFE, 'repo'), '--org', h.org);
    expect(repo.imported).to.deep.equal(['app1', 'app2']);
    expect(await nodeNames()).to.deep.equal(['app1', 'app2', 'db1', 'web1', 'web2']);

    const web1 = await h.store.getNode(h.org, 'web1');
    expect(web1?.chef_environment).to.equal('production');
    expect(web1?.run_list).to.deep.equal(['role[base]', 'role[web]']);
    expect(web1?.default).to.deep.equal({ nginx: { port: 80 } });

    expect(await search('platform:debian AND tags:web')).to.deep.equal(['app1', 'web1']);
    expect(await search('platform_family:debian AND tags:web')).to.deep.equal(['app1', 'web1', 'web2']);
    expect(await search('role:web')).to.deep.equal(['web1']);
    expect(await search('roles:web')).to.deep.equal(['web1']);
    expect(await search('platform_family:rhel')).to.deep.equal(['db1']);
    expect(await search('policy_group:prod AND policy_name:webapp')).to.deep.equal(['web2']);
    expect(await search('chef_environment:staging')).to.deep.equal(['app1', 'app2']);
  });

  it('skips existing nodes by default, replaces them with --replace, and --dry-run writes nothing', async () => {
    const skipped = await run(join(KNIFE, 'web1.json'), '--org', h.org);
    expect(skipped.code, skipped.stderr).to.equal(0);
    expect(skipped.stdout).to.equal(
      `imported 0, replaced 0, skipped 1 (web1: already exists (use --replace)) in org ${h.org}\n`,
    );
    const changed = join(dir, 'web1-changed.json');
    writeFileSync(changed, JSON.stringify({ name: 'web1', normal: { tags: ['moved'] }, run_list: [] }));
    const fresh = join(dir, 'map.json');
    writeFileSync(fresh, JSON.stringify({ map1: { json_class: 'Chef::Node', normal: { tags: ['m'] } } }));
    const dry = await runJson(changed, '--org', h.org, '--replace', '--dry-run');
    expect(dry).to.deep.include({ dryRun: true, replaced: ['web1'] });
    const dryText = await run(fresh, '--org', h.org, '--dry-run');
    expect(dryText.stdout).to.equal(`would import 1, replaced 0, skipped 0 in org ${h.org}\n`);
    expect(await search('tags:moved OR tags:m')).to.deep.equal([]);
    expect(await nodeNames()).to.not.include('map1');

    const replaced = await runJson(changed, '--org', h.org, '--replace');
    expect(replaced.replaced).to.deep.equal(['web1']);
    expect(await search('tags:moved')).to.deep.equal(['web1']);
    expect(await search('platform:debian AND tags:web')).to.deep.equal(['app1']);
    expect((await runJson(fresh, '--org', h.org)).imported).to.deep.equal(['map1']);
    expect(await search('tags:m')).to.deep.equal(['map1']);
  });

  it('rejects bad input naming the file and writes nothing', async () => {
    const bad = join(dir, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'a-ok.json'), JSON.stringify({ name: 'okay1', normal: {} }));
    writeFileSync(join(bad, 'b-name.json'), JSON.stringify({ name: 'bad name!', normal: {} }));
    writeFileSync(join(bad, 'c-level.json'), JSON.stringify({ name: 'lvl', normal: ['x'] }));
    writeFileSync(join(bad, 'd-class.json'), JSON.stringify({ name: 'cls', json_class: 'Chef::Role' }));
    writeFileSync(join(bad, 'e-notjson.json'), '{"name": ');
    writeFileSync(
      join(bad, 'f-big.json'),
      JSON.stringify({ name: 'big', normal: { blob: 'x'.repeat(1_000_001) } }),
    );
    writeFileSync(join(bad, 'g-dup.json'), JSON.stringify([{ name: 'okay1' }]));
    writeFileSync(join(bad, 'h-map.json'), JSON.stringify({ key1: { name: 'other' } }));
    writeFileSync(join(bad, 'i-runlist.json'), JSON.stringify({ name: 'rl', run_list: 'role[web]' }));
    const r = await run(bad, '--org', h.org);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.equal(
      'error: nothing imported: 8 invalid node inputs: ' +
        [
          `${join(bad, 'b-name.json')}: Field 'name' invalid (1-255 characters: letters, digits, '_', '.', ':', '-')`,
          `${join(bad, 'c-level.json')}: Field 'normal' invalid`,
          `${join(bad, 'd-class.json')}: json_class is 'Chef::Role', not 'Chef::Node'`,
          `${join(bad, 'e-notjson.json')}: not JSON (Unexpected end of JSON input)`,
          `${join(bad, 'f-big.json')}: node is 1000036 bytes, over the 1000000-byte bound`,
          `${join(bad, 'g-dup.json')}[0]: node 'okay1' also given in ${join(bad, 'a-ok.json')}`,
          `${join(bad, 'h-map.json')} (key 'key1'): name 'other' differs from its key 'key1'`,
          `${join(bad, 'i-runlist.json')}: Field 'run_list' is not a valid run list`,
        ].join('; ') +
        '\n',
    );
    expect(await nodeNames()).to.not.include('okay1');

    const missing = await run(join(dir, 'nope.json'), '--org', h.org);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/^error: cannot read .*nope\.json: ENOENT/);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expect((await run(empty, '--org', h.org)).stderr).to.equal(`error: no *.json node files in ${empty}\n`);
    const noOrg = await run(join(KNIFE, 'web1.json'), '--org', 'nosuch');
    expect(noOrg.code).to.equal(1);
    expect(noOrg.stderr).to.match(/nosuch/);
    const both = await run(join(KNIFE, 'web1.json'), '--org', h.org, '--replace', '--skip-existing');
    expect(both.code).to.equal(2);
  });
});
