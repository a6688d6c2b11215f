// Every command and flag the issue lists exists (as knife-push spells them), each command has
// examples in --help, and every command takes --json.
import { expect } from 'chai';
import { Config } from '@oclif/core';
import { cli, CLI_ROOT, isolateEnv, restoreEnv } from './helpers/harness.js';

const COMMANDS: Record<string, { flags: string[]; chars?: Record<string, string> }> = {
  'push:jobs:start': {
    flags: [
      'timeout',
      'quorum',
      'search',
      'file',
      'capture',
      'with-env',
      'as-user',
      'in-dir',
      'nowait',
      'poll-interval',
      'abort-on-interrupt',
      'reconnect-timeout',
    ],
    chars: { quorum: 'q', search: 's', nowait: 'b' },
  },
  'push:jobs:list': { flags: ['status'] },
  'push:jobs:status': { flags: [] },
  'push:jobs:output': { flags: ['channel', 'all-nodes'] },
  'push:jobs:abort': { flags: [] },
  'push:jobs:watch': { flags: ['count', 'last-event-id', 'reconnect-timeout'] },
  'push:node:status': { flags: ['search'] },
  'push:whitelist:add': { flags: ['node', 'search'] },
  'push:whitelist:remove': { flags: ['node', 'search'] },
  'push:whitelist:list': { flags: [] },
};

const CONNECTION = ['server-url', 'org', 'user', 'key', 'profile', 'ca-file', 'insecure', 'debug', 'json'];

describe('commands and flags', () => {
  let config: Config;
  before(async () => {
    config = await Config.load(CLI_ROOT);
  });
  afterEach(() => restoreEnv());

  it('has exactly the listed commands (and help, from @oclif/plugin-help)', () => {
    expect(
      config.commands
        .map((c) => c.id)
        .filter((id) => id !== 'help')
        .sort(),
    ).to.deep.equal(Object.keys(COMMANDS).sort());
  });

  for (const [id, want] of Object.entries(COMMANDS)) {
    it(`${id.replaceAll(':', ' ')}: its flags, the connection flags, --json, examples`, () => {
      const cmd = config.findCommand(id);
      expect(cmd, id).to.not.equal(undefined);
      const flags = cmd!.flags;
      for (const name of [...want.flags, ...CONNECTION]) expect(flags, `--${name}`).to.have.property(name);
      for (const [name, char] of Object.entries(want.chars ?? {})) expect(flags[name]!.char).to.equal(char);
      expect((cmd!.examples ?? []).length, 'examples').to.be.greaterThan(0);
      expect(cmd!.summary ?? cmd!.description ?? '', 'summary').to.not.equal('');
    });
  }

  it('--help of jobs start shows the knife-push options and examples', async () => {
    isolateEnv();
    const run = await cli(['push', 'jobs', 'start', '--help']);
    expect(run.exitCode).to.equal(0);
    for (const text of [
      '-q, --quorum=<value>',
      '-s, --search=<value>',
      '-b, --nowait',
      '--timeout=<value>',
      '--with-env=<value>',
      '--poll-interval=<value>',
      '--reconnect-timeout=<value>',
      'EXAMPLES',
      'push jobs start chef-client web1 web2',
    ]) {
      expect(run.stdout).to.include(text);
    }
  });
});
