// The converge engine under a temp root: idempotence, notifications, why-run, drift, backups,
// the key file and failures. npm is faked here (see install-real in agent-e2e.test.ts for the
// real one); service actions go to the recording manager.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  converge,
  CookbookError,
  INSTALL_STATE_FILE,
  type ConvergeOptions,
  type ConvergeReport,
  type PushJobsAttributesInput,
} from '../src/index.js';
import { fakeNpm, makeTarball, type FakeNpmCall } from './helpers/fake-npm.js';
import { modeOf, readTree, removeDir, tempDir } from './helpers/temp.js';

const SERVER = 'https://push.example.com/organizations/acme';
const TEST_KEY =
  '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----\n';

async function failure(promise: Promise<unknown>): Promise<CookbookError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(CookbookError);
    return err as CookbookError;
  }
  expect.fail('expected the converge to fail');
}

function entry(report: ConvergeReport, name: string, action?: string): ConvergeReport['resources'][number] {
  const found = report.resources.find(
    (r) => r.name === name && (action === undefined || r.action === action),
  );
  expect(found, `${name} ${action ?? ''} in the report`).to.not.equal(undefined);
  return found!;
}

describe('converge', () => {
  let root: string;
  let work: string;
  let calls: FakeNpmCall[];
  let tarballs: string[];
  let keySource: string;
  let logLines: string[];

  beforeEach(() => {
    root = tempDir('root');
    work = tempDir('work');
    calls = [];
    logLines = [];
    tarballs = [
      makeTarball(work, '@push-jobs/agent', '0.1.0'),
      makeTarball(work, '@push-jobs/protocol', '0.1.0'),
    ];
    keySource = join(work, 'client.pem');
    writeFileSync(keySource, TEST_KEY);
  });
  afterEach(() => {
    removeDir(root);
    removeDir(work);
  });

  function attrs(extra: Record<string, unknown> = {}): PushJobsAttributesInput {
    return {
      chef: { chef_server_url: SERVER, node_name: 'web1', client_key_source: keySource },
      local_package_path: tarballs,
      ...extra,
    };
  }

  function options(extra: Partial<ConvergeOptions> = {}): ConvergeOptions {
    return {
      root,
      platformFamily: 'debian',
      commandRunner: fakeNpm(calls),
      log: (line) => logLines.push(line),
      ...extra,
    };
  }

  const actionsLog = (): string[] => {
    const path = join(root, 'var/lib/push-jobs-cookbook/service-actions.log');
    return existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n') : [];
  };

  describe('a full converge', () => {
    it('installs, configures and starts, with the right modes and owners, and reports each resource', async () => {
      const report = await converge(attrs(), options());
      expect(report.success).to.equal(true);
      expect(report.resources.map((r) => `${r.name} ${r.action} ${r.updated}`)).to.deep.equal([
        'push_jobs_package[@push-jobs/agent] install true',
        'directory[/etc/chef] create true',
        'directory[/var/log/chef] create true',
        'template[/etc/chef/push-jobs-client.rb] create true',
        'file[/etc/chef/client.pem] create true',
        'directory[/etc/systemd/system] create true',
        'template[/etc/systemd/system/chef-push-jobs-client.service] create true',
        'service[chef-push-jobs-client] daemon_reload true',
        'service[chef-push-jobs-client] enable true',
        'service[chef-push-jobs-client] start true',
      ]);
      expect(report.updatedCount).to.equal(10);
      expect(report.totalCount).to.equal(10);
      expect(report).to.deep.include({
        whyRun: false,
        platformFamily: 'debian',
        initSystem: 'systemd',
        root,
      });

      expect(modeOf(join(root, 'etc/chef'))).to.equal('755');
      expect(modeOf(join(root, 'etc/chef/push-jobs-client.rb'))).to.equal('644');
      expect(modeOf(join(root, 'etc/chef/client.pem'))).to.equal('600');
      expect(modeOf(join(root, 'etc/systemd/system/chef-push-jobs-client.service'))).to.equal('644');
      expect(readFileSync(join(root, 'etc/chef/client.pem'), 'utf8')).to.equal(TEST_KEY);
      if (process.getuid?.() === 0)
        expect(statSync(join(root, 'etc/chef/push-jobs-client.rb')).uid).to.equal(0);
      expect(existsSync(join(root, 'opt/push-jobs/node_modules/.bin/push-jobs-client'))).to.equal(true);
      expect(
        JSON.parse(readFileSync(join(root, 'opt/push-jobs', INSTALL_STATE_FILE), 'utf8')),
      ).to.deep.include({
        package: '@push-jobs/agent',
        source: 'tarball',
        installed: '0.1.0',
      });
      expect(actionsLog()).to.deep.equal([
        'systemd daemon-reload',
        'systemd enable chef-push-jobs-client',
        'systemd start chef-push-jobs-client',
      ]);
      // Started in this run: the delayed restart is not needed.
      expect(logLines.join('\n')).to.include('action restart (skipped: the service was started in this run');
    });

    it('is idempotent: a second converge changes nothing and reports 0 updated', async () => {
      await converge(attrs(), options());
      const before = readTree(root);
      const npmCalls = calls.length;
      const report = await converge(attrs(), options());
      expect(report.updatedCount).to.equal(0);
      expect(report.resources.every((r) => !r.updated)).to.equal(true);
      expect(report.totalCount).to.equal(9);
      expect(calls.length).to.equal(npmCalls);
      expect(readTree(root)).to.deep.equal(before);
      expect(actionsLog()).to.have.length(3);
    });

    it('never puts the key in the report or the log', async () => {
      const report = await converge(attrs(), options());
      const key = entry(report, 'file[/etc/chef/client.pem]');
      expect(key.diff).to.equal('(sensitive content of /etc/chef/client.pem suppressed)');
      expect(JSON.stringify(report)).to.not.include('PRIVATE KEY');
      expect(logLines.join('\n')).to.not.include('PRIVATE KEY');
    });
  });

  describe('notifications', () => {
    it('a whitelist-only change reloads the agent (SIGHUP), once, at the end', async () => {
      await converge(attrs(), options());
      const report = await converge(attrs({ whitelist: { uptime: 'uptime' } }), options());
      expect(report.resources.filter((r) => r.updated).map((r) => `${r.name} ${r.action}`)).to.deep.equal([
        'template[/etc/chef/push-jobs-client.rb] create',
        'service[chef-push-jobs-client] reload',
      ]);
      expect(entry(report, 'service[chef-push-jobs-client]', 'reload').notifiedBy).to.equal(
        'template[/etc/chef/push-jobs-client.rb]',
      );
      const diff = entry(report, 'template[/etc/chef/push-jobs-client.rb]').diff!;
      expect(diff).to.include('-whitelist({"chef-client"=>"chef-client"})');
      expect(diff).to.include('+whitelist({"chef-client"=>"chef-client", "uptime"=>"uptime"})');
      expect(actionsLog().at(-1)).to.equal('systemd reload chef-push-jobs-client');
    });

    it('any other config change restarts the agent; a restart covers a reload', async () => {
      await converge(attrs(), options());
      const report = await converge(
        attrs({
          whitelist: { uptime: 'uptime' },
          chef: { chef_server_url: SERVER, node_name: 'web2', client_key_source: keySource },
        }),
        options(),
      );
      expect(report.resources.filter((r) => r.notifiedBy !== undefined).map((r) => r.action)).to.deep.equal([
        'restart',
      ]);
      expect(actionsLog().slice(3)).to.deep.equal(['systemd restart chef-push-jobs-client']);
    });

    it('a changed unit reloads systemd at once and restarts the service at the end', async () => {
      await converge(attrs(), options());
      const report = await converge(attrs({ environment_variables: { LC_ALL: 'C.UTF-8' } }), options());
      expect(report.resources.filter((r) => r.updated).map((r) => `${r.name} ${r.action}`)).to.deep.equal([
        'template[/etc/chef/push-jobs-client.rb] create',
        'template[/etc/systemd/system/chef-push-jobs-client.service] create',
        'service[chef-push-jobs-client] daemon_reload',
        'service[chef-push-jobs-client] restart',
      ]);
      expect(actionsLog().slice(3)).to.deep.equal([
        'systemd daemon-reload',
        'systemd restart chef-push-jobs-client',
      ]);
    });

    it('a new package version restarts the agent', async () => {
      await converge(attrs(), options());
      const newer = [makeTarball(work, '@push-jobs/agent', '0.2.0'), tarballs[1]!];
      const report = await converge(attrs({ local_package_path: newer }), options());
      const pkg = entry(report, 'push_jobs_package[@push-jobs/agent]');
      expect(pkg.updated).to.equal(true);
      expect(pkg.messages).to.deep.equal([
        'upgrade @push-jobs/agent@0.1.0 to @push-jobs/agent@0.2.0 from 2 local tarballs into /opt/push-jobs',
      ]);
      expect(actionsLog().at(-1)).to.equal('systemd restart chef-push-jobs-client');
      expect(readdirSync(join(root, 'opt'))).to.deep.equal(['push-jobs']);
    });

    it('without the service recipe there is nothing to notify', async () => {
      const report = await converge(attrs(), options({ recipes: ['config'] }));
      expect(report.recipes).to.deep.equal(['config']);
      expect(report.resources.map((r) => r.name)).to.not.include('service[chef-push-jobs-client]');
      expect(existsSync(join(root, 'opt'))).to.equal(false);
      expect(actionsLog()).to.deep.equal([]);
      expect(logLines.join('\n')).to.include(
        '(no service[chef-push-jobs-client] in this run: not sending restart',
      );
    });
  });

  describe('why-run', () => {
    it('on a fresh node: reports every change with diffs and writes nothing', async () => {
      const report = await converge(attrs(), options({ whyRun: true }));
      expect(report.whyRun).to.equal(true);
      expect(report.updatedCount).to.equal(10);
      expect(readdirSync(root)).to.deep.equal([]);
      expect(calls).to.deep.equal([]);
      expect(entry(report, 'template[/etc/chef/push-jobs-client.rb]').diff).to.include(
        "+chef_server_url   'https://push.example.com/organizations/acme'",
      );
      expect(entry(report, 'push_jobs_package[@push-jobs/agent]').messages[0]).to.equal(
        'install @push-jobs/agent@0.1.0 from 2 local tarballs into /opt/push-jobs',
      );
      expect(logLines).to.include('    - Would create new file /etc/chef/push-jobs-client.rb');
    });

    it('on a converged node: shows the diff it would apply and changes nothing', async () => {
      await converge(attrs(), options());
      const before = readTree(root);
      const report = await converge(attrs({ whitelist: { uptime: 'uptime' } }), options({ whyRun: true }));
      expect(report.resources.filter((r) => r.updated).map((r) => `${r.name} ${r.action}`)).to.deep.equal([
        'template[/etc/chef/push-jobs-client.rb] create',
        'service[chef-push-jobs-client] reload',
      ]);
      expect(readTree(root)).to.deep.equal(before);
      expect(logLines.join('\n')).to.include(
        '+whitelist({"chef-client"=>"chef-client", "uptime"=>"uptime"})',
      );
    });
  });

  describe('drift', () => {
    it('fixes a changed mode without rewriting the file', async () => {
      await converge(attrs(), options());
      chmodSync(join(root, 'etc/chef/push-jobs-client.rb'), 0o666);
      chmodSync(join(root, 'etc/chef/client.pem'), 0o644);
      const report = await converge(attrs(), options());
      expect(entry(report, 'template[/etc/chef/push-jobs-client.rb]').messages).to.deep.equal([
        "change mode from '0666' to '0644'",
      ]);
      expect(entry(report, 'file[/etc/chef/client.pem]').messages).to.deep.equal([
        "change mode from '0644' to '0600'",
      ]);
      expect(modeOf(join(root, 'etc/chef/push-jobs-client.rb'))).to.equal('644');
      expect(modeOf(join(root, 'etc/chef/client.pem'))).to.equal('600');
      expect(existsSync(join(root, 'var/lib/push-jobs-cookbook/backup'))).to.equal(false);
      // A mode is not configuration: the agent is neither reloaded nor restarted.
      expect(report.resources.filter((r) => r.notifiedBy !== undefined)).to.deep.equal([]);
      expect(actionsLog()).to.have.length(3);
    });

    it('restores a hand-edited file, keeping a backup of the edit, and restarts the agent', async () => {
      await converge(attrs(), options());
      const config = join(root, 'etc/chef/push-jobs-client.rb');
      const original = readFileSync(config, 'utf8');
      writeFileSync(config, original.replace("node_name         'web1'", "node_name         'hacked'"));
      const report = await converge(attrs(), options());
      expect(readFileSync(config, 'utf8')).to.equal(original);
      const backups = readdirSync(join(root, 'var/lib/push-jobs-cookbook/backup/etc/chef'));
      expect(backups).to.have.length(1);
      expect(backups[0]).to.match(/^push-jobs-client\.rb\.\d{14}\.\d{3}$/);
      expect(
        readFileSync(join(root, 'var/lib/push-jobs-cookbook/backup/etc/chef', backups[0]!), 'utf8'),
      ).to.include("'hacked'");
      expect(entry(report, 'service[chef-push-jobs-client]', 'restart').updated).to.equal(true);
    });
  });

  describe('the key file', () => {
    it('without a source: fixes the mode of an existing key, warns about a missing one', async () => {
      const noSource = { chef: { chef_server_url: SERVER, node_name: 'web1' } };
      const first = await converge(noSource, options({ recipes: ['config'] }));
      expect(first.warnings).to.deep.equal([
        `key file /etc/chef/client.pem (under ${root}) does not exist: the agent cannot start until it does (set push_jobs.chef.client_key_source to install one)`,
      ]);
      expect(existsSync(join(root, 'etc/chef/client.pem'))).to.equal(false);
      writeFileSync(join(root, 'etc/chef/client.pem'), TEST_KEY, { mode: 0o644 });
      const second = await converge(noSource, options({ recipes: ['config'] }));
      expect(entry(second, 'file[/etc/chef/client.pem]').updated).to.equal(true);
      expect(modeOf(join(root, 'etc/chef/client.pem'))).to.equal('600');
      expect(second.warnings).to.deep.equal([]);
    });

    it('a source that is missing or not a key fails naming the attribute, writing no key', async () => {
      const missing = await failure(
        converge(
          { chef: { chef_server_url: SERVER, node_name: 'web1', client_key_source: join(work, 'nope.pem') } },
          options({ recipes: ['config'] }),
        ),
      );
      expect(missing.message).to.match(/^push_jobs\.chef\.client_key_source: cannot read .*nope\.pem/);
      expect(missing.attribute).to.equal('push_jobs.chef.client_key_source');
      writeFileSync(join(work, 'not-a-key'), 'hello');
      const notKey = await failure(
        converge(
          {
            chef: { chef_server_url: SERVER, node_name: 'web1', client_key_source: join(work, 'not-a-key') },
          },
          options({ recipes: ['config'] }),
        ),
      );
      expect(notKey.message).to.match(/is not a PEM private key$/);
      expect(readdirSync(join(root, 'etc/chef'))).to.deep.equal(['push-jobs-client.rb']);
    });
  });

  describe('bad input and failures', () => {
    it('a missing server URL or node name fails before anything is written', async () => {
      const err = await failure(converge({ chef: { node_name: 'web1' } }, options()));
      expect(err.message).to.include('push_jobs.chef.chef_server_url is not set');
      expect(readdirSync(root)).to.deep.equal([]);
      const err2 = await failure(converge({ chef: { chef_server_url: SERVER } }, options()));
      expect(err2.attribute).to.equal('push_jobs.chef.node_name');
      expect(readdirSync(root)).to.deep.equal([]);
    });

    it('a whitelist that is not a map, or an unknown platform, fails before anything is written', async () => {
      expect((await failure(converge(attrs({ whitelist: 'chef-client' }), options()))).message).to.equal(
        'push_jobs.whitelist should have a hash value! (got a string "chef-client")',
      );
      expect(
        (await failure(converge(attrs(), options({ platformFamily: 'windows' as never })))).message,
      ).to.match(/^platform family "windows" is not supported/);
      expect((await failure(converge(attrs(), options({ recipes: ['package' as never] })))).message).to.equal(
        "unknown recipe 'package' (use install, config, service)",
      );
      expect(readdirSync(root)).to.deep.equal([]);
    });

    it('a resource that fails stops the run: earlier ones stay converged, the failed one is not half-written', async () => {
      mkdirSync(join(root, 'etc/chef/push-jobs-client.rb'), { recursive: true });
      const err = await failure(converge(attrs(), options()));
      expect(err.message).to.match(
        /^cannot write \/etc\/chef\/push-jobs-client\.rb \(under .*\): .*EISDIR|is a directory, not a file/,
      );
      expect(err.path).to.equal('/etc/chef/push-jobs-client.rb');
      const report = err.report!;
      expect(report.success).to.equal(false);
      expect(report.resources.at(-1)).to.deep.include({
        name: 'template[/etc/chef/push-jobs-client.rb]',
        failed: true,
      });
      expect(report.resources.slice(0, -1).map((r) => `${r.name} ${String(r.failed)}`)).to.deep.equal([
        'push_jobs_package[@push-jobs/agent] undefined',
        'directory[/etc/chef] undefined',
        'directory[/var/log/chef] undefined',
      ]);
      expect(report.resources[0]!.updated).to.equal(true);
      expect(existsSync(join(root, 'opt/push-jobs/node_modules/.bin/push-jobs-client'))).to.equal(true);
      expect(readdirSync(join(root, 'etc/chef'))).to.deep.equal(['push-jobs-client.rb']);
      expect(readdirSync(join(root, 'etc/chef/push-jobs-client.rb'))).to.deep.equal([]);
      expect(actionsLog()).to.deep.equal([]);
    });

    it('an unwritable path names the path', async () => {
      writeFileSync(join(root, 'blocked'), 'a file, not a directory');
      const err = await failure(
        converge(attrs({ logging_dir: '/blocked/logs' }), options({ recipes: ['config'] })),
      );
      expect(err.message).to.match(
        /^cannot create directory \/blocked\/logs \(under .*\): .*\(a parent is not a directory\)$/,
      );
      expect(err.path).to.equal('/blocked/logs');
    });

    it('a failed backup stops the write: the old content stays', async () => {
      await converge(attrs(), options({ recipes: ['config'] }));
      const config = join(root, 'etc/chef/push-jobs-client.rb');
      const before = readFileSync(config, 'utf8');
      mkdirSync(join(root, 'var/lib/push-jobs-cookbook'), { recursive: true });
      writeFileSync(join(root, 'var/lib/push-jobs-cookbook/backup'), 'not a directory');
      const err = await failure(converge(attrs({ no_proxy: 'localhost' }), options({ recipes: ['config'] })));
      expect(err.message).to.match(
        /^cannot back up to \/var\/lib\/push-jobs-cookbook\/backup\/etc\/chef\/push-jobs-client\.rb/,
      );
      expect(readFileSync(config, 'utf8')).to.equal(before);
      expect(readdirSync(join(root, 'etc/chef')).sort()).to.deep.equal(['client.pem', 'push-jobs-client.rb']);
    });

    it('a write that fails after the temporary file was written removes it and keeps the old file', async function () {
      await converge(attrs(), options({ recipes: ['config'] }));
      const config = join(root, 'etc/chef/push-jobs-client.rb');
      const before = readFileSync(config, 'utf8');
      // An immutable target: the temporary file is created and written, the rename over it fails.
      if (spawnSync('chattr', ['+i', config]).status !== 0) this.skip();
      try {
        const err = await failure(
          converge(attrs({ no_proxy: 'localhost' }), options({ recipes: ['config'] })),
        );
        expect(err.message).to.match(/^cannot write \/etc\/chef\/push-jobs-client\.rb \(under .*\): EPERM/);
        expect(err.path).to.equal('/etc/chef/push-jobs-client.rb');
        expect(err.report!.resources.at(-1)).to.deep.include({
          name: 'template[/etc/chef/push-jobs-client.rb]',
          failed: true,
        });
      } finally {
        spawnSync('chattr', ['-i', config]);
      }
      expect(readFileSync(config, 'utf8')).to.equal(before);
      expect(readdirSync(join(root, 'etc/chef')).sort()).to.deep.equal(['client.pem', 'push-jobs-client.rb']);
    });
  });

  describe('install', () => {
    it('a tarball that cannot be found names the attribute and path, and creates nothing', async () => {
      const gone = join(work, 'push-jobs-agent-9.9.9.tgz');
      const err = await failure(
        converge(attrs({ local_package_path: gone }), options({ recipes: ['install'] })),
      );
      expect(err.message).to.equal(`push_jobs.local_package_path: package tarball ${gone} not found`);
      expect(err.attribute).to.equal('push_jobs.local_package_path');
      expect(readdirSync(root)).to.deep.equal([]);
    });

    it('refuses tarballs that are not the agent, or a version other than package_version', async () => {
      const other = await failure(
        converge(attrs({ local_package_path: [tarballs[1]!] }), options({ recipes: ['install'] })),
      );
      expect(other.message).to.equal(
        'push_jobs.local_package_path: none of the tarballs is @push-jobs/agent (found @push-jobs/protocol@0.1.0)',
      );
      const version = await failure(
        converge(attrs({ package_version: '0.2.0' }), options({ recipes: ['install'] })),
      );
      expect(version.message).to.match(
        /^push_jobs\.package_version is 0\.2\.0 but the tarball .* holds @push-jobs\/agent@0\.1\.0$/,
      );
    });

    it('from the registry: installs the requested version, is idempotent, and upgrades when it changes', async () => {
      const registry = { '@push-jobs/agent': '1.2.3' };
      const runner = fakeNpm(calls, registry);
      const first = await converge(
        { package_version: '1.2.3' },
        options({ recipes: ['install'], commandRunner: runner }),
      );
      expect(entry(first, 'push_jobs_package[@push-jobs/agent]').messages).to.deep.equal([
        'install @push-jobs/agent@1.2.3 from the npm registry into /opt/push-jobs',
      ]);
      expect(calls).to.have.length(1);
      expect(calls[0]!.args).to.deep.equal([
        'install',
        '--omit=dev',
        '--no-audit',
        '--no-fund',
        '--no-update-notifier',
      ]);
      expect(JSON.parse(readFileSync(join(root, 'opt/push-jobs/package.json'), 'utf8'))).to.deep.include({
        dependencies: { '@push-jobs/agent': '1.2.3' },
        allowScripts: { zeromq: true },
      });
      const again = await converge(
        { package_version: '1.2.3' },
        options({ recipes: ['install'], commandRunner: runner }),
      );
      expect(again.updatedCount).to.equal(0);
      expect(calls).to.have.length(1);
      registry['@push-jobs/agent'] = '1.3.0';
      const upgrade = await converge(
        { package_version: '1.3.0', npm_registry: 'https://npm.example.com/' },
        options({ recipes: ['install'], commandRunner: runner }),
      );
      expect(entry(upgrade, 'push_jobs_package[@push-jobs/agent]').messages[0]).to.equal(
        'upgrade @push-jobs/agent@1.2.3 to @push-jobs/agent@1.3.0 from the npm registry https://npm.example.com/ into /opt/push-jobs',
      );
      expect(calls[1]!.args).to.include.members(['--registry', 'https://npm.example.com/']);
    });

    it('a package or version npm cannot find fails naming the attribute, keeping the previous install', async () => {
      const runner = fakeNpm(calls, { '@push-jobs/agent': '1.2.3' });
      await converge({}, options({ recipes: ['install'], commandRunner: runner }));
      const noVersion = await failure(
        converge({ package_version: '9.9.9' }, options({ recipes: ['install'], commandRunner: runner })),
      );
      expect(noVersion.message).to.match(
        /^no version of @push-jobs\/agent@9\.9\.9 can be found in the npm registry \(push_jobs\.package_version/,
      );
      const noPackage = await failure(
        converge(
          { package_name: '@push-jobs/nope' },
          options({ recipes: ['install'], commandRunner: runner }),
        ),
      );
      expect(noPackage.message).to.match(
        /^package @push-jobs\/nope cannot be found in the npm registry \(push_jobs\.package_name/,
      );
      expect(noPackage.attribute).to.equal('push_jobs.package_name');
      expect(readdirSync(join(root, 'opt'))).to.deep.equal(['push-jobs']);
      expect(
        JSON.parse(readFileSync(join(root, 'opt/push-jobs', INSTALL_STATE_FILE), 'utf8')).installed,
      ).to.equal('1.2.3');
    });
  });

  describe('other init systems', () => {
    it('sysvinit: /etc/init.d/NAME (no .conf), mode 0755, enabled and started', async () => {
      const report = await converge(attrs(), options({ initSystem: 'sysvinit', platformFamily: 'rhel' }));
      expect(report.initSystem).to.equal('sysvinit');
      expect(modeOf(join(root, 'etc/init.d/chef-push-jobs-client'))).to.equal('755');
      expect(existsSync(join(root, 'etc/init.d/chef-push-jobs-client.conf'))).to.equal(false);
      expect(readFileSync(join(root, 'etc/init.d/chef-push-jobs-client'), 'utf8')).to.include(
        'LOCK_DIR=/var/lock/subsys',
      );
      expect(actionsLog()).to.deep.equal([
        'sysvinit enable chef-push-jobs-client',
        'sysvinit start chef-push-jobs-client',
      ]);
    });

    it('runit (init_style attribute): run script, svlogd logger, log directory', async () => {
      const report = await converge(attrs({ init_style: 'runit' }), options());
      expect(report.initSystem).to.equal('runit');
      for (const path of ['etc/sv/chef-push-jobs-client/run', 'etc/sv/chef-push-jobs-client/log/run']) {
        expect(modeOf(join(root, path)), path).to.equal('755');
      }
      expect(statSync(join(root, 'var/log/chef-push-jobs-client')).isDirectory()).to.equal(true);
      expect(actionsLog()).to.deep.equal([
        'runit enable chef-push-jobs-client',
        'runit start chef-push-jobs-client',
      ]);
      expect((await converge(attrs({ init_style: 'runit' }), options())).updatedCount).to.equal(0);
    });
  });
});
