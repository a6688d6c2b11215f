// The real-host service managers, with a command runner that records instead of running (so
// no init system is touched), and the recording manager used under --root.
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  CookbookError,
  RecordingServiceManager,
  RunitServiceManager,
  serviceManagerFor,
  SystemdServiceManager,
  SysvinitServiceManager,
  type CommandResult,
  type CommandRunner,
} from '../src/index.js';
import { removeDir, tempDir } from './helpers/temp.js';

function recorder(
  calls: string[],
  answer: (line: string) => Partial<CommandResult> = () => ({}),
): CommandRunner {
  return async (command, args) => {
    const line = [command, ...args].join(' ');
    calls.push(line);
    return { code: 0, stdout: '', stderr: '', ...answer(line) };
  };
}

describe('service managers', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('svc');
  });
  afterEach(() => removeDir(dir));

  it('systemd: systemctl for status, enable, start, reload, restart and daemon-reload', async () => {
    const calls: string[] = [];
    const m = new SystemdServiceManager(recorder(calls, (l) => ({ code: l.includes('is-active') ? 3 : 0 })));
    expect(await m.status('pj')).to.deep.equal({ enabled: true, running: false });
    await m.enable('pj');
    await m.start('pj');
    await m.reload('pj');
    await m.restart('pj');
    await m.daemonReload();
    expect(calls).to.deep.equal([
      'systemctl is-enabled --quiet pj.service',
      'systemctl is-active --quiet pj.service',
      'systemctl enable pj.service',
      'systemctl start pj.service',
      'systemctl reload pj.service',
      'systemctl restart pj.service',
      'systemctl daemon-reload',
    ]);
  });

  it('sysvinit: update-rc.d on debian, chkconfig on the rhel-like families', async () => {
    const debian: string[] = [];
    await new SysvinitServiceManager('debian', recorder(debian)).enable('pj');
    expect(debian).to.deep.equal(['update-rc.d pj defaults']);
    for (const family of ['rhel', 'suse', 'amazon'] as const) {
      const calls: string[] = [];
      const m = new SysvinitServiceManager(
        family,
        recorder(calls, () => ({ stdout: 'pj  0:off 1:off 2:on 3:on 4:on 5:on 6:off' })),
      );
      await m.enable('pj');
      expect(await m.status('pj')).to.deep.equal({ enabled: true, running: true });
      await m.reload('pj');
      expect(calls).to.deep.equal([
        'chkconfig --add pj',
        'chkconfig pj on',
        'chkconfig --list pj',
        'service pj status',
        'service pj reload',
      ]);
    }
  });

  it('sysvinit on debian reads the rc2.d links for "enabled"', async () => {
    const etc = join(dir, 'etc');
    mkdirSync(join(etc, 'rc2.d'), { recursive: true });
    const m = new SysvinitServiceManager(
      'debian',
      recorder([], () => ({ code: 3 })),
      etc,
    );
    expect(await m.status('pj')).to.deep.equal({ enabled: false, running: false });
    writeFileSync(join(etc, 'rc2.d', 'S01pj'), '');
    expect((await m.status('pj')).enabled).to.equal(true);
  });

  it('runit: enabling links /etc/service/NAME to /etc/sv/NAME; sv for the rest', async () => {
    const etc = join(dir, 'etc');
    const calls: string[] = [];
    const m = new RunitServiceManager(
      recorder(calls, (l) => ({ stdout: l.startsWith('sv status') ? 'run: pj: (pid 42) 10s' : '' })),
      etc,
    );
    expect(await m.status('pj')).to.deep.equal({ enabled: false, running: false });
    await m.enable('pj');
    expect(lstatSync(join(etc, 'service/pj')).isSymbolicLink()).to.equal(true);
    expect(readlinkSync(join(etc, 'service/pj'))).to.equal(join(etc, 'sv/pj'));
    expect(await m.status('pj')).to.deep.equal({ enabled: true, running: true });
    await m.start('pj');
    await m.reload('pj');
    await m.restart('pj');
    expect(calls).to.deep.equal(['sv status pj', 'sv up pj', 'sv hup pj', 'sv restart pj']);
  });

  it('a failing command is an error naming the command, exit code and output', async () => {
    const m = serviceManagerFor(
      'systemd',
      'debian',
      recorder([], () => ({ code: 5, stderr: 'Unit pj.service not found.' })),
    );
    try {
      await m.start('pj');
      expect.fail('start should have failed');
    } catch (err) {
      expect(err).to.be.instanceOf(CookbookError);
      expect((err as Error).message).to.equal(
        'systemctl start pj.service failed (exit 5): Unit pj.service not found.',
      );
    }
  });

  it('recording: logs what it would do under the root and remembers the state', async () => {
    const m = new RecordingServiceManager(dir, 'systemd');
    expect(await m.status('pj')).to.deep.equal({ enabled: false, running: false });
    await m.daemonReload();
    await m.enable('pj');
    await m.start('pj');
    await m.reload('pj');
    expect(await m.status('pj')).to.deep.equal({ enabled: true, running: true });
    expect(readFileSync(join(dir, 'var/lib/push-jobs-cookbook/service-actions.log'), 'utf8')).to.equal(
      'systemd daemon-reload\nsystemd enable pj\nsystemd start pj\nsystemd reload pj\n',
    );
    expect(await new RecordingServiceManager(dir, 'systemd').status('pj')).to.deep.equal({
      enabled: true,
      running: true,
    });
    // sysvinit and runit have no daemon-reload.
    await new RecordingServiceManager(join(dir, 'other'), 'runit').daemonReload();
    expect(existsSync(join(dir, 'other'))).to.equal(false);
  });
});
