/**
 * The Node.js step, run for real against a local stand-in for nodejs.org: it downloads the
 * build listed in SHASUMS256.txt, checks its checksum, unpacks it, links `node` for services,
 * and the delete undoes all of it once the last user is gone.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { nodeStep, type NodeStepInput } from '../src/host/node.js';
import { runShell } from './host-runner.js';

const ARCH = process.arch === 'arm64' ? 'arm64' : 'x64';

describe('the Node.js step, against a local Node.js download site', () => {
  let dir: string;
  let root: string;
  let server: Server;
  let base: string;
  const requests: string[] = [];
  let shasums: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pj-dist-'));
    const name = `node-v99.1.0-linux-${ARCH}`;
    mkdirSync(join(dir, name, 'bin'), { recursive: true });
    // A stand-in node: answers the version questions the scripts ask.
    writeFileSync(
      join(dir, name, 'bin', 'node'),
      '#!/bin/sh\ncase "$1" in --version) echo v99.1.0 ;; -p) echo 99 ;; esac\n',
      { mode: 0o755 },
    );
    execFileSync('tar', ['-czf', join(dir, `${name}.tar.gz`), '-C', dir, name]);
    const archive = readFileSync(join(dir, `${name}.tar.gz`));
    const sum = createHash('sha256').update(archive).digest('hex');
    shasums = [
      `${'0'.repeat(64)}  node-v99.1.0-linux-armv7l.tar.gz`,
      `${sum}  ${name}.tar.gz`,
      `${'1'.repeat(64)}  ${name}.tar.xz`,
    ].join('\n');
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/dist/latest-v99.x/SHASUMS256.txt') res.end(shasums);
      else if (req.url === `/dist/latest-v99.x/${name}.tar.gz`) res.end(archive);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dist`;
  });

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pj-root-'));
    requests.length = 0;
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  function step(user: string, nodeMajor = 99): { create: string; delete: string } {
    const input: NodeStepInput = {
      nodeHome: join(root, 'opt/push-jobs-node'),
      linkDir: join(root, 'usr/local/bin'),
      nodeMajor,
      nodeDistUrl: base,
      user,
      label: `${user}-node`,
      runAs: { sudo: false },
    };
    const s = nodeStep(input);
    return { create: s.create, delete: s.delete! };
  }

  it('downloads, verifies and unpacks Node.js when the host has none recent enough, and links it', async () => {
    const result = await runShell(step('a').create, { cwd: root });
    expect(result.stderr).to.equal('');
    expect(result.code).to.equal(0);
    expect(result.stdout).to.include(`installed node v99.1.0 in ${join(root, 'opt/push-jobs-node')}`);
    expect(requests).to.deep.equal([
      '/dist/latest-v99.x/SHASUMS256.txt',
      `/dist/latest-v99.x/node-v99.1.0-linux-${ARCH}.tar.gz`,
    ]);
    expect(readlinkSync(join(root, 'usr/local/bin/node'))).to.equal(
      join(root, 'opt/push-jobs-node/bin/node'),
    );
    const again = await runShell(step('a').create, { cwd: root });
    expect(again.stdout).to.include('using node v99.1.0');
    expect(requests).to.have.length(2);
  });

  it('refuses a download whose checksum does not match', async () => {
    const good = shasums;
    shasums = shasums.replace(
      /^[0-9a-f]{64}(?= {2}node-v99.1.0-linux-(x64|arm64)\.tar\.gz)/m,
      'f'.repeat(64),
    );
    try {
      const result = await runShell(step('a').create, { cwd: root });
      expect(result.code).to.equal(1);
      expect(result.stderr).to.include(`does not match its SHA-256 in ${base}/latest-v99.x/SHASUMS256.txt`);
      expect(existsSync(join(root, 'opt/push-jobs-node/bin/node'))).to.equal(false);
    } finally {
      shasums = good;
    }
  });

  it('uses the host node when it is recent enough, downloading nothing', async () => {
    const result = await runShell(step('a', 20).create, { cwd: root });
    expect(result.code).to.equal(0);
    expect(result.stdout).to.match(/^using node v\d+/);
    expect(requests).to.deep.equal([]);
  });

  it('says what to do when the download site cannot be reached', async () => {
    const s = nodeStep({
      nodeHome: join(root, 'opt/push-jobs-node'),
      linkDir: join(root, 'usr/local/bin'),
      nodeMajor: 99,
      nodeDistUrl: 'http://127.0.0.1:1/dist',
      user: 'a',
      label: 'a-node',
      runAs: { sudo: false },
    });
    const result = await runShell(s.create, { cwd: root });
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include(
      'a-node: cannot download http://127.0.0.1:1/dist/latest-v99.x/SHASUMS256.txt; set nodeDistUrl',
    );
  });

  it('removes Node.js and its link when the last component using it is deleted', async () => {
    for (const user of ['server', 'agent'])
      expect((await runShell(step(user).create, { cwd: root })).code).to.equal(0);
    expect((await runShell(step('server').delete, { cwd: root })).code).to.equal(0);
    expect(existsSync(join(root, 'opt/push-jobs-node/bin/node'))).to.equal(true);
    expect((await runShell(step('agent').delete, { cwd: root })).code).to.equal(0);
    expect(existsSync(join(root, 'opt/push-jobs-node'))).to.equal(false);
    expect(() => lstatSync(join(root, 'usr/local/bin/node'))).to.throw(/ENOENT/);
  });
});
