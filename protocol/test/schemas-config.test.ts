import { expect } from 'chai';
import {
  CHEF_SERVER_URL_PATTERN,
  orgNameFromChefServerUrl,
  parseWhitelistRegexKey,
} from '../src/agent-config-helpers.js';
import { DEFAULT_WHITELIST, MAX_TIMER_SECONDS } from '../src/constants.js';
import { liteValidators } from '../src/lite-validators.js';
import { validators } from '../src/schemas/validate.js';

// Verbatim example of spec 6.
const CONFIG_EXAMPLE = `{"type":"config","host":"push.example.com",
 "push_jobs":{"heartbeat":{"out_addr":"tcp://push.example.com:10000",
   "command_addr":"tcp://push.example.com:10002","interval":10.0,
   "offline_threshold":3,"online_threshold":2}},
 "node":"web01","organization":"acme",
 "public_key":"-----BEGIN PUBLIC KEY-----\\nMIIB...IDAQAB\\n-----END PUBLIC KEY-----\\n\\n",
 "curve_public_key":"<40-character Z85 string>",
 "encoded_session_key":{"method":"hmac_sha256","key":"<base64 of 256-byte RSA ciphertext>"},
 "lifetime":3600,"max_message_skew":300,"max_body_size":65536,
 "incarnation_id":"9b2e4c1a-7d3f-4e8b-a6c5-0f1d2e3b4a59"}`;

// Every case runs against the runtime-compiled validators and the build-time generated ones
// (the agent's `@push-jobs/protocol/lite`): both must give the same answers and messages.
const VALIDATOR_SETS = [
  ['runtime', validators],
  ['generated', liteValidators],
] as const;

