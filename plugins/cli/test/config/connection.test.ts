import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { resolveConnection, type ConnectionFlags } from '../../src/config/connection.js';
import { parseKnifeRb } from '../../src/config/knife-rb.js';
import { CliError } from '../../src/errors.js';

const { privateKey: KEY } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

function failure(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(CliError);
    return err as CliError;
  }
  throw new Error('expected a CliError');
}

describe('connection settings', () => {
  let home: string;
  let cwd: string;
  const write = (path: string, text: string): string => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    return path;
  };
  const resolve = (flags: ConnectionFlags = {}, env: NodeJS.ProcessEnv = {}) =>
    resolveConnection(flags, { env: { HOME: home, ...env }, home, cwd });

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'pj-cli-conf-'));
    cwd = join(home, 'work');
    mkdirSync(cwd);
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('takes everything from flags; the org may come from the server URL', () => {
    const key = write(join(home, 'k.pem'), KEY);
    const c = resolve({ 'server-url': 'https://push.example.com/organizations/acme/', user: 'alice', key });
    expect(c).to.deep.include({
      serverUrl: 'https://push.example.com',
      org: 'acme',
      orgUrl: 'https://push.example.com/organizations/acme',
      user: 'alice',
      keyPem: KEY,
      keySource: key,
      insecure: false,
      signVersion: '1.3',
      timeoutMs: 30_000,
    });
  });

  it('an --org replaces the one in the URL; ~/ keys are under HOME; settings flags apply', () => {
    write(join(home, 'keys', 'a.pem'), KEY);
    const ca = write(join(home, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const c = resolve({
      'server-url': 'https://h/prefix/organizations/acme',
      org: 'other',
      user: 'alice',
      key: '~/keys/a.pem',
      'ca-file': ca,
      insecure: true,
      'sign-version': '1.1',
      'request-timeout': 2.5,
    });
    expect(c).to.deep.include({
      serverUrl: 'https://h/prefix',
      org: 'other',
      orgUrl: 'https://h/prefix/organizations/other',
      keySource: join(home, 'keys', 'a.pem'),
      caFile: ca,
      insecure: true,
      signVersion: '1.1',
      timeoutMs: 2500,
    });
  });

  it('reads ~/.push-jobs/config.json, with paths relative to it; flags win', () => {
    write(join(home, '.push-jobs', 'alice.pem'), KEY);
    write(
      join(home, '.push-jobs', 'config.json'),
      JSON.stringify({
        server_url: 'http://push:10003',
        org: 'acme',
        user: 'alice',
        key: 'alice.pem',
        request_timeout: 5,
      }),
    );
    const c = resolve();
    expect(c).to.deep.include({
      orgUrl: 'http://push:10003/organizations/acme',
      user: 'alice',
      keySource: join(home, '.push-jobs', 'alice.pem'),
      timeoutMs: 5000,
    });
    expect(c.origins).to.deep.equal({
      'server-url': join(home, '.push-jobs', 'config.json'),
      org: join(home, '.push-jobs', 'config.json'),
      user: join(home, '.push-jobs', 'config.json'),
      key: join(home, '.push-jobs', 'config.json'),
      'request-timeout': join(home, '.push-jobs', 'config.json'),
    });
    expect(resolve({ user: 'carol' }).user).to.equal('carol');
  });

  it('the reconnect timeout: 60 s by default, reconnect_timeout in the config file, the flag wins; 0 is allowed', () => {
    const key = write(join(home, 'k.pem'), KEY);
    const flags = { 'server-url': 'http://push/organizations/acme', user: 'alice', key };
    expect(resolve(flags).reconnectTimeoutMs).to.equal(60_000);
    expect(resolve(flags).origins).to.not.have.property('reconnect-timeout');
    const config = write(join(home, '.push-jobs', 'config.json'), JSON.stringify({ reconnect_timeout: 300 }));
    expect(resolve(flags).reconnectTimeoutMs).to.equal(300_000);
    expect(resolve(flags).origins['reconnect-timeout']).to.equal(config);
    expect(resolve({ ...flags, 'reconnect-timeout': 0 }).reconnectTimeoutMs).to.equal(0);
    expect(resolve({ ...flags, 'reconnect-timeout': 2.5 }).origins['reconnect-timeout']).to.equal(
      'flags and PUSH_JOBS_* environment variables',
    );
    write(config, JSON.stringify({ reconnect_timeout: -1 }));
    const err = failure(() => resolve(flags));
    expect(err.exitCode).to.equal(3);
    expect(err.message).to.equal(
      `invalid reconnect timeout '-1' (from ${config}); give seconds >= 0 (0: do not retry)`,
    );
    write(config, JSON.stringify({ reconnect_timeout: '60' }));
    expect(failure(() => resolve(flags)).message).to.equal(
      `'reconnect_timeout' in the config file ${config} must be a number; fix it`,
    );
  });

  it('PUSH_JOBS_CONFIG points at another config file, which must exist', () => {
    const key = write(join(home, 'k.pem'), KEY);
    const file = write(
      join(home, 'elsewhere.json'),
      JSON.stringify({ server_url: 'http://x/organizations/o', user: 'u', key }),
    );
    expect(resolve({}, { PUSH_JOBS_CONFIG: file }).orgUrl).to.equal('http://x/organizations/o');
    const err = failure(() => resolve({}, { PUSH_JOBS_CONFIG: join(home, 'missing.json') }));
    expect(err.exitCode).to.equal(3);
    expect(err.message).to.match(
      /^cannot read the config file .*missing\.json: .*; fix PUSH_JOBS_CONFIG or the file$/,
    );
  });

  it('rejects unknown keys and bad JSON in the config file (exit 3)', () => {
    write(join(home, '.push-jobs', 'config.json'), JSON.stringify({ sever_url: 'x' }));
    expect(failure(() => resolve()).message).to.equal(
      `unknown key 'sever_url' in the config file ${join(home, '.push-jobs', 'config.json')} (known: server_url, org, user, key, ca_file, insecure, sign_version, request_timeout, reconnect_timeout); fix it`,
    );
    write(join(home, '.push-jobs', 'config.json'), '{ nope');
    const err = failure(() => resolve());
    expect(err.exitCode).to.equal(3);
    expect(err.message).to.match(/is not valid JSON/);
  });

  it('reads the default ~/.chef/credentials profile, client_key relative to ~/.chef', () => {
    write(join(home, '.chef', 'alice.pem'), KEY);
    write(
      join(home, '.chef', 'credentials'),
      `[default]\nclient_name = "alice"\nclient_key = "alice.pem"\nchef_server_url = "https://chef/organizations/acme"\n\n[prod]\nnode_name = "ops"\nclient_key = """\n${KEY}"""\nchef_server_url = "https://prod/organizations/big"\nssl_verify_mode = ":verify_none"\n`,
    );
    const c = resolve();
    expect(c).to.deep.include({
      orgUrl: 'https://chef/organizations/acme',
      user: 'alice',
      keySource: join(home, '.chef', 'alice.pem'),
    });
    const prod = resolve({ profile: 'prod' });
    expect(prod).to.deep.include({
      orgUrl: 'https://prod/organizations/big',
      user: 'ops',
      keyPem: `${KEY}`,
      keySource: `inline PEM in ${join(home, '.chef', 'credentials')} [prod]`,
      insecure: true,
    });
    // CHEF_PROFILE and ~/.chef/context choose the default profile too.
    expect(resolve({}, { CHEF_PROFILE: 'prod' }).user).to.equal('ops');
    write(join(home, '.chef', 'context'), 'prod\n');
    expect(resolve().user).to.equal('ops');
  });

  it('a named profile outranks the config file; an unknown one is an error', () => {
    write(join(home, '.chef', 'k.pem'), KEY);
    write(
      join(home, '.chef', 'credentials'),
      '[ci]\nclient_name = "robot"\nclient_key = "k.pem"\nchef_server_url = "http://ci/organizations/o"\n',
    );
    write(join(home, '.push-jobs', 'config.json'), JSON.stringify({ user: 'alice' }));
    expect(resolve({ profile: 'ci' }).user).to.equal('robot');
    const err = failure(() => resolve({ profile: 'nope' }));
    expect(err.exitCode).to.equal(3);
    expect(err.message).to.equal(
      `profile 'nope' is not in ${join(home, '.chef', 'credentials')} (profiles: ci); pass --profile with one of them`,
    );
  });

  it('falls back to knife.rb (the first of .chef here or above, then ~/.chef)', () => {
    write(join(home, '.chef', 'me.pem'), KEY);
    write(
      join(home, '.chef', 'knife.rb'),
      `current_dir = File.dirname(__FILE__)\nlog_level :info\nnode_name "me"\nclient_key "#{current_dir}/me.pem"\nchef_server_url 'https://chef.example.com/organizations/acme'\n`,
    );
    expect(resolve()).to.deep.include({ user: 'me', orgUrl: 'https://chef.example.com/organizations/acme' });
    // As knife: the first configuration found is the one read (a project's .chef wins).
    write(
      join(cwd, '.chef', 'config.rb'),
      `node_name 'local'\nclient_key '${join(home, '.chef', 'me.pem')}'\nchef_server_url 'http://local/organizations/dev'\n`,
    );
    const c = resolve();
    expect(c).to.deep.include({ user: 'local', orgUrl: 'http://local/organizations/dev' });
    expect(c.origins.user).to.equal(join(cwd, '.chef', 'config.rb'));
  });

  const missing: [string, ConnectionFlags, RegExp][] = [
    ['server', { org: 'o', user: 'u', key: 'k' }, /^no push jobs server configured; pass --server-url/],
    ['org', { 'server-url': 'http://h', user: 'u', key: 'k' }, /^no organization configured; pass --org/],
    ['user', { 'server-url': 'http://h/organizations/o', key: 'k' }, /^no user configured; pass --user/],
    ['key', { 'server-url': 'http://h/organizations/o', user: 'u' }, /^no client key configured; pass --key/],
  ];
  for (const [what, flags, message] of missing) {
    it(`a missing ${what} is a config error (exit 3)`, () => {
      const err = failure(() => resolve(flags));
      expect(err.exitCode).to.equal(3);
      expect(err.message).to.match(message);
    });
  }

  it('an unreadable key and a key that is not RSA are key errors (exit 3), never quoting the key', () => {
    const flags = { 'server-url': 'http://h/organizations/o', user: 'u' };
    const gone = failure(() => resolve({ ...flags, key: join(home, 'gone.pem') }));
    expect(gone).to.deep.include({ code: 'PJ_ERR_KEY', exitCode: 3 });
    expect(gone.message).to.equal(
      `cannot read the client key ${join(home, 'gone.pem')} (no such file); pass --key (or PUSH_JOBS_KEY) with the path to your private key`,
    );
    const junk = write(join(home, 'junk.pem'), 'SECRET-LOOKING-TEXT');
    const bad = failure(() => resolve({ ...flags, key: junk }));
    expect(bad).to.deep.include({ code: 'PJ_ERR_KEY', exitCode: 3 });
    expect(bad.message).to.equal(
      `the client key ${junk} is not an RSA private key in PEM format; pass --key with the private key of 'u'`,
    );
    expect(bad.message).to.not.include('SECRET');
  });

  it('rejects a bad URL, a CA file without a certificate, a bad signing version', () => {
    const key = write(join(home, 'k.pem'), KEY);
    expect(
      failure(() => resolve({ 'server-url': 'ftp://h/organizations/o', user: 'u', key })).message,
    ).to.equal(
      "invalid server URL 'ftp://h/organizations/o' (from flags and PUSH_JOBS_* environment variables); it must start with https:// or http://",
    );
    const notCa = write(join(home, 'ca.pem'), 'hello');
    expect(
      failure(() => resolve({ 'server-url': 'http://h/organizations/o', user: 'u', key, 'ca-file': notCa }))
        .message,
    ).to.equal(`the CA file ${notCa} holds no PEM certificate; fix --ca-file`);
    write(join(home, '.push-jobs', 'config.json'), JSON.stringify({ sign_version: '2.0' }));
    expect(
      failure(() => resolve({ 'server-url': 'http://h/organizations/o', user: 'u', key })).message,
    ).to.equal(
      `unsupported signing version '2.0' (from ${join(home, '.push-jobs', 'config.json')}); use one of 1.0, 1.1, 1.2, 1.3`,
    );
  });
});

