import { expect } from 'chai';
import {
  attributeLevelsFromDocument,
  CookbookError,
  defaultAttributes,
  familyFromOsRelease,
  mergeAttributes,
  parseAttributesFile,
  PLATFORM_FAMILIES,
  PLATFORM_PROFILES,
  precedenceLayers,
  requireConnection,
  validateAttributes,
  validateAttributesDetailed,
  type AttributeLevels,
  type PlatformFamily,
} from '../src/index.js';

const SERVER_URL = 'https://push.example.com/organizations/acme';

/** The CookbookError `fn` throws (fails the test when it does not throw one). */
function cookbookError(fn: () => unknown): CookbookError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(CookbookError);
    return err as CookbookError;
  }
  expect.fail('expected a CookbookError');
}

describe('attributes', () => {
  describe('defaults (spec C.2)', () => {
    it('has a row for every supported family, and the same Linux defaults on each', () => {
      expect(Object.keys(PLATFORM_PROFILES).sort()).to.deep.equal([...PLATFORM_FAMILIES].sort());
      for (const family of PLATFORM_FAMILIES) {
        const d = defaultAttributes(family);
        expect(d.whitelist, family).to.deep.equal({ 'chef-client': 'chef-client' });
        expect(d.environment_variables).to.deep.equal({ LC_ALL: 'en_US.UTF-8' });
        expect(d.allow_unencrypted).to.equal(false);
        expect(d.chef).to.deep.equal({
          chef_server_url: null,
          node_name: null,
          client_key_path: '/etc/chef/client.pem',
          client_key_source: null,
          trusted_certs_path: '/etc/chef/trusted_certs',
          verify_api_cert: true,
          ssl_verify_mode: 'verify_peer',
          include_timestamp: false,
        });
        expect(d.logging_level).to.equal('info');
        expect(d.logging_dir).to.equal('/var/log/chef');
        expect(d.service_name).to.equal('chef-push-jobs-client');
        expect(d.init_style).to.equal(null);
        expect(d.install_prefix).to.equal('/opt/push-jobs');
        expect(d.package_name).to.equal('@push-jobs/agent');
      }
    });

    it('differs per family only where the platform does (sysvinit lock dir, enable tool)', () => {
      expect(PLATFORM_PROFILES.debian.sysvLockDir).to.equal('/var/lock');
      expect(PLATFORM_PROFILES.debian.sysvEnable).to.equal('update-rc.d');
      for (const family of ['rhel', 'suse', 'amazon'] as const) {
        expect(PLATFORM_PROFILES[family].sysvLockDir).to.equal('/var/lock/subsys');
        expect(PLATFORM_PROFILES[family].sysvEnable).to.equal('chkconfig');
      }
    });

    it('returns a fresh object each time', () => {
      const a = defaultAttributes('debian');
      a.whitelist['x'] = 'y';
      expect(defaultAttributes('debian').whitelist).to.not.have.property('x');
    });

    it('rejects other platform families with a clear message', () => {
      const err = cookbookError(() => defaultAttributes('windows' as PlatformFamily));
      expect(err.message).to.equal(
        'platform family "windows" is not supported: this cookbook supports debian, rhel, suse, amazon ' +
          '(pass --platform-family or options.platformFamily)',
      );
      expect(cookbookError(() => validateAttributes({}, 'freebsd' as PlatformFamily)).message).to.match(
        /"freebsd" is not supported/,
      );
    });

    it('tells the family from /etc/os-release ID and ID_LIKE', () => {
      expect(familyFromOsRelease('ID=ubuntu\nID_LIKE=debian\n')).to.equal('debian');
      expect(familyFromOsRelease('ID="rocky"\nID_LIKE="rhel centos fedora"\n')).to.equal('rhel');
      expect(familyFromOsRelease('ID="sles"\n')).to.equal('suse');
      expect(familyFromOsRelease('ID="amzn"\nID_LIKE="centos rhel fedora"\n')).to.equal('amazon');
      expect(familyFromOsRelease('ID=pop\nID_LIKE="ubuntu debian"\n')).to.equal('debian');
      expect(familyFromOsRelease('ID=alpine\n')).to.equal(undefined);
    });
  });

  describe('precedence (default < normal < override)', () => {
    it('deep-merges hashes, later layers win, inputs untouched', () => {
      const dflt = { whitelist: { a: 'A' }, logging_level: 'debug' };
      const normal = { whitelist: { b: 'B' }, logging_level: 'warn' };
      const override = { whitelist: { a: 'A2' } };
      const merged = mergeAttributes(dflt, normal, override);
      expect(merged).to.deep.equal({ whitelist: { a: 'A2', b: 'B' }, logging_level: 'warn' });
      expect(dflt.whitelist).to.deep.equal({ a: 'A' });
    });

    it('replaces arrays and scalars; null removes a whitelist or environment entry', () => {
      const merged = mergeAttributes(
        { allowed_overwritable_env_vars: ['A', 'B'], environment_variables: { LC_ALL: 'C', X: '1' } },
        { allowed_overwritable_env_vars: ['C'], environment_variables: { LC_ALL: null } },
      );
      expect(merged.allowed_overwritable_env_vars).to.deep.equal(['C']);
      const attrs = validateAttributes(
        mergeAttributes(merged, { whitelist: { 'chef-client': null, uptime: 'uptime' } }),
        'debian',
      );
      expect(attrs.environment_variables).to.deep.equal({ X: '1' });
      expect(attrs.whitelist).to.deep.equal({ uptime: 'uptime' });
    });

    it('orders several sources level by level: every default, then every normal, then every override', () => {
      const server: AttributeLevels = {
        default: { logging_level: 'debug' },
        normal: { logging_level: 'warn' },
        override: { no_proxy: 'server' },
      };
      const file: AttributeLevels = { default: { logging_level: 'error' }, normal: { no_proxy: 'file' } };
      const flags: AttributeLevels = { override: { chef: { node_name: 'web1' } } };
      const attrs = validateAttributes(mergeAttributes(...precedenceLayers(server, file, flags)), 'rhel');
      // server normal (warn) beats the file's default (error); the server's override beats the file's normal.
      expect(attrs.logging_level).to.equal('warn');
      expect(attrs.no_proxy).to.equal('server');
      expect(attrs.chef.node_name).to.equal('web1');
    });

    it('rejects a layer that is not an object', () => {
      expect(cookbookError(() => mergeAttributes({}, [] as unknown as object)).attribute).to.equal(
        'push_jobs',
      );
    });
  });

  describe('attribute documents', () => {
    it('reads a chef-solo -j file as normal attributes and ignores other cookbooks', () => {
      const levels = parseAttributesFile(
        JSON.stringify({
          push_jobs: { whitelist: { up: 'uptime' } },
          ntp: { servers: [] },
          run_list: ['recipe[x]'],
        }),
        'node.json',
      );
      expect(levels).to.deep.equal({ normal: { whitelist: { up: 'uptime' } } });
    });

    it('reads levels, merging a top-level push_jobs over normal', () => {
      const levels = attributeLevelsFromDocument({
        default: { push_jobs: { logging_level: 'debug' } },
        normal: { push_jobs: { whitelist: { a: 'A' }, no_proxy: 'n' } },
        override: { push_jobs: { no_proxy: 'o' } },
        push_jobs: { whitelist: { b: 'B' } },
      });
      expect(levels).to.deep.equal({
        default: { logging_level: 'debug' },
        normal: { whitelist: { a: 'A', b: 'B' }, no_proxy: 'n' },
        override: { no_proxy: 'o' },
      });
    });

    it('reads a Chef node object', () => {
      const levels = attributeLevelsFromDocument({
        name: 'web1',
        chef_environment: '_default',
        json_class: 'Chef::Node',
        chef_type: 'node',
        run_list: [],
        normal: { push_jobs: { whitelist: { ntpdate: 'ntpdate -u pool.ntp.org' } } },
        default: {},
        override: {},
        automatic: { fqdn: 'web1.example.com' },
      });
      expect(levels).to.deep.equal({ normal: { whitelist: { ntpdate: 'ntpdate -u pool.ntp.org' } } });
    });

    it('names the file for invalid JSON or a bad shape', () => {
      expect(cookbookError(() => parseAttributesFile('{', 'node.json')).message).to.match(
        /^node\.json is not valid JSON/,
      );
      expect(cookbookError(() => parseAttributesFile('[]', 'node.json')).message).to.match(
        /^node\.json must be a JSON object like \{"push_jobs": \{\.\.\.\}\} \(got an array\)/,
      );
      expect(cookbookError(() => parseAttributesFile('{"push_jobs": 3}', 'n.json')).message).to.equal(
        'n.json.push_jobs must be a JSON object (got number 3)',
      );
      expect(cookbookError(() => parseAttributesFile('{"normal": []}', 'n.json')).message).to.equal(
        'normal must be a JSON object (got an array)',
      );
    });
  });

  describe('validation', () => {
    it('fills the family defaults and accepts the { push_jobs: tree } wrapper', () => {
      const attrs = validateAttributes(
        { push_jobs: { chef: { chef_server_url: SERVER_URL, node_name: 'web1' } } },
        'suse',
      );
      expect(attrs.chef.chef_server_url).to.equal(SERVER_URL);
      expect(attrs.chef.client_key_path).to.equal('/etc/chef/client.pem');
      expect(attrs.whitelist).to.deep.equal({ 'chef-client': 'chef-client' });
    });

    it('normalises values: a symbol-style ssl_verify_mode, a numeric max_body_size string, env values', () => {
      const attrs = validateAttributes(
        {
          chef: { ssl_verify_mode: ':verify_none' },
          max_body_size: '70000',
          environment_variables: { PORT: 8080 },
        },
        'debian',
      );
      expect(attrs.chef.ssl_verify_mode).to.equal('verify_none');
      expect(attrs.max_body_size).to.equal(70000);
      expect(attrs.environment_variables).to.deep.equal({ LC_ALL: 'en_US.UTF-8', PORT: '8080' });
    });

    it('accepts hash-valued and regex whitelist entries', () => {
      const attrs = validateAttributes(
        {
          whitelist: {
            '/^restart (\\w+)$/': 'systemctl restart \\1',
            chef: { command_line: 'chef-client', lock: true },
            '/^deploy (.+)$/i': { command_line: 'deploy \\1', lock: '/var/run/deploy.lock' },
          },
        },
        'debian',
      );
      expect(attrs.whitelist['chef']).to.deep.equal({ command_line: 'chef-client', lock: true });
      expect(attrs.whitelist['/^deploy (.+)$/i']).to.deep.equal({
        command_line: 'deploy \\1',
        lock: '/var/run/deploy.lock',
      });
    });

    const bad: [string, unknown, string][] = [
      [
        'a whitelist that is not a map',
        { whitelist: ['chef-client'] },
        'push_jobs.whitelist should have a hash value! (got an array)',
      ],
      [
        'a whitelist that is a string',
        { whitelist: 'chef-client' },
        'push_jobs.whitelist should have a hash value! (got a string "chef-client")',
      ],
      [
        'a whitelist hash entry without command_line',
        { whitelist: { x: { lock: true } } },
        'push_jobs.whitelist["x"].command_line must be a non-empty string (got nothing)',
      ],
      [
        'an unknown key in a whitelist hash entry',
        { whitelist: { x: { command_line: 'x', user: 'root' } } },
        'push_jobs.whitelist["x"].user is not allowed (use command_line and lock)',
      ],
      [
        'a regex key with a flag Ruby cannot express',
        { whitelist: { '/^x$/g': 'x' } },
        `push_jobs.whitelist["/^x$/g"] uses regex flags 'g': only i and s can be written to the Ruby config`,
      ],
      [
        'a regex key that does not compile',
        { whitelist: { '/(/': 'x' } },
        'push_jobs.whitelist["/(/"] is not a valid regular expression',
      ],
      [
        'a server URL without /organizations/ORG',
        { chef: { chef_server_url: 'https://chefserver.mycorp.co' } },
        'push_jobs.chef.chef_server_url must be an http(s) URL ending in /organizations/ORG_NAME (got "https://chefserver.mycorp.co")',
      ],
      ['a bad node name', { chef: { node_name: 'web 1' } }, 'push_jobs.chef.node_name must be 1-255 letters'],
      [
        'a relative key path',
        { chef: { client_key_path: 'client.pem' } },
        'push_jobs.chef.client_key_path must be an absolute path (got "client.pem")',
      ],
      [
        'a path escaping with ..',
        { logging_dir: '/var/log/../../etc' },
        "push_jobs.logging_dir must not contain '..'",
      ],
      [
        'a non-boolean flag',
        { allow_unencrypted: 'yes' },
        'push_jobs.allow_unencrypted must be true or false (got a string "yes")',
      ],
      [
        'an unknown log level',
        { logging_level: 'loud' },
        'push_jobs.logging_level must be one of debug, info, warn, error, fatal',
      ],
      [
        'upstart',
        { init_style: 'upstart' },
        "push_jobs.init_style 'upstart' is not supported: use systemd, sysvinit or runit",
      ],
      ['an unknown attribute', { whitelists: {} }, 'push_jobs.whitelists is not a known attribute'],
      [
        'an unknown chef attribute',
        { chef: { server_url: SERVER_URL } },
        'push_jobs.chef.server_url is not a known attribute',
      ],
      [
        'an environment variable that is not a Ruby constant',
        { environment_variables: { http_proxy: 'x' } },
        'push_jobs.environment_variables.http_proxy is not a valid name',
      ],
      [
        'a newline in an environment value',
        { environment_variables: { X: 'a\nb' } },
        'push_jobs.environment_variables.X must not contain a newline',
      ],
      ['a bad max_body_size', { max_body_size: 0 }, 'push_jobs.max_body_size must be a positive integer'],
      [
        'tarball source without tarballs',
        { package_source: 'tarball' },
        "push_jobs.local_package_path must name the agent's tarball",
      ],
      [
        'a bad package name',
        { package_name: 'Not A Package' },
        'push_jobs.package_name is not a valid npm package name',
      ],
      [
        'a proxy protocol that does not exist',
        { proxy: { ftp: { url: 'x' } } },
        'push_jobs.proxy.ftp is not a known attribute',
      ],
      ['a bad service name', { service_name: 'a/b' }, 'push_jobs.service_name must be letters'],
      [
        'a top level that is not a hash',
        'push_jobs',
        'push_jobs must be a hash of attributes (got a string "push_jobs")',
      ],
    ];
    for (const [what, input, message] of bad) {
      it(`rejects ${what}, naming the attribute`, () => {
        const err = cookbookError(() => validateAttributes(input, 'debian'));
        expect(err.message.startsWith(message), err.message).to.equal(true);
        expect(err.code).to.equal('PJ_ERR_CONFIG');
        expect(err.attribute).to.be.a('string');
      });
    }

    it('warns about attributes of the original cookbook that have no effect', () => {
      const { warnings } = validateAttributesDetailed(
        {
          package_url: 'https://packages.chef.io/x.deb',
          package_checksum: '',
          config: { template_cookbook: 'mine' },
          chef: { install_path: null, exec_name: 'pushy-client' },
          service_string: null,
        },
        'debian',
      );
      expect(warnings).to.deep.equal([
        'push_jobs.package_url is an attribute of the original cookbook and has no effect here',
        'push_jobs.package_checksum is an attribute of the original cookbook and has no effect here',
        'push_jobs.config is an attribute of the original cookbook and has no effect here',
        'push_jobs.chef.exec_name is an attribute of the original cookbook and has no effect here',
      ]);
    });

    it('requires the server URL and node name for the config, naming the attribute and flag', () => {
      const none = validateAttributes({}, 'debian');
      expect(cookbookError(() => requireConnection(none)).message).to.equal(
        'push_jobs.chef.chef_server_url is not set (set the attribute or pass --server URL, ending in /organizations/ORG)',
      );
      const noNode = validateAttributes({ chef: { chef_server_url: SERVER_URL } }, 'debian');
      const err = cookbookError(() => requireConnection(noNode));
      expect(err.message).to.equal(
        'push_jobs.chef.node_name is not set (set the attribute or pass --node NAME)',
      );
      expect(err.attribute).to.equal('push_jobs.chef.node_name');
    });
  });
});
