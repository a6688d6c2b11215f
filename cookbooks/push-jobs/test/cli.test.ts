// `push-jobs-cookbook apply`: flags, attribute files, output, exit codes; in-process through
// runCli, and once through the real executable (built lib).
import { spawnSync } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runCli, type ConvergeReport } from '../src/index.js';
import { removeDir, tempDir } from './helpers/temp.js';

const BIN = fileURLToPath(new URL('../bin/push-jobs-cookbook.js', import.meta.url));
const SERVER = 'https://push.example.com/organizations/acme';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  // Colours, where the environment asks for them (FORCE_COLOR under a test runner), aside.
  return { code, stdout: stripVTControlCharacters(stdout), stderr: stripVTControlCharacters(stderr) };
}

describe('push-jobs-cookbook apply', () => {
  let root: string;
  let work: string;
  beforeEach(() => {
    root = tempDir('cli-root');
    work = tempDir('cli-work');
  });
  afterEach(() => {
    removeDir(root);
    removeDir(work);
  });

  function attrsFile(doc: unknown, name = 'node.json'): string {
    const file = join(work, name);
    writeFileSync(file, JSON.stringify(doc));
    return file;
  }

  const base = (): string[] => [
    'apply',
    '--root',
    root,
    '--platform-family',
    'debian',
    '--recipe',
    'config,service',
  ];

  it('prints usage for --help', async () => {
    const r = await cli(['--help']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^USAGE\n {2}\$ push-jobs-cookbook apply /m);
    for (const flag of [
      '--attributes',
      '--server',
      '--node',
      '--key',
      '--from-server',
      '--root',
      '--why-run',
      '--recipe',
      '--json',
      '--platform-family',
    ]) {
      expect(r.stdout).to.include(flag);
    }
  });

  for (const [args, message] of [
    [[], 'missing command'],
    [['converge'], "unknown command 'converge'"],
    [['apply', '--bogus'], "Unknown option '--bogus'"],
    [
      ['apply', '--platform-family', 'windows'],
      '--platform-family windows is not supported (use debian, rhel, suse, amazon)',
    ],
    [
      ['apply', '--init-system', 'upstart'],
      '--init-system upstart is not supported (use systemd, sysvinit, runit)',
    ],
  ] as const) {
    it(`exits 2 for a usage error: ${JSON.stringify(args)}`, async () => {
      const r = await cli([...args]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include(message);
      expect(r.stderr).to.include('Run push-jobs-cookbook --help for usage.');
    });
  }

  it('converges from a chef-solo -j file plus flags, printing each resource and a summary', async () => {
    const file = attrsFile({ push_jobs: { whitelist: { uptime: 'uptime' } }, other_cookbook: { x: 1 } });
    const first = await cli([...base(), '-j', file, '--server', SERVER, '--node', 'web1']);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.include('Recipe: push-jobs::config\n');
    expect(first.stdout).to.include('  * template[/etc/chef/push-jobs-client.rb] action create\n');
    expect(first.stdout).to.match(
      /push-jobs-cookbook finished, 8\/9 resources updated in \d+\.\d\d seconds\n$/,
    );
    const config = readFileSync(join(root, 'etc/chef/push-jobs-client.rb'), 'utf8');
    expect(config).to.include(`chef_server_url   '${SERVER}'`);
    expect(config).to.include('whitelist({"chef-client"=>"chef-client", "uptime"=>"uptime"})');
    const second = await cli([...base(), '-j', file, '--server', SERVER, '--node', 'web1']);
    expect(second.code).to.equal(0);
    expect(second.stdout).to.match(/finished, 0\/8 resources updated in/);
  });

  it('flags win over every level of the attribute files', async () => {
    const file = attrsFile({
      default: { push_jobs: { logging_level: 'debug' } },
      normal: { push_jobs: { chef: { node_name: 'from-file', chef_server_url: SERVER } } },
      override: { push_jobs: { chef: { node_name: 'from-override' }, logging_level: 'warn' } },
    });
    const r = await cli([...base(), '-j', file, '--node', 'from-flag', '--key', '/etc/push/key.pem']);
    expect(r.code, r.stderr).to.equal(0);
    const config = readFileSync(join(root, 'etc/chef/push-jobs-client.rb'), 'utf8');
    expect(config).to.include("node_name         'from-flag'");
    expect(config).to.include("client_key        '/etc/push/key.pem'");
    expect(readFileSync(join(root, 'etc/systemd/system/chef-push-jobs-client.service'), 'utf8')).to.include(
      ' -l warn ',
    );
    expect(existsSync(join(root, 'etc/push'))).to.equal(true);
  });

  it('--why-run shows the changes and writes nothing', async () => {
    const r = await cli([...base(), '--why-run', '--server', SERVER, '--node', 'web1']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.include('Starting push-jobs-cookbook run (why-run)');
    expect(r.stdout).to.include('    - Would create new file /etc/chef/push-jobs-client.rb');
    expect(r.stdout).to.include("    +node_name         'web1'");
    expect(r.stdout).to.match(/finished \(why-run\), 8\/9 resources would have been updated/);
    expect(readdirSync(root)).to.deep.equal([]);
  });

  it('--json prints the report on stdout and the progress on stderr', async () => {
    const r = await cli([...base(), '--json', '--server', SERVER, '--node', 'web1']);
    expect(r.code).to.equal(0);
    const report = JSON.parse(r.stdout) as ConvergeReport;
    expect(report).to.deep.include({
      success: true,
      updatedCount: 8,
      totalCount: 9,
      recipes: ['config', 'service'],
    });
    expect(report.resources[0]).to.deep.include({
      name: 'directory[/etc/chef]',
      action: 'create',
      updated: true,
    });
    expect(r.stderr).to.include('Recipe: push-jobs::config');
  });

  it('exits 1 for bad attributes, naming the attribute, with the error in --json', async () => {
    const file = attrsFile({ push_jobs: { whitelist: ['chef-client'] } });
    const r = await cli([...base(), '-j', file, '--server', SERVER, '--node', 'web1']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal(
      'push-jobs-cookbook: ERROR: push_jobs.whitelist should have a hash value! (got an array)\n',
    );
    const j = await cli([...base(), '--json', '-j', file, '--server', SERVER, '--node', 'web1']);
    expect(j.code).to.equal(1);
    expect(JSON.parse(j.stdout)).to.deep.include({
      error: {
        message: 'push_jobs.whitelist should have a hash value! (got an array)',
        code: 'PJ_ERR_CONFIG',
      },
    });
    expect(readdirSync(root)).to.deep.equal([]);
  });

  it('exits 1 naming a missing attributes file or node name', async () => {
    const missing = await cli([...base(), '-j', join(work, 'nope.json')]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/ERROR: cannot read attributes file .*nope\.json/);
    const noNode = await cli([...base(), '--server', SERVER]);
    expect(noNode.code).to.equal(1);
    expect(noNode.stderr).to.include(
      'push_jobs.chef.node_name is not set (set the attribute or pass --node NAME)',
    );
  });

  it('runs as an executable with the same exit codes', () => {
    const ok = spawnSync(process.execPath, [BIN, ...base(), '--server', SERVER, '--node', 'web1'], {
      encoding: 'utf8',
    });
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(/push-jobs-cookbook finished, 8\/9 resources updated/);
    const bad = spawnSync(
      process.execPath,
      [BIN, ...base(), '--server', 'https://no-org.example.com', '--node', 'web1'],
      {
        encoding: 'utf8',
      },
    );
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.include(
      'push_jobs.chef.chef_server_url must be an http(s) URL ending in /organizations/ORG_NAME',
    );
    expect(spawnSync(process.execPath, [BIN], { encoding: 'utf8' }).status).to.equal(2);
  });
});