describe('parseKnifeRb', () => {
  it('reads the settings it knows, with variables, interpolation, ENV and File helpers', () => {
    const text = `
# comment
current_dir = File.dirname(__FILE__)
keys = File.join(current_dir, "keys")
log_location STDOUT
node_name        "alice"                 # who
client_key       "#{keys}/alice.pem"
chef_server_url  "https://#{ENV['CHEF_HOST']}/organizations/acme"
ssl_ca_file      File.expand_path("ca.pem", __dir__)
ssl_verify_mode  :verify_none
knife[:editor] = "vim"
cookbook_path    ["#{current_dir}/../cookbooks"]
`;
    expect(parseKnifeRb(text, '/home/a/.chef/knife.rb', { CHEF_HOST: 'chef.example.com' })).to.deep.equal({
      user: 'alice',
      key: { path: '/home/a/.chef/keys/alice.pem' },
      serverUrl: 'https://chef.example.com/organizations/acme',
      caFile: '/home/a/.chef/ca.pem',
      insecure: true,
    });
  });

  it('ignores lines it cannot evaluate, keeps relative keys relative to the file', () => {
    const text = `chef_server_url "https://#{ENV['UNSET_VAR']}/organizations/x"\nclient_key('me.pem')\nnode_name = "x" if true\n`;
    expect(parseKnifeRb(text, '/etc/chef/config.rb', {})).to.deep.equal({
      key: { path: '/etc/chef/me.pem' },
    });
  });
});
