import { expect } from 'chai';
import { parseToml, TomlError } from '../../src/config/toml.js';

describe('parseToml (the credentials subset)', () => {
  it('reads profiles with strings, numbers, booleans, arrays and comments', () => {
    const text = `# Chef credentials
[default]
client_name = "alice"   # trailing comment
client_key = 'C:\\keys\\alice.pem'
chef_server_url = "https://chef.example.com/organizations/acme"

['dev.example']
node_name = "bob"
port = 10_003
ratio = 0.5
verify = false
list = [ "a", 'b',
  "c", ]

[default.knife]
editor = "vim"
`;
    expect(parseToml(text)).to.deep.equal({
      default: {
        client_name: 'alice',
        client_key: 'C:\\keys\\alice.pem',
        chef_server_url: 'https://chef.example.com/organizations/acme',
        knife: { editor: 'vim' },
      },
      'dev.example': { node_name: 'bob', port: 10003, ratio: 0.5, verify: false, list: ['a', 'b', 'c'] },
    });
  });

  it('reads multi-line strings (an inline PEM key) and escapes', () => {
    const text = `[p]
client_key = """
-----BEGIN RSA PRIVATE KEY-----
MIIB
-----END RSA PRIVATE KEY-----
"""
lit = '''
raw \\n text'''
esc = "tab\\there \\u00e9 \\"q\\""
folded = """a \\
   b"""
`;
    expect(parseToml(text)).to.deep.equal({
      p: {
        client_key: '-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n',
        lit: 'raw \\n text',
        esc: 'tab\there é "q"',
        folded: 'a b',
      },
    });
  });

  it('supports dotted keys and CRLF line ends', () => {
    expect(parseToml('[a]\r\nb.c = 1\r\n"d e" = "x"\r\n')).to.deep.equal({ a: { b: { c: 1 }, 'd e': 'x' } });
  });

  const bad: [string, string, number][] = [
    ['[a]\nx = \n', 'expected a value', 2],
    ['x = "open\n', 'unterminated string', 1],
    ['[a]\nx = 1\nx = 2\n', "duplicate key 'x'", 3],
    ['x = { a = 1 }\n', 'inline tables are not supported here', 1],
    ['[[a]]\n', 'arrays of tables are not supported here', 1],
    ['x = bare\n', "unsupported value 'bare' (quote strings)", 1],
    ['x = 1 y\n', "unexpected 'y' after the value", 1],
    ['x = 1\n[x]\n', "'x' is already a value, not a table", 2],
  ];
  for (const [text, message, line] of bad) {
    it(`rejects ${JSON.stringify(text)} with the line number`, () => {
      let err: unknown;
      try {
        parseToml(text);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(TomlError);
      expect((err as TomlError).message).to.equal(`line ${line}: ${message}`);
      expect((err as TomlError).line).to.equal(line);
    });
  }
});
