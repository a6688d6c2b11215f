import { expect } from 'chai';
import { AGENT_USAGE, parseAgentArgs, UsageError } from '../src/config/index.js';

describe('config: parseAgentArgs', function () {
  it('returns no flags for no arguments', function () {
    expect(parseAgentArgs([])).to.deep.equal({ help: false, version: false, flags: {} });
  });

  it('reads every short flag', function () {
    const args = [
      '-c',
      '/c.rb',
      '-k',
      '/k.pem',
      '-l',
      'debug',
      '-L',
      '/log',
      '-N',
      'n1',
      '-S',
      'https://s/organizations/o',
    ];
    args.push('-d', '/files', '-M', '1234');
    expect(parseAgentArgs(args).flags).to.deep.equal({
      config_file: '/c.rb',
      client_key: '/k.pem',
      log_level: 'debug',
      log_location: '/log',
      node_name: 'n1',
      chef_server_url: 'https://s/organizations/o',
      file_dir: '/files',
      max_body_size: '1234',
    });
  });

  it('reads every long flag', function () {
    const parsed = parseAgentArgs([
      '--config=/c.rb',
      '--client-key',
      '/k.pem',
      '--log_level',
      'WARN',
      '--logfile',
      'STDERR',
      '--node-name',
      'n1',
      '--server',
      'https://s/organizations/o',
      '--file_dir',
      '/files',
      '--max-body-size',
      '99',
      '--allow_unencrypted',
    ]);
    expect(parsed).to.deep.equal({
      help: false,
      version: false,
      flags: {
        config_file: '/c.rb',
        client_key: '/k.pem',
        log_level: 'warn',
        log_location: 'STDERR',
        node_name: 'n1',
        chef_server_url: 'https://s/organizations/o',
        file_dir: '/files',
        max_body_size: '99',
        allow_unencrypted: true,
      },
    });
    expect(parseAgentArgs(['--client_key', '/a.pem']).flags.client_key).to.equal('/a.pem');
  });

  it('adds up repeated --chef-server-urls, in order, across spellings', function () {
    const a = 'https://a/organizations/o';
    const b = 'https://b/organizations/o';
    const c = 'https://c/organizations/o';
    expect(
      parseAgentArgs(['--chef-server-urls', a, '--chef_server_urls', b, `--chef-server-urls=${c}`]).flags,
    ).to.deep.equal({ chef_server_urls: [a, b, c] });
    expect(AGENT_USAGE).to.contain('--chef-server-urls URL');
  });

  it('keeps the last value of a repeated flag, across spellings', function () {
    expect(
      parseAgentArgs(['-k', '/a', '--client_key', '/b', '--client-key', '/c']).flags.client_key,
    ).to.equal('/c');
    expect(parseAgentArgs(['--client-key', '/c', '-k', '/a']).flags.client_key).to.equal('/a');
  });

  it('reads --help/-h and --version/-v', function () {
    expect(parseAgentArgs(['--help']).help).to.equal(true);
    expect(parseAgentArgs(['-h']).help).to.equal(true);
    expect(parseAgentArgs(['--version'])).to.deep.equal({ help: false, version: true, flags: {} });
    expect(parseAgentArgs(['-v']).version).to.equal(true);
  });

  it('throws UsageError for an unknown flag, a missing value, a positional or a bad log level', function () {
    expect(() => parseAgentArgs(['--bogus'])).to.throw(UsageError, /Unknown option '--bogus'/);
    expect(() => parseAgentArgs(['-x'])).to.throw(UsageError, /Unknown option '-x'/);
    expect(() => parseAgentArgs(['-c'])).to.throw(UsageError, /argument missing/);
    expect(() => parseAgentArgs(['extra'])).to.throw(UsageError, /positional/i);
    expect(() => parseAgentArgs(['-l', 'loud'])).to.throw(
      UsageError,
      "invalid log level 'loud' for -l (use debug, info, warn, error, fatal)",
    );
  });

  it('documents every option in AGENT_USAGE', function () {
    for (const flag of [
      '-c, --config',
      '-h, --help',
      '-k, --client_key',
      '--client-key',
      '-l, --log_level',
      '-L, --logfile',
    ]) {
      expect(AGENT_USAGE).to.contain(flag);
    }
    for (const flag of [
      '-N, --node-name',
      '-S, --server',
      '-v, --version',
      '-d, --file_dir',
      '-M, --max-body-size',
      '--allow_unencrypted',
    ]) {
      expect(AGENT_USAGE).to.contain(flag);
    }
  });
});