for (const [label, v] of VALIDATOR_SETS) {
  describe(`config document schema (${label} validators)`, () => {
    const example = JSON.parse(CONFIG_EXAMPLE) as Record<string, unknown>;

    it('accepts the spec 6 example verbatim', () => {
      expect(v.configDocument.errors(example)).to.deep.equal([]);
    });

    it('accepts a document without curve_public_key (a 1.x server)', () => {
      const { curve_public_key: _c, ...legacy } = example;
      expect(v.configDocument.check(legacy)).to.equal(true);
    });

    it('rejects wrong types and missing fields', () => {
      expect(v.configDocument.errors({ ...example, type: 'conf' })).to.deep.equal([
        '/type must be equal to constant',
      ]);
      expect(v.configDocument.errors({ ...example, lifetime: '3600' })).to.deep.equal([
        '/lifetime must be number',
      ]);
      expect(
        v.configDocument.errors({
          ...example,
          push_jobs: { heartbeat: { out_addr: 'tcp://x:1', command_addr: 'tcp://x:2', interval: 0 } },
        }),
      ).to.deep.equal([
        "/push_jobs/heartbeat must have required property 'offline_threshold'",
        "/push_jobs/heartbeat must have required property 'online_threshold'",
        '/push_jobs/heartbeat/interval must be > 0',
      ]);
      // Longer than a timer can wait: the agent's timers would fire at once, every millisecond.
      const tooLong = MAX_TIMER_SECONDS + 1;
      const doc = JSON.parse(CONFIG_EXAMPLE) as {
        lifetime: number;
        push_jobs: { heartbeat: { interval: number } };
      };
      doc.lifetime = tooLong;
      doc.push_jobs.heartbeat.interval = tooLong;
      expect(v.configDocument.errors(doc)).to.have.members([
        `/lifetime must be <= ${MAX_TIMER_SECONDS}`,
        `/push_jobs/heartbeat/interval must be <= ${MAX_TIMER_SECONDS}`,
      ]);
      // Users reading a node's config get no session key: the document is valid without it.
      const { encoded_session_key: _e, ...noKey } = example;
      expect(v.configDocument.errors(noKey)).to.deep.equal([]);
      expect(
        v.configDocument.errors({ ...example, encoded_session_key: { method: 'hmac_sha256' } }),
      ).to.deep.equal(["/encoded_session_key must have required property 'key'"]);
    });
  });

  describe(`agent config schema (${label} validators)`, () => {
    const minimal = { chef_server_url: 'https://chef.example.com/organizations/acme' };

    it('refuses an http_retry_delay longer than a timer can wait', () => {
      expect(v.agentConfig.errors({ ...minimal, http_retry_delay: MAX_TIMER_SECONDS + 1 })).to.deep.equal([
        `/http_retry_delay must be <= ${MAX_TIMER_SECONDS}`,
      ]);
      expect(v.agentConfig.errors({ ...minimal, http_retry_delay: MAX_TIMER_SECONDS })).to.deep.equal([]);
    });

    it('accepts a minimal config and the default whitelist', () => {
      expect(v.agentConfig.errors(minimal)).to.deep.equal([]);
      expect(v.agentConfig.errors({ ...minimal, whitelist: { ...DEFAULT_WHITELIST } })).to.deep.equal([]);
      expect(v.whitelist.check(DEFAULT_WHITELIST)).to.equal(true);
    });

    it('accepts every key the cookbook renders, and our additions', () => {
      const config = {
        chef_server_url: 'https://chef.example.com:443/organizations/acme/',
        node_name: 'web01.example.com',
        client_name: 'web01.example.com',
        client_key: '/etc/chef/client.pem',
        trusted_certs_dir: '/etc/chef/trusted_certs',
        verify_api_cert: true,
        ssl_verify_mode: 'verify_peer',
        allow_unencrypted: false,
        http_proxy: 'http://proxy:3128',
        http_proxy_user: 'u',
        http_proxy_pass: 'p',
        https_proxy: 'http://proxy:3128',
        https_proxy_user: 'u',
        https_proxy_pass: 'p',
        no_proxy: 'localhost,127.0.0.1',
        whitelist: { 'chef-client': 'chef-client' },
        include_timestamp: true,
        file_dir: '/tmp/chef-push',
        max_body_size: 63000,
        allowed_overwritable_env_vars: ['PATH'],
        log_level: 'info',
        log_location: 'STDOUT',
        lockfile: '/var/chef/cache/chef-client-running.pid',
        file_cache_path: '/var/chef/cache',
        environment: { LC_ALL: 'en_US.UTF-8' },
      };
      expect(v.agentConfig.errors(config)).to.deep.equal([]);
    });

    it('accepts hash entries with and without lock, and regex keys', () => {
      const whitelist = {
        'chef-client': { command_line: 'chef-client', lock: true },
        ntpdate: { command_line: 'ntpdate -u pool.ntp.org' },
        locked: { command_line: 'x', lock: '/var/lock/x.lock' },
        '/^deliverance (.+)$/': 'deliverance eats at \\1',
        '/^hard (.+)$/i': { command_line: 'tastes like \\1', lock: true },
      };
      expect(v.agentConfig.errors({ ...minimal, whitelist })).to.deep.equal([]);
    });

    it('rejects bad types, unknown keys and bad whitelist entries', () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ ...minimal, allow_unencrypted: 'yes' }, '/allow_unencrypted must be boolean'],
        [{ ...minimal, max_body_size: '63000' }, '/max_body_size must be integer'],
        [{ ...minimal, max_body_size: 0 }, '/max_body_size must be >= 1'],
        [
          { ...minimal, log_level: 'verbose' },
          '/log_level must be equal to one of the allowed values: debug, info, warn, error, fatal',
        ],
        [
          { ...minimal, ssl_verify_mode: ':verify_peer' },
          '/ssl_verify_mode must be equal to one of the allowed values: verify_none, verify_peer',
        ],
        [
          { ...minimal, allowed_overwritable_env_vars: 'PATH' },
          '/allowed_overwritable_env_vars must be array',
        ],
        [{ ...minimal, environment: { A: 1 } }, '/environment/A must be string'],
        [{ ...minimal, filedir: '/tmp' }, "/ must NOT have additional properties 'filedir'"],
        [
          { ...minimal, whitelist: { x: { command_line: 'x', lock: 1 } } },
          '/whitelist/x/lock must be boolean',
        ],
        [
          { ...minimal, whitelist: { x: { command_line: 'x', lok: true } } },
          "/whitelist/x must NOT have additional properties 'lok'",
        ],
        [
          { ...minimal, whitelist: { x: { lock: true } } },
          "/whitelist/x must have required property 'command_line'",
        ],
        [{ ...minimal, whitelist: { x: 5 } }, '/whitelist/x must be string'],
        [{ ...minimal, whitelist: ['chef-client'] }, '/whitelist must be object'],
        [{}, "/ must have required property 'chef_server_url'"],
      ];
      for (const [config, error] of cases) expect(v.agentConfig.errors(config)).to.include(error);
    });

    it('chef_server_url must end in /organizations/ORG', () => {
      for (const url of [
        'https://chef.example.com/organizations/acme',
        'https://chef.example.com/organizations/acme/',
        'http://127.0.0.1:8443/prefix/organizations/my_org-1',
      ]) {
        expect(v.agentConfig.check({ chef_server_url: url }), url).to.equal(true);
      }
      for (const url of [
        'https://chef.example.com',
        'https://chef.example.com/organizations/',
        'https://chef.example.com/organizations/acme/nodes',
        'ftp://chef.example.com/organizations/acme',
        'chef.example.com/organizations/acme',
      ]) {
        expect(v.agentConfig.errors({ chef_server_url: url }), url).to.deep.equal([
          `/chef_server_url must match pattern "${CHEF_SERVER_URL_PATTERN}"`,
        ]);
      }
    });

    it('orgNameFromChefServerUrl extracts the org', () => {
      expect(orgNameFromChefServerUrl('https://chef.example.com/organizations/acme')).to.equal('acme');
      expect(orgNameFromChefServerUrl('https://chef.example.com/organizations/acme/')).to.equal('acme');
      expect(orgNameFromChefServerUrl('https://chef.example.com/')).to.equal(undefined);
      expect(orgNameFromChefServerUrl('https://chef.example.com/organizations/acme/x')).to.equal(undefined);
    });

    it('parseWhitelistRegexKey recognises /PATTERN/FLAGS keys only', () => {
      expect(parseWhitelistRegexKey('/^foo/')).to.deep.equal({ pattern: '^foo', flags: '' });
      expect(parseWhitelistRegexKey('/^hard (.+)$/i')).to.deep.equal({ pattern: '^hard (.+)$', flags: 'i' });
      expect(parseWhitelistRegexKey('//')).to.deep.equal({ pattern: '', flags: '' });
      expect(parseWhitelistRegexKey('chef-client')).to.equal(undefined);
      expect(parseWhitelistRegexKey('/usr/bin/foo')).to.equal(undefined);
      expect(parseWhitelistRegexKey('/')).to.equal(undefined);
    });
  });
}
