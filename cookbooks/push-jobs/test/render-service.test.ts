// The service definitions, run for real where that is safe: shell syntax, the runit run script
// exec'ing a fake agent, and the sysvinit script starting, reloading (SIGHUP to the right pid)
// and stopping a fake agent. No init system is touched.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  agentCommand,
  renderRunitLogRun,
  renderRunitRun,
  renderSystemdUnit,
  renderSysvinitScript,
  validateAttributes,
  type PushJobsAttributes,
} from '../src/index.js';
import { until } from '@push-jobs/testing';
import { removeDir, tempDir } from './helpers/temp.js';

/** A fake push-jobs-client: logs its start, SIGHUPs and SIGTERM to $PJ_MARK. */
const FAKE_AGENT = `#!/bin/sh
trap 'echo hup >> "$PJ_MARK"' HUP
trap 'echo term >> "$PJ_MARK"; exit 0' TERM
echo "start pid=$$ args=$* lc=$LC_ALL" >> "$PJ_MARK"
while :; do sleep 0.1; done
`;

function installFake(prefix: string, body: string): void {
  const bin = join(prefix, 'node_modules/.bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'push-jobs-client'), body);
  chmodSync(join(bin, 'push-jobs-client'), 0o755);
}

describe('service definitions (spec C.6)', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('service');
  });
  afterEach(() => removeDir(dir));

  function attrs(extra: Record<string, unknown> = {}): PushJobsAttributes {
    return validateAttributes({ install_prefix: join(dir, 'prefix'), ...extra }, 'debian');
  }

  it('builds the original command line (spec C.3 cli_command) under the install prefix', () => {
    expect(agentCommand(validateAttributes({}, 'rhel'))).to.deep.equal([
      '/opt/push-jobs/node_modules/.bin/push-jobs-client',
      '-l',
      'info',
      '-L',
      '/var/log/chef/push-jobs-client.log',
      '-c',
      '/etc/chef/push-jobs-client.rb',
    ]);
    expect(
      agentCommand(validateAttributes({ logging_dir: null, logging_level: 'warn' }, 'rhel')),
    ).to.deep.equal([
      '/opt/push-jobs/node_modules/.bin/push-jobs-client',
      '-l',
      'warn',
      '-c',
      '/etc/chef/push-jobs-client.rb',
    ]);
  });

  it('systemd: environment, ExecStart, SIGHUP reload, exit 3 success, restart on failure', () => {
    const unit = renderSystemdUnit(validateAttributes({ environment_variables: { RATE: '50%' } }, 'suse'));
    const service = unit.slice(unit.indexOf('[Service]'), unit.indexOf('[Install]')).trim().split('\n');
    expect(service).to.deep.equal([
      '[Service]',
      'Environment="LC_ALL=en_US.UTF-8"',
      'Environment="RATE=50%%"',
      'ExecStart=/opt/push-jobs/node_modules/.bin/push-jobs-client -l info -L /var/log/chef/push-jobs-client.log -c /etc/chef/push-jobs-client.rb',
      'ExecReload=/bin/kill -HUP $MAINPID',
      'SuccessExitStatus=3',
      'Restart=on-failure',
    ]);
    expect(unit).to.include('Description=Chef Push Jobs Client\nAfter=syslog.target network.target\n');
    expect(unit).to.include('[Install]\nWantedBy=multi-user.target\n');
  });

  it('the sysvinit and runit scripts are valid shell', () => {
    const a = attrs({ environment_variables: { LC_ALL: 'C', ODD: "it's $HOME `x`" } });
    for (const [name, text] of [
      ['sysv', renderSysvinitScript(a, 'rhel')],
      ['run', renderRunitRun(a)],
      ['log-run', renderRunitLogRun(a)],
    ] as const) {
      const file = join(dir, name);
      writeFileSync(file, text);
      const check = spawnSync('sh', ['-n', file], { encoding: 'utf8' });
      expect(check.status, `${name}: ${check.stderr}`).to.equal(0);
    }
  });

  it('runit run script: stderr to stdout, the environment, then exec the agent with its arguments', () => {
    const a = attrs({ environment_variables: { LC_ALL: 'C', ODD: "it's $HOME" }, logging_dir: null });
    installFake(
      join(dir, 'prefix'),
      '#!/bin/sh\necho "args=$* lc=$LC_ALL odd=$ODD pid=$$"\necho to-stderr >&2\n',
    );
    const run = join(dir, 'run');
    writeFileSync(run, renderRunitRun(a));
    const out = spawnSync('sh', [run], { encoding: 'utf8' });
    expect(out.status).to.equal(0);
    expect(out.stdout).to.match(
      /^args=-l info -c \/etc\/chef\/push-jobs-client\.rb lc=C odd=it's \$HOME pid=\d+\nto-stderr\n$/,
    );
    expect(out.stderr).to.equal('');
  });

  describe('sysvinit script with a fake agent', function () {
    // The script keeps its pid file in /var/run: use a unique service name and remove it after.
    const service = `pj-cookbook-test-${process.pid}`;
    const pidFile = `/var/run/${service}.pid`;
    before(function () {
      if (process.platform !== 'linux' || !existsSync('/var/run')) this.skip();
    });
    afterEach(() => {
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8'));
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
        removeDir(pidFile);
      }
      removeDir(`/var/lock/${service}`);
    });

    it('starts, reports status, reloads with SIGHUP to the agent itself, and stops', async () => {
      const mark = join(dir, 'mark');
      const a = attrs({
        service_name: service,
        logging_dir: null,
        environment_variables: { LC_ALL: 'C', PJ_MARK: mark },
      });
      installFake(join(dir, 'prefix'), FAKE_AGENT);
      const script = join(dir, 'init.d', service);
      mkdirSync(join(dir, 'init.d'));
      writeFileSync(script, renderSysvinitScript(a, 'debian'));
      chmodSync(script, 0o755);
      const sh = (action: string): { status: number | null; stdout: string } =>
        spawnSync(script, [action], {
          encoding: 'utf8',
          env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
        });

      expect(sh('status').status).to.equal(3);
      expect(sh('start').status).to.equal(0);
      await until(() => existsSync(mark), 'the fake agent to start');
      const pid = Number(readFileSync(pidFile, 'utf8'));
      expect(readFileSync(mark, 'utf8')).to.equal(
        `start pid=${pid} args=-l info -c /etc/chef/push-jobs-client.rb lc=C\n`,
      );
      expect(sh('status')).to.deep.include({ status: 0 });
      expect(sh('start').stdout).to.include('already running');

      expect(sh('reload').status).to.equal(0);
      await until(() => readFileSync(mark, 'utf8').includes('hup'), 'the SIGHUP');
      expect(Number(readFileSync(pidFile, 'utf8'))).to.equal(pid);

      expect(sh('stop').status).to.equal(0);
      expect(readFileSync(mark, 'utf8').trim().split('\n').slice(1)).to.deep.equal(['hup', 'term']);
      expect(existsSync(pidFile)).to.equal(false);
      expect(sh('status').status).to.equal(3);
      expect(sh('reload').status).to.equal(7);
      expect(sh('bogus').status).to.equal(2);
    });
  });
});
