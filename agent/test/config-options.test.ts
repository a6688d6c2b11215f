import { expect } from 'chai';
import { DEFAULT_AGENT_CONFIG_PATHS } from '@push-jobs/protocol';
import {
  AGENT_CONFIG_SEARCH_PATHS,
  AgentConfigError,
  CHEF_SERVER_URL_ERROR,
  compileAgentOptions,
  ConfigFileError,
  detectHostNames,
  findDefaultConfigFile,
} from '../src/config/index.js';

const URL = 'https://chef.example.com/organizations/acme';
const HOST = { fqdn: 'node1.example.com', hostname: 'node1' };

function configError(fn: () => unknown): AgentConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(AgentConfigError);
    return err as AgentConfigError;
  }
  throw new Error('expected an AgentConfigError');
}

describe('config: compileAgentOptions', function () {
  it('fills every default', function () {
    const options = compileAgentOptions({ flags: { chef_server_url: URL }, env: {}, host: HOST });
    expect(options).to.deep.equal({
      chef_server_url: URL,
      node_name: 'node1.example.com',
      client_name: 'node1.example.com',
      client_key: '/etc/chef/client.pem',
      whitelist: { 'chef-client': 'chef-client' },
      file_dir: '/tmp/chef-push',
      allow_unencrypted: false,
      max_body_size: 63000,
      log_level: 'info',
      log_location: 'STDOUT',
      include_timestamp: false,
      allowed_unsafe_job_env_vars: [],
      chef_server_urls: [URL],
      http_retry_count: 5,
      http_retry_delay: 30,
      org_name: 'acme',
      config_file: undefined,
      hostname: 'node1',
      warnings: [],
    });
  });

  it('defaults node_name to the FQDN, then the host name; client_name follows node_name', function () {
    expect(
      compileAgentOptions({ flags: { chef_server_url: URL }, env: {}, host: { hostname: 'h1' } }).node_name,
    ).to.equal('h1');
    const named = compileAgentOptions({
      flags: { chef_server_url: URL, node_name: 'n2' },
      env: {},
      host: HOST,
    });
    expect([named.node_name, named.client_name]).to.deep.equal(['n2', 'n2']);
    const detected = detectHostNames();
    expect(detected.hostname).to.be.a('string').and.not.include('.');
    const auto = compileAgentOptions({ flags: { chef_server_url: URL }, env: {} });
    expect(auto.node_name).to.equal(detected.fqdn ?? detected.hostname);
  });

  it('applies defaults < config file < explicit flags', function () {
    const file = {
      path: '/etc/chef/push-jobs-client.rb',
      text: [
        `chef_server_url '${URL}'`,
        "node_name 'from-file'",
        "file_dir '/var/file-dir'",
        'max_body_size 1000',
        'log_level :debug',
        "whitelist({'x' => 'y'})",
        "client_key ENV['KEY_PATH']",
      ].join('\n'),
    };
    const options = compileAgentOptions({
      flags: { node_name: 'from-flag', max_body_size: '2000', config_file: file.path },
      file,
      env: { KEY_PATH: '/k.pem' },
      host: HOST,
    });
    expect(options.node_name).to.equal('from-flag');
    expect(options.client_name).to.equal('from-flag');
    expect(options.max_body_size).to.equal(2000);
    expect(options.file_dir).to.equal('/var/file-dir');
    expect(options.log_level).to.equal('debug');
    expect(options.whitelist).to.deep.equal({ x: 'y' });
    expect(options.client_key).to.equal('/k.pem');
    expect(options.allow_unencrypted).to.equal(false);
    expect(options.config_file).to.equal(file.path);
  });

  it('accepts parsed values and a JSON file', function () {
    const fromValues = compileAgentOptions({
      flags: {},
      file: { path: 'x.rb', values: { chef_server_url: URL, allow_unencrypted: true }, warnings: ['w'] },
      env: {},
      host: HOST,
    });
    expect([fromValues.allow_unencrypted, fromValues.warnings]).to.deep.equal([true, ['w']]);
    const fromJson = compileAgentOptions({
      flags: {},
      file: { path: 'c.json', text: JSON.stringify({ chef_server_url: URL, client_name: 'other' }) },
      env: {},
      host: HOST,
    });
    expect([fromJson.client_name, fromJson.node_name]).to.deep.equal(['other', 'node1.example.com']);
  });

  it('reads the cookbook environment lines into environment', function () {
    const options = compileAgentOptions({
      flags: {},
      file: { path: 'c.rb', text: `LC_ALL='en_US.UTF-8'\nchef_server_url '${URL}'` },
      env: {},
      host: HOST,
    });
    expect(options.environment).to.deep.equal({ LC_ALL: 'en_US.UTF-8' });
  });

  it('parses max_body_size from a string flag, and rejects a bad one', function () {
    expect(
      compileAgentOptions({ flags: { chef_server_url: URL, max_body_size: ' 500 ' }, env: {}, host: HOST })
        .max_body_size,
    ).to.equal(500);
    const err = configError(() =>
      compileAgentOptions({ flags: { chef_server_url: URL, max_body_size: '12k' }, env: {}, host: HOST }),
    );
    expect(err.message).to.equal(
      "max_body_size (from the command line) must be a positive integer, got '12k'",
    );
    const zero = configError(() =>
      compileAgentOptions({ flags: { chef_server_url: URL, max_body_size: '0' }, env: {}, host: HOST }),
    );
    expect(zero.errors[0]).to.match(/^max_body_size \(from the command line\) must be >= 1/);
  });

  it("fails with the original's message when chef_server_url has no org", function () {
    const err = configError(() =>
      compileAgentOptions({ flags: { chef_server_url: 'https://chef.example.com/' }, env: {}, host: HOST }),
    );
    expect(err.message).to.contain(CHEF_SERVER_URL_ERROR);
    expect(CHEF_SERVER_URL_ERROR).to.equal('chef_server must end in /organizations/ORG_NAME');
    const missing = configError(() => compileAgentOptions({ flags: {}, env: {}, host: HOST }));
    expect(missing.message).to.match(/chef_server_url is not set/);
  });

  it('names the key and the file in validation errors', function () {
    const file = {
      path: '/etc/chef/client.rb',
      text: `chef_server_url '${URL}'\nallow_unencrypted 'yes'\nlog_level :loud`,
    };
    const err = configError(() => compileAgentOptions({ flags: {}, file, env: {}, host: HOST }));
    expect(err.errors).to.have.length(2);
    expect(err.errors[0]).to.equal('allow_unencrypted (from /etc/chef/client.rb:2) must be boolean');
    expect(err.errors[1]).to.match(
      /^log_level \(from \/etc\/chef\/client\.rb:3\) must be equal to one of the allowed values/,
    );
    expect(err.message).to.match(/^invalid agent configuration: /);
    const badWhitelist = configError(() =>
      compileAgentOptions({
        flags: {},
        file: { path: 'w.rb', text: `chef_server_url '${URL}'\nwhitelist({'x' => 1})` },
        env: {},
        host: HOST,
      }),
    );
    expect(badWhitelist.errors[0]).to.match(/^whitelist\/x \(from w\.rb:2\)/);
  });

  it('names the line that set a bad value: the last assignment, a multi-line hash, a JSON file', function () {
    const rb = configError(() =>
      compileAgentOptions({
        flags: {},
        file: {
          path: 'c.rb',
          text: `chef_server_url '${URL}'\nmax_body_size 5\n# comment\n\nmax_body_size 'big'\nwhitelist({\n  'a' => 'ls',\n  'b' => 7,\n})`,
        },
        env: {},
        host: HOST,
      }),
    );
    expect(rb.message).to.equal("max_body_size (from c.rb:5) must be a positive integer, got 'big'");
    const wl = configError(() =>
      compileAgentOptions({
        flags: {},
        file: {
          path: 'c.rb',
          text: `chef_server_url '${URL}'\n\nwhitelist({\n  'a' => 'ls',\n  'b' => 7,\n})`,
        },
        env: {},
        host: HOST,
      }),
    );
    expect(wl.errors[0]).to.match(/^whitelist\/b \(from c\.rb:3\) /);
    const json = configError(() =>
      compileAgentOptions({
        flags: {},
        file: {
          path: 'c.json',
          text: `{\n  "chef_server_url": "${URL}",\n  "whitelist": {"file_dir": "x"},\n  "file_dir": 42\n}`,
        },
        env: {},
        host: HOST,
      }),
    );
    expect(json.errors).to.deep.equal(['file_dir (from c.json:4) must be string']);
    const url = configError(() =>
      compileAgentOptions({
        flags: {},
        file: { path: 'c.rb', text: "node_name 'n'\nchef_server_url 'https://chef.example.com/'" },
        env: {},
        host: HOST,
      }),
    );
    expect(url.message).to.equal(`${CHEF_SERVER_URL_ERROR} (chef_server_url from c.rb:2)`);
  });

  it('warns about unknown keys (and ignores them) and about known Chef client settings', function () {
    const typo = compileAgentOptions({
      flags: {},
      file: { path: 'c.rb', text: `chef_server_url '${URL}'\nwhitelsit({'ls' => 'ls'})` },
      env: {},
      host: HOST,
    });
    expect(typo.warnings).to.deep.equal(["c.rb:2: ignored unknown configuration key 'whitelsit'"]);
    expect(typo).to.not.have.property('whitelsit');
    // The misspelt allow-list is not used: the default (chef-client only) applies.
    expect(typo.whitelist).to.deep.equal({ 'chef-client': 'chef-client' });
    const ok = compileAgentOptions({
      flags: {},
      file: {
        path: 'c.rb',
        text: `chef_server_url '${URL}'\nvalidation_client_name 'v'\nchef_license 'accept'\nenvironment 'prod'\nrequire 'x'`,
      },
      env: {},
      host: HOST,
    });
    expect(ok.validation_client_name).to.equal('v');
    expect(ok.warnings).to.deep.equal([
      "c.rb:5: ignored require 'x'",
      "c.rb:3: ignored Chef setting 'chef_license' (not used by the push jobs client)",
    ]);
    // chef-client's `environment 'NAME'` is the node's Chef environment.
    expect(ok.chef_environment).to.equal('prod');
  });

  it('reads the node fact keys (tags, roles, policy, chef_environment, attributes) and checks them', function () {
    const ok = compileAgentOptions({
      flags: {},
      file: {
        path: 'c.rb',
        text: [
          `chef_server_url '${URL}'`,
          "tags ['web', 'canary']",
          'roles %w[web base]',
          "policy_name 'webapp'",
          "policy_group 'prod'",
          "chef_environment 'production'",
          "environment 'ignored-when-chef_environment-is-set'",
          "attributes({ 'team' => 'payments', 'app' => { 'tier' => 1 } })",
          'report_facts true',
        ].join('\n'),
      },
      env: {},
      host: HOST,
    });
    expect(ok.tags).to.deep.equal(['web', 'canary']);
    expect(ok.roles).to.deep.equal(['web', 'base']);
    expect(ok.policy_name).to.equal('webapp');
    expect(ok.policy_group).to.equal('prod');
    expect(ok.chef_environment).to.equal('production');
    expect(ok.attributes).to.deep.equal({ team: 'payments', app: { tier: 1 } });
    expect(ok.report_facts).to.equal(true);
    expect(ok.warnings).to.deep.equal([]);
    expect(() =>
      compileAgentOptions({
        flags: {},
        file: { path: 'c.rb', text: `chef_server_url '${URL}'\nroles ['role[web]']` },
        env: {},
        host: HOST,
      }),
    ).to.throw(/roles\/0 \(from c\.rb:2\)/);
  });

  it('reads allowed_unsafe_job_env_vars from a Ruby or JSON file, and checks it against the shared schema', function () {
    const ruby = compileAgentOptions({
      flags: {},
      file: {
        path: 'c.rb',
        text: `chef_server_url '${URL}'\nallowed_unsafe_job_env_vars ['PATH', 'NODE_ENV']`,
      },
      env: {},
      host: HOST,
    });
    expect(ruby.allowed_unsafe_job_env_vars).to.deep.equal(['PATH', 'NODE_ENV']);
    expect(ruby.warnings).to.deep.equal([]);
    const json = compileAgentOptions({
      flags: {},
      file: {
        path: 'c.json',
        values: { chef_server_url: URL, allowed_unsafe_job_env_vars: ['LD_LIBRARY_PATH'] },
      },
      env: {},
      host: HOST,
    });
    expect(json.allowed_unsafe_job_env_vars).to.deep.equal(['LD_LIBRARY_PATH']);
    for (const bad of ['PATH', [''], ['A=B'], [1]]) {
      const err = configError(() =>
        compileAgentOptions({
          flags: {},
          file: { path: 'c.json', values: { chef_server_url: URL, allowed_unsafe_job_env_vars: bad } },
          env: {},
          host: HOST,
        }),
      );
      expect(err.message).to.match(/allowed_unsafe_job_env_vars\S* \(from c\.json\) must/);
    }
  });

  describe('chef_server_urls', function () {
    const A = 'https://push1.example.com/organizations/acme';
    const B = 'https://push2.example.com:8443/organizations/acme/';
    const C = 'http://10.0.0.3/organizations/acme';

    function fromFile(text: string, flags = {}): ReturnType<typeof compileAgentOptions> {
      return compileAgentOptions({ flags, file: { path: 'c.rb', text }, env: {}, host: HOST });
    }

    it('reads a Ruby list (or %w) or a JSON array; chef_server_url becomes its first entry', function () {
      const ruby = fromFile(`chef_server_urls [\n  '${A}',\n  '${B}',\n]`);
      expect(ruby.chef_server_urls).to.deep.equal([A, B]);
      expect(ruby.chef_server_url).to.equal(A);
      expect(ruby.org_name).to.equal('acme');
      expect(ruby.warnings).to.deep.equal([]);
      expect(fromFile(`chef_server_urls %w[${A} ${C}]`).chef_server_urls).to.deep.equal([A, C]);
      const json = compileAgentOptions({
        flags: {},
        file: { path: 'c.json', text: JSON.stringify({ chef_server_urls: [B, C] }) },
        env: {},
        host: HOST,
      });
      expect(json.chef_server_urls).to.deep.equal([B, C]);
      expect(json.chef_server_url).to.equal(B);
    });

    it('takes chef_server_url set beside the list when it is one of the list, keeping the list order', function () {
      const both = fromFile(`chef_server_url '${B.slice(0, -1)}'\nchef_server_urls ['${A}', '${B}']`);
      expect(both.chef_server_urls).to.deep.equal([A, B]);
      expect(both.chef_server_url).to.equal(A);
    });

    it('refuses chef_server_url beside a list that does not hold it', function () {
      const err = configError(() => fromFile(`chef_server_url '${C}'\nchef_server_urls ['${A}', '${B}']`));
      expect(err.errors).to.deep.equal([
        `chef_server_url '${C}' (from c.rb:1) is not one of chef_server_urls (from c.rb:2): list it there, or leave chef_server_url out`,
      ]);
    });

    it('lets the command line win: -S names the one server, a list given there replaces the file', function () {
      const single = fromFile(`chef_server_urls ['${A}', '${B}']`, { chef_server_url: C });
      expect(single.chef_server_urls).to.deep.equal([C]);
      expect(single.chef_server_url).to.equal(C);
      expect(single.warnings).to.deep.equal([
        'c.rb:1: ignored chef_server_urls: -S/--server on the command line names the server',
      ]);
      const list = fromFile(`chef_server_url '${A}'`, { chef_server_urls: [C, B] });
      expect(list.chef_server_urls).to.deep.equal([C, B]);
      expect(list.chef_server_url).to.equal(C);
      expect(list.warnings).to.deep.equal([]);
    });

    it('names the problem and where the list came from', function () {
      const cases: [string, string][] = [
        [`chef_server_urls '${A}'`, 'chef_server_urls (from c.rb:1) must be a list of URLs, e.g.'],
        [`chef_server_urls ['${A}', 5]`, 'chef_server_urls (from c.rb:1) must be a list of URLs'],
        ['chef_server_urls []', 'chef_server_urls (from c.rb:1) is empty: list at least one URL'],
        [
          `chef_server_urls ['${A}', 'https://push2.example.com/']`,
          `${CHEF_SERVER_URL_ERROR} (chef_server_urls entry 2, 'https://push2.example.com/', from c.rb:1)`,
        ],
        [
          `chef_server_urls ['${A}', 'https://push2.example.com/organizations/other']`,
          `chef_server_urls (from c.rb:1) must all name the same organization: '${A}' names acme, 'https://push2.example.com/organizations/other' names other`,
        ],
        [`chef_server_urls ['${A}', '${A}/']`, `chef_server_urls (from c.rb:1) lists '${A}/' twice`],
      ];
      for (const [text, message] of cases) {
        expect(configError(() => fromFile(text)).message).to.contain(message);
      }
      const cli = configError(() =>
        compileAgentOptions({ flags: { chef_server_urls: [A, 'x'] }, env: {}, host: HOST }),
      );
      expect(cli.message).to.contain("(chef_server_urls entry 2, 'x', from the command line)");
    });

    it('is not a key the shared schema knows, so it never reaches its validation', function () {
      const options = compileAgentOptions({ flags: { chef_server_urls: [A] }, env: {}, host: HOST });
      expect(options.chef_server_urls).to.deep.equal([A]);
      expect(options.warnings).to.deep.equal([]);
    });
  });

  it('passes config file syntax errors through', function () {
    expect(() =>
      compileAgentOptions({ flags: {}, file: { path: 'c.rb', text: "node_name 'x" }, env: {}, host: HOST }),
    ).to.throw(ConfigFileError, /^c\.rb:1:11: unterminated string/);
  });

  it('findDefaultConfigFile searches the original paths in order, each with its /etc/push-jobs/ equivalent', function () {
    expect(DEFAULT_AGENT_CONFIG_PATHS[0]).to.equal('/etc/chef/chef-push-client.rb');
    const seen: string[] = [];
    expect(findDefaultConfigFile((p) => (seen.push(p), p === '/etc/chef/client.rb'))).to.equal(
      '/etc/chef/client.rb',
    );
    expect(seen).to.deep.equal([
      '/etc/chef/chef-push-client.rb',
      '/etc/push-jobs/chef-push-client.rb',
      '/etc/chef/push-jobs-client.rb',
      '/etc/push-jobs/push-jobs-client.rb',
      '/etc/chef/client.rb',
    ]);
    expect(AGENT_CONFIG_SEARCH_PATHS.filter((p) => p.startsWith('/etc/chef/'))).to.deep.equal([
      ...DEFAULT_AGENT_CONFIG_PATHS,
    ]);
    expect(findDefaultConfigFile((p) => p.endsWith('.rb'))).to.equal('/etc/chef/chef-push-client.rb');
    // The /etc/push-jobs/ equivalents: a dedicated file there wins over a generic client.rb.
    expect(
      findDefaultConfigFile((p) => p === '/etc/push-jobs/push-jobs-client.rb' || p === '/etc/chef/client.rb'),
    ).to.equal('/etc/push-jobs/push-jobs-client.rb');
    expect(findDefaultConfigFile((p) => p === '/etc/push-jobs/client.rb')).to.equal(
      '/etc/push-jobs/client.rb',
    );
    expect(findDefaultConfigFile(() => false)).to.equal(undefined);
  });
});
