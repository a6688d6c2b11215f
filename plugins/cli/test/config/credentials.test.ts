// ~/.chef/credentials as Chef writes and reads it: profiles as TOML tables, every kind of
// quoting, an inline PEM key, and errors that say where without quoting the file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { profileSettings, readCredentials, type CredentialsFile } from '../../src/config/credentials.js';
import { CliError } from '../../src/errors.js';

const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIBSECRETSECRET\n-----END RSA PRIVATE KEY-----\n';

describe('~/.chef/credentials', () => {
  let dir: string;
  let path: string;
  const read = (text: string): CredentialsFile => {
    writeFileSync(path, text);
    const file = readCredentials(path);
    expect(file).to.not.equal(undefined);
    return file!;
  };
  const failure = (text: string): CliError => {
    writeFileSync(path, text);
    try {
      readCredentials(path);
    } catch (err) {
      expect(err).to.be.instanceOf(CliError);
      return err as CliError;
    }
    throw new Error('expected a CliError');
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pj-cli-cred-'));
    path = join(dir, 'credentials');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is undefined when there is no file', () => {
    expect(readCredentials(join(dir, 'none'))).to.equal(undefined);
  });

  it('reads profiles with basic, literal and quoted names, comments and escapes', () => {
    const file = read(`# Chef credentials
[default]
client_name = "alice"   # trailing comment
client_key = 'C:\\keys\\alice.pem'
chef_server_url = "https://chef.example.com/organizations/acme"

['dev.example']
node_name = "b\\u00f6b"
ssl_verify_mode = ":verify_peer"
port = 10_003

["with space"]
"client_name" = 'x y'

[default.knife]
editor = "vim"
`);
    expect(file.profiles).to.deep.equal({
      default: {
        client_name: 'alice',
        client_key: 'C:\\keys\\alice.pem',
        chef_server_url: 'https://chef.example.com/organizations/acme',
        knife: { editor: 'vim' },
      },
      'dev.example': { node_name: 'böb', ssl_verify_mode: ':verify_peer', port: 10003 },
      'with space': { client_name: 'x y' },
    });
    expect(profileSettings(file, 'default', true)).to.deep.equal({
      serverUrl: 'https://chef.example.com/organizations/acme',
      user: 'alice',
      key: { path: join(dir, 'C:\\keys\\alice.pem') },
    });
    expect(profileSettings(file, 'dev.example', true)).to.deep.equal({ user: 'böb', insecure: false });
  });

  it('takes an inline PEM key from a multi-line basic or literal string; CRLF and a BOM are fine', () => {
    const basic = read(`[p]\r\nclient_key = """\r\n${PEM.replace(/\n/g, '\r\n')}"""\r\n`);
    expect(profileSettings(basic, 'p', true).key).to.deep.equal({ pem: PEM.replace(/\n/g, '\r\n') });
    const literal = read(`\uFEFF[p]\nclient_key = '''\n${PEM}'''\nclient_name = "n"\n`);
    expect(profileSettings(literal, 'p', true)).to.deep.equal({ user: 'n', key: { pem: PEM } });
  });

  it('all of TOML parses (inline tables, dates, arrays of tables), and only tables are profiles', () => {
    const file = read(
      'when = 1979-05-27T07:32:00Z\n[a]\nclient_name = "a"\nextra = { k = 1 }\n[[list]]\nx = 1\n',
    );
    expect(profileSettings(file, 'a', true)).to.deep.equal({ user: 'a' });
    expect(profileSettings(file, 'when', false)).to.deep.equal({});
    expect(() => profileSettings(file, 'when', true)).to.throw(CliError, /\(profiles: a\)/);
  });

  const bad: [string, string, string][] = [
    ['[a]\nx = \n', 'line 2, column 5', 'incomplete key-value declaration: no value specified'],
    [
      'x = "open"\n[a]]\n',
      'line 2, column 4',
      'each key-value declaration must be followed by an end-of-line',
    ],
    ['[a]\nx = 1\nx = 2\n', 'line 3, column 1', 'trying to redefine an already defined table or value'],
    ['x = bare\n', 'line 1, column 5', 'invalid value'],
  ];
  for (const [text, where, what] of bad) {
    it(`names line and column of a syntax error: ${JSON.stringify(text)}`, () => {
      const err = failure(text);
      expect(err.exitCode).to.equal(3);
      expect(err.message).to.equal(
        `${path} is not valid TOML (${where}: ${what}); fix the file or pass settings as flags`,
      );
    });
  }

  it('never quotes the file in an error, so an inline key near the mistake stays out of it', () => {
    const err = failure(`[p]\nclient_key = """\n${PEM}"""\nclient_name = alice\n`);
    expect(err.message).to.match(/^.* is not valid TOML \(line 7, column \d+: invalid value\)/);
    expect(err.message).to.not.include('SECRET');
    expect(err.message).to.not.include('alice');
    expect(err.message).to.not.include('\n');
  });
});
