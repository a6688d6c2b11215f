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
  UNSAFE_JOB_ENV_VARS,
  unsafeJobEnvReason,
  UnsafeJobEnvironmentError,
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
          jobEnv: { foo: 'x', bar: 'y' },
          jobId: JOB_ID,
          nodeName: 'n',
          allowedOverwritable,
        });
        expect(env).to.deep.equal({
          PATH: '/usr/bin',
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

  it('CHEF_PUSH_NODE_NAME, CHEF_PUSH_JOB_ID and CHEF_PUSH_JOB_FILE overwrite job values of the same names, even allowed ones', () => {
    const jobEnv = { CHEF_PUSH_NODE_NAME: 'spoof', CHEF_PUSH_JOB_ID: 'spoof', CHEF_PUSH_JOB_FILE: 'spoof' };
    const env = buildJobEnvironment({
      base: {},
      jobEnv,
      jobId: JOB_ID,
      nodeName: 'node1',
      fileName: '/tmp/f',
      allowedUnsafe: Object.keys(jobEnv),
    });
    expect(env).to.deep.equal({
      CHEF_PUSH_NODE_NAME: 'node1',
      CHEF_PUSH_JOB_ID: JOB_ID,
      CHEF_PUSH_JOB_FILE: '/tmp/f',
    });
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

  describe('unsafe variables (default deny)', () => {
    /** The names the hardening issue showed running a job writer's code, and their relatives. */
    const attacks: Record<string, string>[] = [
      { BASH_ENV: '$(id > /tmp/x)' },
      { ENV: '$(id > /tmp/x)' },
      { LD_PRELOAD: '/tmp/evil.so' },
      { LD_LIBRARY_PATH: '/tmp' },
      { LD_AUDIT: '/tmp/evil.so' },
      { PATH: '/tmp/evil:/usr/bin' },
      { SHELLOPTS: 'xtrace', PS4: '$(id > /tmp/x)' },
      { BASHOPTS: 'extdebug' },
      { 'BASH_FUNC_hostname%%': '() { id; }' },
      { 'hostname()': '() { id; }' },
      { IFS: '/' },
      { CDPATH: '/tmp' },
      { GLOBIGNORE: '*' },
      { NODE_OPTIONS: '--require /tmp/evil.js' },
      { NODE_PATH: '/tmp' },
      { PYTHONPATH: '/tmp' },
      { PYTHONSTARTUP: '/tmp/x.py' },
      { PERL5OPT: '-Mevil' },
      { PERL5LIB: '/tmp' },
      { PERLLIB: '/tmp' },
      { RUBYOPT: '-r/tmp/evil.rb' },
      { RUBYLIB: '/tmp' },
      { GEM_PATH: '/tmp/gems' },
      { GCONV_PATH: '/tmp' },
      { GLIBC_TUNABLES: 'glibc.malloc.x=1' },
      { HOSTALIASES: '/tmp/hosts' },
      { LOCPATH: '/tmp' },
      { MALLOC_CHECK_: '3' },
      { TMPDIR: '/tmp/attacker' },
      { HOME: '/tmp/attacker' },
      { GIT_SSH_COMMAND: 'id' },
      { JAVA_TOOL_OPTIONS: '-javaagent:/tmp/x.jar' },
      { OPENSSL_CONF: '/tmp/engine.cnf' },
      { SSL_CERT_FILE: '/tmp/ca.pem' },
      { https_proxy: 'http://attacker:3128' },
      { CHEF_PUSH_JOB_FILE: '/etc/shadow' },
      { CHEF_PUSH_NODE_NAME: 'other' },
      { PUSHY_JOB_FILE: '/etc/shadow' },
      { harmless: '() { id; }' },
    ];

    it('refuses each of them with the variable and the reason in the message', () => {
      for (const jobEnv of attacks) {
        const name = Object.keys(jobEnv)[0] ?? '';
        expect(() => buildJobEnvironment({ base: {}, jobEnv, jobId: JOB_ID }), name)
          .to.throw(UnsafeJobEnvironmentError)
          .with.property('variable', name);
        // Also when allowed_overwritable_env_vars lists it: that list only says "keep the name".
        expect(
          () => buildJobEnvironment({ base: {}, jobEnv, jobId: JOB_ID, allowedOverwritable: [name] }),
          name,
        ).to.throw(UnsafeJobEnvironmentError);
      }
      expect(() =>
        buildJobEnvironment({ base: {}, jobEnv: { LD_PRELOAD: '/x.so' }, jobId: JOB_ID }),
      ).to.throw(
        'job environment variable "LD_PRELOAD" is refused: it changes how programs are loaded (dynamic loader, C library); ' +
          "the agent's allowed_unsafe_job_env_vars setting can allow it",
      );
    });

    it('compares names case-insensitively (some programs read lower-case spellings)', () => {
      for (const name of ['ld_preload', 'Path', 'http_proxy', 'npm_config_script_shell', 'bash_env']) {
        expect(unsafeJobEnvReason(name), name).to.be.a('string');
      }
    });

    it('lets ordinary variables, and CHEF_PUSH_ENV_* names, through', () => {
      const jobEnv = {
        DEPLOY_VERSION: '1.2.3',
        LANG: 'C.UTF-8',
        LC_ALL: 'C',
        TZ: 'UTC',
        RAILS_ENV: 'production',
        CHEF_PUSH_ENV_foo: 'x',
        _private: 'y',
        A1: '$(id)',
      };
      const env = buildJobEnvironment({ base: {}, jobEnv, jobId: JOB_ID });
      expect(env).to.deep.equal({ ...jobEnv, CHEF_PUSH_JOB_ID: JOB_ID });
    });

    it('a renamed variable is harmless and passes (allowed_overwritable_env_vars set)', () => {
      const env = buildJobEnvironment({
        base: { PATH: '/usr/bin' },
        jobEnv: { PATH: '/evil', LD_PRELOAD: '/x.so', 'f%%': 'y' },
        jobId: JOB_ID,
        allowedOverwritable: [],
      });
      expect(env).to.deep.equal({
        PATH: '/usr/bin',
        CHEF_PUSH_ENV_PATH: '/evil',
        CHEF_PUSH_ENV_LD_PRELOAD: '/x.so',
        'CHEF_PUSH_ENV_f%%': 'y',
        CHEF_PUSH_JOB_ID: JOB_ID,
      });
      // A function definition is refused under any name (bash before 2014 imported it from any variable).
      expect(() =>
        buildJobEnvironment({
          base: {},
          jobEnv: { harmless: '() { :; }; id' },
          jobId: JOB_ID,
          allowedOverwritable: [],
        }),
      ).to.throw(UnsafeJobEnvironmentError, /holds a shell function definition/);
    });

    it('allowed_unsafe_job_env_vars re-allows exactly the names it lists (case-sensitive)', () => {
      const env = buildJobEnvironment({
        base: { PATH: '/usr/bin' },
        jobEnv: { PATH: '/opt/app/bin:/usr/bin', NODE_ENV: 'production' },
        jobId: JOB_ID,
        allowedUnsafe: ['PATH', 'NODE_ENV'],
      });
      expect(env).to.deep.equal({
        PATH: '/opt/app/bin:/usr/bin',
        NODE_ENV: 'production',
        CHEF_PUSH_JOB_ID: JOB_ID,
      });
      expect(() =>
        buildJobEnvironment({ base: {}, jobEnv: { path: '/tmp' }, jobId: JOB_ID, allowedUnsafe: ['PATH'] }),
      ).to.throw(UnsafeJobEnvironmentError);
      // With allowed_overwritable_env_vars set, a re-allowed name must be in both lists to keep its name.
      const both = buildJobEnvironment({
        base: {},
        jobEnv: { PATH: '/opt' },
        jobId: JOB_ID,
        allowedOverwritable: [],
        allowedUnsafe: ['PATH'],
      });
      expect(both).to.deep.equal({ CHEF_PUSH_ENV_PATH: '/opt', CHEF_PUSH_JOB_ID: JOB_ID });
    });

    it("the base environment (the agent's own) is never checked", () => {
      const env = buildJobEnvironment({
        base: { PATH: '/usr/bin', LD_LIBRARY_PATH: '/opt/lib' },
        jobId: JOB_ID,
      });
      expect(env).to.deep.equal({ PATH: '/usr/bin', LD_LIBRARY_PATH: '/opt/lib', CHEF_PUSH_JOB_ID: JOB_ID });
    });

    it('every family has a reason and names', () => {
      for (const [reason, names] of Object.entries(UNSAFE_JOB_ENV_VARS)) {
        expect(reason.length).to.be.greaterThan(0);
        expect(names.length).to.be.greaterThan(0);
        for (const name of names) expect(unsafeJobEnvReason(name.replace('*', 'X'))).to.equal(reason);
      }
    });
  });
});
