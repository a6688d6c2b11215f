// Reading a package tarball's package.json without unpacking it: the formats tar writes, and
// what a hostile tarball is refused for (links, paths out of the package, size bombs, bad headers).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { readTarballPackage, TarballError, type TarballLimits } from '../src/converge/tarball.js';

const PKG = JSON.stringify({ name: '@push-jobs/agent', version: '1.2.3' });

describe('readTarballPackage', () => {
  let dir: string;
  let n = 0;

  /** A work dir laid out by `files` (path -> text), packed with `tar -czf` and `args`. */
  function pack(files: Record<string, string>, args: string[], lay?: (work: string) => void): string {
    const work = join(dir, `work${++n}`);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(work, path, '..'), { recursive: true });
      writeFileSync(join(work, path), text);
    }
    lay?.(work);
    const out = join(dir, `p${n}.tgz`);
    execFileSync('tar', ['-czf', out, '-C', work, ...args]);
    return out;
  }

  async function refusal(path: string, limits?: TarballLimits): Promise<TarballError> {
    try {
      await readTarballPackage(path, limits);
    } catch (err) {
      expect(err).to.be.instanceOf(TarballError);
      return err as TarballError;
    }
    throw new Error(`expected ${path} to be refused`);
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pj-cookbook-tar-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads name, version and the SHA-256 of the whole file', async () => {
    const path = pack({ 'package/package.json': PKG, 'package/lib/index.js': 'x' }, ['package']);
    expect(await readTarballPackage(path)).to.deep.equal({
      path,
      name: '@push-jobs/agent',
      version: '1.2.3',
      sha256: createHash('sha256').update(readFileSync(path)).digest('hex'),
    });
  });

  for (const format of ['gnu', 'pax', 'ustar']) {
    it(`reads a package.json under a long top directory (${format} format)`, async () => {
      const top = `p${'x'.repeat(format === 'ustar' ? 60 : 140)}`;
      const path = pack({ [`${top}/package.json`]: PKG }, [`--format=${format}`, top]);
      expect((await readTarballPackage(path)).version).to.equal('1.2.3');
    });
  }

  it('takes the first package.json at depth one and ignores deeper ones', async () => {
    const path = pack(
      {
        'package/node_modules/dep/package.json': JSON.stringify({ name: 'dep', version: '9.9.9' }),
        'package/package.json': PKG,
      },
      ['package/node_modules', 'package/package.json'],
    );
    expect((await readTarballPackage(path)).name).to.equal('@push-jobs/agent');
  });

  it('refuses a package.json that is a symbolic or hard link', async () => {
    const sym = pack({}, ['package'], (work) => {
      mkdirSync(join(work, 'package'), { recursive: true });
      symlinkSync('/etc/passwd', join(work, 'package', 'package.json'));
    });
    expect((await refusal(sym)).message).to.equal(
      `${sym}: package/package.json is a SymbolicLink, not a regular file`,
    );
    const hard = pack({ 'package/a.json': PKG }, ['package/a.json', 'package/package.json'], (work) => {
      linkSync(join(work, 'package', 'a.json'), join(work, 'package', 'package.json'));
    });
    expect((await refusal(hard)).message).to.equal(
      `${hard}: package/package.json is a Link, not a regular file`,
    );
  });

  it('does not take a package.json from outside a top directory', async () => {
    const up = pack({ 'package/package.json': PKG }, [
      '-P',
      '--transform=s,^package,..,',
      'package/package.json',
    ]);
    expect(
      execFileSync('tar', ['-tzf', up], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    ).to.equal('../package.json\n');
    expect((await refusal(up)).message).to.match(/has no package\/package\.json/);
    const abs = pack({ 'package/package.json': PKG }, [
      '-P',
      '--transform=s,^package,/package,',
      'package/package.json',
    ]);
    expect((await refusal(abs)).message).to.match(/has no package\/package\.json/);
  });

  it('refuses a package.json larger than its bound, and a tarball unpacking past its bound', async () => {
    const big = pack({ 'package/package.json': `${PKG}${' '.repeat(4096)}` }, ['package']);
    expect((await refusal(big, { maxPackageJsonBytes: 4096 })).message).to.equal(
      `${big}: package/package.json is larger than 4096 bytes`,
    );
    const bomb = pack({ 'package/filler.bin': '\0'.repeat(2 * 1024 * 1024), 'package/package.json': PKG }, [
      'package/filler.bin',
      'package/package.json',
    ]);
    expect((await refusal(bomb, { maxUnpackedBytes: 1024 * 1024 })).message).to.equal(
      `${bomb} unpacks to more than 1048576 bytes`,
    );
    // Within the bound, the same file reads.
    expect((await readTarballPackage(bomb)).version).to.equal('1.2.3');
  });

  it('refuses what is not a gzipped tarball, a truncated one, or one with a bad header', async () => {
    const text = join(dir, 'text.tgz');
    writeFileSync(text, 'not gzip at all');
    expect((await refusal(text)).message).to.equal(`${text} is not a gzipped tarball`);

    const good = pack({ 'package/package.json': PKG }, ['package']);
    const cut = join(dir, 'cut.tgz');
    const whole = readFileSync(good);
    writeFileSync(cut, whole.subarray(0, whole.length - 12));
    expect((await refusal(cut)).message).to.equal(`${cut} is not a gzipped tarball`);

    const tar = gunzipSync(whole);
    tar[0] = tar[0]! ^ 0x01; // the first header's name: its checksum no longer matches
    const bad = join(dir, 'bad.tgz');
    writeFileSync(bad, gzipSync(tar));
    expect((await refusal(bad)).message).to.match(/^.*bad\.tgz is not a valid tarball \(/);
  });

  it('names a package.json that is not JSON or lacks name or version', async () => {
    const notJson = pack({ 'package/package.json': '{ nope' }, ['package']);
    expect((await refusal(notJson)).message).to.equal(`${notJson}: package.json is not valid JSON`);
    const noVersion = pack({ 'package/package.json': '{"name":"x"}' }, ['package']);
    expect((await refusal(noVersion)).message).to.equal(`${noVersion}: package.json has no name or version`);
  });
});
