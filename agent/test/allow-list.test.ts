// AllowList: client spec A.11 (whitelist semantics), with the examples of the original's
// spec/pushy_client/whitelist_spec.rb, plus the security-relevant edge cases.
import { expect } from 'chai';
import { DEFAULT_WHITELIST, type Whitelist } from '@push-jobs/protocol';
import { AllowList, AllowListError } from '../src/allow-list.js';

describe('AllowList', () => {
  describe('spec A.11 examples', () => {
    const list = new AllowList({
      'chef-client': 'chef-client',
      '/^deliverance (.+)$/': 'deliverance eats at \\1',
      '/^hard (.+)$/': { lock: true, command_line: 'tastes like \\1' },
    });

    it('an exact key returns its own value', () => {
      expect(list.match('chef-client')).to.deep.equal({
        key: 'chef-client',
        kind: 'exact',
        commandLine: 'chef-client',
        lock: false,
      });
    });

    it("regex '^deliverance (.+)$' with 'deliverance eats at \\1' turns 'deliverance lunchtime' into 'deliverance eats at lunchtime'", () => {
      expect(list.match('deliverance lunchtime')).to.deep.equal({
        key: '/^deliverance (.+)$/',
        kind: 'regex',
        commandLine: 'deliverance eats at lunchtime',
        lock: false,
      });
    });

    it("regex '^hard (.+)$' with a hash value turns 'hard chicken' into {lock: true, command_line: 'tastes like chicken'}", () => {
      expect(list.match('hard chicken')).to.deep.equal({
        key: '/^hard (.+)$/',
        kind: 'regex',
        commandLine: 'tastes like chicken',
        lock: true,
      });
    });

    it('a command that matches no key gives nothing', () => {
      expect(list.match('bogus')).to.equal(undefined);
    });

    it('the hash value is not modified by a lookup (deep copy)', () => {
      const whitelist: Whitelist = { '/^hard (.+)$/': { lock: true, command_line: 'tastes like \\1' } };
      const l = new AllowList(whitelist);
      l.match('hard chicken');
      l.match('hard tofu');
      expect(whitelist).to.deep.equal({ '/^hard (.+)$/': { lock: true, command_line: 'tastes like \\1' } });
      expect(l.match('hard tofu')?.commandLine).to.equal('tastes like tofu');
    });
  });

  describe('precedence', () => {
    it('an exact key wins over an earlier regex key that also matches', () => {
      const list = new AllowList({ '/^chef/': 'regex wins', 'chef-client': 'exact wins' });
      expect(list.match('chef-client')).to.include({ kind: 'exact', commandLine: 'exact wins' });
      expect(list.match('chef-solo')).to.include({ kind: 'regex', commandLine: 'regex wins-solo' });
    });

    it('regex keys are tried in insertion order; the first match wins', () => {
      const list = new AllowList({ '/^a(.*)$/': 'first \\1', '/^ab(.*)$/': 'second \\1' });
      expect(list.match('abc')).to.include({ key: '/^a(.*)$/', commandLine: 'first bc' });
      const reversed = new AllowList({ '/^ab(.*)$/': 'second \\1', '/^a(.*)$/': 'first \\1' });
      expect(reversed.match('abc')).to.include({ key: '/^ab(.*)$/', commandLine: 'second c' });
    });

    it('the exact value is returned unchanged (no back-reference expansion)', () => {
      const list = new AllowList({ run: 'echo \\1 $1 $&' });
      expect(list.match('run')?.commandLine).to.equal('echo \\1 $1 $&');
    });
  });

  describe('substitution (Ruby gsub)', () => {
    it('replaces every match, keeping unmatched text', () => {
      const list = new AllowList({ '/o/': '0' });
      expect(list.match('foo bar boo')?.commandLine).to.equal('f00 bar b00');
    });

    it("supports \\0, \\&, \\k<name>, \\` and \\' and \\\\", () => {
      const list = new AllowList({ '/(?<who>b+)/': "[\\0|\\&|\\k<who>|\\`|\\'|\\\\]" });
      expect(list.match('abbc')?.commandLine).to.equal('a[bb|bb|bb|a|c|\\]c');
    });

    it('an unmatched group expands to the empty string; $ is literal', () => {
      const list = new AllowList({ '/^x(y)?(z)$/': 'run \\1-\\2 $1' });
      expect(list.match('xz')?.commandLine).to.equal('run -z $1');
    });

    it('flags from the key are applied', () => {
      const list = new AllowList({ '/^DEPLOY ([a-z]+)$/i': 'deploy.sh \\1' });
      expect(list.match('deploy web')?.commandLine).to.equal('deploy.sh web');
    });
  });

  describe('shell metacharacters never match a plain key', () => {
    const list = new AllowList({ 'chef-client': 'chef-client' });
    for (const cmd of [
      'chef-client; rm -rf /',
      'chef-client && id',
      'chef-client | sh',
      '$(id)',
      'chef-client $(id)',
      '`id`',
      'chef-client `id`',
      'chef-client\nrm -rf /',
      '\nchef-client',
      'chef-client\n',
      ' chef-client',
      'chef-client ',
      'chef-client\0',
      'CHEF-CLIENT',
      '',
    ]) {
      it(`rejects ${JSON.stringify(cmd)}`, () => {
        expect(list.match(cmd)).to.equal(undefined);
      });
    }

    it('inherited object properties are not keys', () => {
      for (const cmd of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
        expect(list.match(cmd), cmd).to.equal(undefined);
      }
    });
  });

  describe('regex anchoring', () => {
    it('an anchored key does not match a longer string (^ and $ anchor the whole string, not a line)', () => {
      const list = new AllowList({ '/^deliverance (\\w+)$/': 'deliverance eats at \\1' });
      expect(list.match('deliverance lunch; rm -rf /')).to.equal(undefined);
      expect(list.match('deliverance lunch\nrm -rf /')).to.equal(undefined);
      expect(list.match('rm -rf /\ndeliverance lunch')).to.equal(undefined);
    });

    it('with the m flag, ^ and $ anchor at lines, as in Ruby, and the other lines are kept', () => {
      const list = new AllowList({ '/^deliverance (\\w+)$/m': 'deliverance eats at \\1' });
      expect(list.match('deliverance lunch\nrm -rf /')?.commandLine).to.equal(
        'deliverance eats at lunch\nrm -rf /',
      );
    });

    it('RISK (as in the original): an unanchored key keeps the rest of a longer malicious command', () => {
      const list = new AllowList({ '/deliverance (\\w+)/': 'deliverance eats at \\1' });
      expect(list.match('x; rm -rf / #deliverance lunch')?.commandLine).to.equal(
        'x; rm -rf / #deliverance eats at lunch',
      );
    });

    it('RISK (as in the original): a permissive capture passes shell syntax into the command line', () => {
      const list = new AllowList({ '/^deliverance (.+)$/': 'deliverance eats at \\1' });
      expect(list.match('deliverance $(id)')?.commandLine).to.equal('deliverance eats at $(id)');
      expect(list.match('deliverance `id`')?.commandLine).to.equal('deliverance eats at `id`');
      // `.` does not cross a newline without the s flag, and `$` is end of string.
      expect(list.match('deliverance lunch\nrm -rf /')).to.equal(undefined);
    });

    it('a narrow capture rejects shell syntax', () => {
      const list = new AllowList({ '/^deploy ([a-z0-9-]+)$/': 'deploy.sh \\1' });
      expect(list.match('deploy web-1')?.commandLine).to.equal('deploy.sh web-1');
      expect(list.match('deploy $(id)')).to.equal(undefined);
      expect(list.match('deploy web;id')).to.equal(undefined);
    });

    it('repeated lookups with a global regex give the same answer (no lastIndex state)', () => {
      const list = new AllowList({ '/^go (\\w+)$/': 'go.sh \\1' });
      for (let i = 0; i < 3; i++) expect(list.match('go now')?.commandLine).to.equal('go.sh now');
      const sticky = new AllowList({ '/go/y': 'GO' });
      for (let i = 0; i < 3; i++) expect(sticky.match('gogo x')?.commandLine).to.equal('GOGO x');
    });
  });

  describe('lock entries', () => {
    const list = new AllowList({
      'chef-client': { command_line: 'chef-client -j /etc/chef/first-boot.json', lock: true },
      custom: { command_line: 'backup.sh', lock: '/var/run/backup.lock' },
      nolock: { command_line: 'uptime', lock: false },
      plain: { command_line: 'hostname' },
    });

    it('lock: true', () => {
      expect(list.match('chef-client')).to.deep.equal({
        key: 'chef-client',
        kind: 'exact',
        commandLine: 'chef-client -j /etc/chef/first-boot.json',
        lock: true,
      });
    });

    it('lock: a path', () => {
      expect(list.match('custom')).to.include({ commandLine: 'backup.sh', lock: '/var/run/backup.lock' });
    });

    it('lock: false and no lock give false', () => {
      expect(list.match('nolock')).to.include({ commandLine: 'uptime', lock: false });
      expect(list.match('plain')).to.include({ commandLine: 'hostname', lock: false });
    });

    it('a regex key keeps its lock path', () => {
      const l = new AllowList({
        '/^backup (\\w+)$/': { command_line: 'backup.sh \\1', lock: '/tmp/b.lock' },
      });
      expect(l.match('backup db')).to.include({ commandLine: 'backup.sh db', lock: '/tmp/b.lock' });
    });
  });

  describe('default whitelist', () => {
    it('allows chef-client only', () => {
      const list = AllowList.default();
      expect(list.keys()).to.deep.equal(Object.keys(DEFAULT_WHITELIST));
      expect(list.size).to.equal(1);
      expect(list.match('chef-client')).to.deep.equal({
        key: 'chef-client',
        kind: 'exact',
        commandLine: 'chef-client',
        lock: false,
      });
      expect(list.match('chef-client -o recipe[x]')).to.equal(undefined);
      expect(list.match('ls')).to.equal(undefined);
    });

    it('fromConfig uses the default only when the setting is absent', () => {
      expect(AllowList.fromConfig(undefined).keys()).to.deep.equal(['chef-client']);
      expect(AllowList.fromConfig({}).match('chef-client')).to.equal(undefined);
      expect(AllowList.fromConfig({ ls: 'ls -l' }).keys()).to.deep.equal(['ls']);
    });

    it('keys() keeps insertion order and is a copy', () => {
      const list = new AllowList({ b: 'b', '/a/': 'a', c: 'c' });
      const keys = list.keys();
      keys.pop();
      expect(list.keys()).to.deep.equal(['b', '/a/', 'c']);
    });
  });

  describe('invalid whitelists are rejected', () => {
    function rejects(whitelist: unknown, pattern: RegExp, key?: string): void {
      let caught: unknown;
      try {
        new AllowList(whitelist as Whitelist);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(AllowListError);
      expect((caught as AllowListError).message).to.match(pattern);
      if (key !== undefined) expect((caught as AllowListError).key).to.equal(key);
    }

    it('not an object', () => {
      rejects(null, /must be an object.*null/);
      rejects(['chef-client'], /must be an object.*array/);
      rejects('chef-client', /must be an object.*string/);
    });

    it('an empty key', () => {
      rejects({ '': 'x' }, /non-empty/, '');
    });

    it('a value that is neither a string nor { command_line }', () => {
      rejects({ bad: 42 }, /'bad'.*command line string/, 'bad');
      rejects({ bad: null }, /'bad'.*null/, 'bad');
      rejects({ bad: ['ls'] }, /'bad'.*array/, 'bad');
      rejects({ bad: {} }, /'bad': command_line must be a string, got a undefined/, 'bad');
      rejects({ bad: { command_line: 5 } }, /'bad': command_line must be a string/, 'bad');
      rejects({ bad: { command_line: 'ls', user: 'root' } }, /'bad': unknown property 'user'/, 'bad');
    });

    it('a bad lock', () => {
      rejects({ bad: { command_line: 'ls', lock: '' } }, /'bad': lock .*empty string/, 'bad');
      rejects({ bad: { command_line: 'ls', lock: 1 } }, /'bad': lock .*number/, 'bad');
    });

    it('a regex key that does not compile, or is empty', () => {
      rejects({ '/(/': 'x' }, /'\/\(\/': invalid regular expression/, '/(/');
      rejects({ '/a/uv': 'x' }, /invalid regular expression/, '/a/uv');
      rejects({ '//': 'x' }, /'\/\/': empty regular expression/, '//');
    });

    it('names the first bad key even after good ones', () => {
      rejects({ ok: 'ok', worse: 7 }, /'worse'/, 'worse');
    });
  });
});
