// buildJobEnvironment: client spec A.12 "Environment", and the original's
// spec/pushy_client/job_runner_spec.rb env cases.
import { expect } from 'chai';
import {
  buildJobEnvironment,
  CHEF_PUSH_JOB_FILE,
  CHEF_PUSH_JOB_ID,
  CHEF_PUSH_NODE_NAME,
  JOB_ENV_RENAME_PREFIX,
  JobEnvironmentError,
} from '../src/job-env.js';

const JOB_ID = '0f3d2c1b4a5968778695a4b3c2d1e0f0';

describe('buildJobEnvironment', () => {
  it('uses the CHEF_PUSH_* names', () => {
    expect(CHEF_PUSH_NODE_NAME).to.equal('CHEF_PUSH_NODE_NAME');
    expect(CHEF_PUSH_JOB_ID).to.equal('CHEF_PUSH_JOB_ID');
    expect(CHEF_PUSH_JOB_FILE).to.equal('CHEF_PUSH_JOB_FILE');
    expect(JOB_ENV_RENAME_PREFIX).to.equal('CHEF_PUSH_ENV_');
  });

  it('sets CHEF_PUSH_NODE_NAME and CHEF_PUSH_JOB_ID, and no file or PUSHY_* variables', () => {
    const env = buildJobEnvironment({ base: {}, jobId: JOB_ID, nodeName: 'node1' });
    expect(env).to.deep.equal({ CHEF_PUSH_NODE_NAME: 'node1', CHEF_PUSH_JOB_ID: JOB_ID });
  });

  it('sets CHEF_PUSH_JOB_FILE when a file was sent', () => {
    const env = buildJobEnvironment({
      base: {},
      jobId: JOB_ID,
      nodeName: 'node1',
      fileName: '/tmp/chef-push/pushy_file20240101-1-abc',
    });
    expect(env[CHEF_PUSH_JOB_FILE]).to.equal('/tmp/chef-push/pushy_file20240101-1-abc');
  });

  it('omits CHEF_PUSH_NODE_NAME when no node name is given', () => {
    const env = buildJobEnvironment({ base: {}, jobId: JOB_ID });
    expect(env).to.deep.equal({ CHEF_PUSH_JOB_ID: JOB_ID });
  });

  it('inherits the base environment, dropping undefined values', () => {
    const env = buildJobEnvironment({
      base: { PATH: '/usr/bin', HOME: '/root', GONE: undefined },
      jobId: JOB_ID,
      nodeName: 'n',
    });
    expect(env).to.deep.equal({
      PATH: '/usr/bin',
      HOME: '/root',
      CHEF_PUSH_NODE_NAME: 'n',
      CHEF_PUSH_JOB_ID: JOB_ID,
    });
    expect(Object.hasOwn(env, 'GONE')).to.equal(false);
  });

  describe('allowed_overwritable_env_vars', () => {
    it('not set (undefined or null): job variables pass through unchanged, overriding the base', () => {
      for (const allowedOverwritable of [undefined, null]) {
        const env = buildJobEnvironment({
          base: { PATH: '/usr/bin', foo: 'base' },
          jobEnv: { foo: 'x', bar: 'y', PATH: '/evil' },
          jobId: JOB_ID,
          nodeName: 'n',
          allowedOverwritable,
        });
        expect(env).to.deep.equal({
          PATH: '/evil',
          foo: 'x',
          bar: 'y',
          CHEF_PUSH_NODE_NAME: 'n',
          CHEF_PUSH_JOB_ID: JOB_ID,
        });
      }
    });

    it("a list ['foo']: foo stays, bar becomes CHEF_PUSH_ENV_bar", () => {
      const env = buildJobEnvironment({
        base: { PATH: '/usr/bin' },
        jobEnv: { foo: 'x', bar: 'y', PATH: '/evil' },
        jobId: JOB_ID,
        nodeName: 'n',
        allowedOverwritable: ['foo'],
      });
      expect(env).to.deep.equal({
        PATH: '/usr/bin',
        foo: 'x',
        CHEF_PUSH_ENV_bar: 'y',
        CHEF_PUSH_ENV_PATH: '/evil',
        CHEF_PUSH_NODE_NAME: 'n',
        CHEF_PUSH_JOB_ID: JOB_ID,
      });
    });

    it('an empty list renames every job variable', () => {
      const env = buildJobEnvironment({
        base: {},
        jobEnv: { foo: 'x' },
        jobId: JOB_ID,
        allowedOverwritable: [],
      });
      expect(env).to.deep.equal({ CHEF_PUSH_ENV_foo: 'x', CHEF_PUSH_JOB_ID: JOB_ID });
    });

    it('names are compared case-sensitively', () => {
      const env = buildJobEnvironment({
        base: {},
        jobEnv: { FOO: 'x' },
        jobId: JOB_ID,
        allowedOverwritable: ['foo'],
      });
      expect(env).to.deep.equal({ CHEF_PUSH_ENV_FOO: 'x', CHEF_PUSH_JOB_ID: JOB_ID });
    });

    it('when a renamed variable collides with a job variable, the later one wins', () => {
      const env = buildJobEnvironment({
        base: {},
        jobEnv: { bar: 'renamed', CHEF_PUSH_ENV_bar: 'direct' },
        jobId: JOB_ID,
        allowedOverwritable: ['CHEF_PUSH_ENV_bar'],
      });
      expect(env['CHEF_PUSH_ENV_bar']).to.equal('direct');
    });
  });

  it('CHEF_PUSH_NODE_NAME, CHEF_PUSH_JOB_ID and CHEF_PUSH_JOB_FILE overwrite job values of the same names', () => {
    const env = buildJobEnvironment({
      base: {},
      jobEnv: { CHEF_PUSH_NODE_NAME: 'spoof', CHEF_PUSH_JOB_ID: 'spoof', CHEF_PUSH_JOB_FILE: 'spoof' },
      jobId: JOB_ID,
      nodeName: 'node1',
      fileName: '/tmp/f',
    });
    expect(env).to.deep.equal({
      CHEF_PUSH_NODE_NAME: 'node1',
      CHEF_PUSH_JOB_ID: JOB_ID,
      CHEF_PUSH_JOB_FILE: '/tmp/f',
    });
  });

  it('a job CHEF_PUSH_JOB_FILE passes through when no file was sent (as in the original)', () => {
    const env = buildJobEnvironment({ base: {}, jobEnv: { CHEF_PUSH_JOB_FILE: '/x' }, jobId: JOB_ID });
    expect(env[CHEF_PUSH_JOB_FILE]).to.equal('/x');
  });

  it('never modifies base or jobEnv and returns a fresh object', () => {
    const base: NodeJS.ProcessEnv = { PATH: '/usr/bin', foo: 'base' };
    const jobEnv = { foo: 'x', bar: 'y' };
    const env = buildJobEnvironment({ base, jobEnv, jobId: JOB_ID, nodeName: 'n', fileName: '/tmp/f' });
    expect(base).to.deep.equal({ PATH: '/usr/bin', foo: 'base' });
    expect(jobEnv).to.deep.equal({ foo: 'x', bar: 'y' });
    expect(env).to.not.equal(base);
    env['PATH'] = 'changed';
    expect(base['PATH']).to.equal('/usr/bin');
  });

  it('a variable named __proto__ is a plain entry', () => {
    const jobEnv = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    const env = buildJobEnvironment({ base: {}, jobEnv, jobId: JOB_ID });
    expect(Object.hasOwn(env, '__proto__')).to.equal(true);
    expect(Object.getPrototypeOf(env)).to.equal(Object.prototype);
  });

  it('rejects variables a process cannot receive', () => {
    const bad: Record<string, unknown>[] = [
      { '': 'x' },
      { 'A=B': 'x' },
      { 'A\0': 'x' },
      { A: 'x\0y' },
      { A: 5 },
    ];
    for (const jobEnv of bad) {
      expect(
        () => buildJobEnvironment({ base: {}, jobEnv: jobEnv as Record<string, string>, jobId: JOB_ID }),
        JSON.stringify(jobEnv),
      ).to.throw(JobEnvironmentError);
    }
  });
});
