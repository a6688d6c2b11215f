import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import {
  DEFAULT_API_PORT,
  DEFAULT_COMMAND_PORT,
  DEFAULT_DOWN_THRESHOLD,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_MESSAGE_SKEW_SECONDS,
  DEFAULT_SERVER_HEARTBEAT_PORT,
  ERROR_CODES,
  isPushJobsError,
} from '@push-jobs/protocol/internal';
import {
  compileServerConfig,
  compileServerConfigWithSources,
  ConfigError,
  DEFAULT_SERVER_CONFIG,
  redactDatabaseUrl,
  resolveDatabaseUrl,
  SERVER_SETTING_NAMES,
  suggestName,
  type ConfigSources,
} from '../src/config/index.js';

function configError(sources: ConfigSources): ConfigError {
  try {
    compileServerConfig(sources);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('server config', () => {
  let dir: string;
  let file: string;
  const writeConfig = (value: unknown): string => {
    writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
    return file;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pj-config-'));
    file = join(dir, 'server.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('defaults', () => {
    it('fills every setting, with the protocol constants', () => {
      const config = compileServerConfig();
      expect(config).to.deep.equal(DEFAULT_SERVER_CONFIG);
      expect(config.api_port).to.equal(DEFAULT_API_PORT).and.equal(10003);
      expect(config.command_port).to.equal(DEFAULT_COMMAND_PORT).and.equal(10002);
      expect(config.server_heartbeat_port).to.equal(DEFAULT_SERVER_HEARTBEAT_PORT).and.equal(10000);
      expect(config.heartbeat_interval).to.equal(DEFAULT_HEARTBEAT_INTERVAL_MS);
      expect(config.down_threshold).to.equal(DEFAULT_DOWN_THRESHOLD);
      expect(config.max_body_size).to.equal(DEFAULT_MAX_BODY_BYTES);
      expect(config.max_message_skew).to.equal(DEFAULT_MAX_MESSAGE_SKEW_SECONDS);
      expect(config.tls_cert).to.equal(null);
      expect(config.log_level).to.equal('info');
      expect(config.database_url).to.equal('push-jobs.sqlite');
    });

    it('lists every setting once and is frozen', () => {
      expect(new Set(SERVER_SETTING_NAMES).size).to.equal(SERVER_SETTING_NAMES.length);
      expect(SERVER_SETTING_NAMES).to.include('api_port').and.include('log_level');
      expect(Object.isFrozen(DEFAULT_SERVER_CONFIG)).to.equal(true);
      const config = compileServerConfig({ flags: { api_port: 1 } });
      expect(DEFAULT_SERVER_CONFIG.api_port).to.equal(10003);
      expect(config.api_port).to.equal(1);
    });
  });

  describe('layering', () => {
    it('file < environment < flags, and records where each value came from', () => {
      writeConfig({ api_port: 2001, command_port: 2002, server_heartbeat_port: 2003, server_name: 'file' });
      const { config, sources } = compileServerConfigWithSources({
        file,
        env: { PUSH_JOBS_COMMAND_PORT: '3002', PUSH_JOBS_SERVER_HEARTBEAT_PORT: '3003' },
        flags: { server_heartbeat_port: '4003' },
      });
      expect(config.api_port).to.equal(2001);
      expect(config.command_port).to.equal(3002);
      expect(config.server_heartbeat_port).to.equal(4003);
      expect(config.server_name).to.equal('file');
      expect(config.voting_timeout).to.equal(60);
      expect(sources.api_port).to.deep.equal({ kind: 'file', path: file });
      expect(sources.command_port).to.deep.equal({ kind: 'env', name: 'PUSH_JOBS_COMMAND_PORT' });
      expect(sources.server_heartbeat_port).to.deep.equal({ kind: 'flag', name: '--server-heartbeat-port' });
      expect(sources.voting_timeout).to.deep.equal({ kind: 'default' });
    });

    it('ignores undefined flags and environment entries, and unrelated variables', () => {
      const config = compileServerConfig({
        env: {
          PUSH_JOBS_API_PORT: undefined,
          PATH: '/bin',
          PUSH_JOBS_CONFIG: '/x.json',
          PUSH_JOBS_NOPE: '1',
        },
        flags: { api_port: undefined },
      });
      expect(config.api_port).to.equal(10003);
    });

    it('accepts typed flag values as well as strings', () => {
      const config = compileServerConfig({
        flags: { api_port: 0, disable_curve_encryption: true, down_threshold: 0.5 },
      });
      expect(config.api_port).to.equal(0);
      expect(config.disable_curve_encryption).to.equal(true);
      expect(config.down_threshold).to.equal(0.5);
    });
  });

  describe('environment conversions', () => {
    const env = (name: string, value: string): ReturnType<typeof compileServerConfig> =>
      compileServerConfig({ env: { [name]: value } });

    it('integers', () => {
      expect(env('PUSH_JOBS_HEARTBEAT_INTERVAL', '250').heartbeat_interval).to.equal(250);
      expect(env('PUSH_JOBS_API_PORT', ' 8080 ').api_port).to.equal(8080);
      expect(env('PUSH_JOBS_WAIT_COMPLETE_TIME', '0').wait_complete_time).to.equal(0);
    });

    it('floats', () => {
      expect(env('PUSH_JOBS_DOWN_THRESHOLD', '0.25').down_threshold).to.equal(0.25);
      expect(env('PUSH_JOBS_DOWN_THRESHOLD', '2').down_threshold).to.equal(2);
      expect(env('PUSH_JOBS_DOWN_THRESHOLD', '.5').down_threshold).to.equal(0.5);
      expect(env('PUSH_JOBS_DOWN_THRESHOLD', '1e-1').down_threshold).to.equal(0.1);
    });

    it('booleans: true/false/1/0/yes/no, any case', () => {
      for (const [text, value] of [
        ['true', true],
        ['TRUE', true],
        ['1', true],
        ['yes', true],
        ['false', false],
        ['0', false],
        ['No', false],
      ] as const) {
        expect(env('PUSH_JOBS_DISABLE_CURVE_ENCRYPTION', text).disable_curve_encryption, text).to.equal(
          value,
        );
      }
      expect(env('PUSH_JOBS_VALIDATE_CLIENT_NODE_NAME', 'no').validate_client_node_name).to.equal(false);
    });

    it('null or empty for nullable settings', () => {
      const base = { PUSH_JOBS_TLS_CERT: '/c.pem', PUSH_JOBS_TLS_KEY: '/k.pem' };
      expect(compileServerConfig({ env: base }).tls_cert).to.equal('/c.pem');
      const cleared = compileServerConfig({
        file: writeConfig({ tls_cert: '/c.pem', tls_key: '/k.pem' }),
        env: { PUSH_JOBS_TLS_CERT: 'null', PUSH_JOBS_TLS_KEY: '' },
      });
      expect(cleared.tls_cert).to.equal(null);
      expect(cleared.tls_key).to.equal(null);
    });

    it('strings and enums as given', () => {
      const config = compileServerConfig({
        env: {
          PUSH_JOBS_SERVER_NAME: 'push.example.com',
          PUSH_JOBS_LOG_LEVEL: 'warn',
          PUSH_JOBS_DATABASE_URL: 'postgres://h/db',
        },
      });
      expect(config.server_name).to.equal('push.example.com');
      expect(config.log_level).to.equal('warn');
      expect(config.database_url).to.equal('postgres://h/db');
    });
  });

  describe('validation errors', () => {
    it('is a PushJobsError with the CONFIG code', () => {
      const err = configError({ env: { PUSH_JOBS_API_PORT: 'abc' } });
      expect(isPushJobsError(err)).to.equal(true);
      expect(err.code).to.equal(ERROR_CODES.CONFIG);
      expect(err.problems).to.have.length(1);
    });

    it('names the setting and the environment variable', () => {
      expect(configError({ env: { PUSH_JOBS_API_PORT: 'abc' } }).message).to.equal(
        'invalid setting api_port from environment PUSH_JOBS_API_PORT: expected an integer from 1 to 65535, got "abc"',
      );
    });

    it('names the file', () => {
      expect(configError({ file: writeConfig({ command_port: 70000 }) }).message).to.equal(
        `invalid setting command_port in ${file}: expected an integer from 1 to 65535, got 70000`,
      );
      expect(configError({ file: writeConfig({ api_port: '10003' }) }).message).to.equal(
        `invalid setting api_port in ${file}: expected an integer from 1 to 65535, got "10003"`,
      );
    });

    it('names the flag', () => {
      expect(configError({ flags: { server_heartbeat_port: '-1' } }).message).to.equal(
        'invalid setting server_heartbeat_port from flag --server-heartbeat-port: expected an integer from 1 to 65535, got "-1"',
      );
    });

    it('ports accept 0 (any free port) but not fractions', () => {
      expect(
        compileServerConfig({ flags: { api_port: '0', command_port: '0', server_heartbeat_port: '0' } }),
      ).to.include({
        api_port: 0,
        command_port: 0,
        server_heartbeat_port: 0,
      });
      expect(configError({ flags: { api_port: '10.5' } }).message).to.match(/api_port .* got "10\.5"$/);
    });

    it('intervals must be positive integers', () => {
      for (const setting of [
        'heartbeat_interval',
        'rehab_timer',
        'voting_timeout',
        'config_lifetime',
        'max_body_size',
        'max_job_nodes',
      ] as const) {
        expect(configError({ flags: { [setting]: '0' } }).message).to.equal(
          `invalid setting ${setting} from flag --${setting.replace(/_/g, '-')}: expected a positive integer, got "0"`,
        );
      }
      expect(configError({ file: writeConfig({ heartbeat_interval: 1.5 }) }).message).to.equal(
        `invalid setting heartbeat_interval in ${file}: expected a positive integer, got 1.5`,
      );
      expect(configError({ flags: { wait_complete_time: '-1' } }).message).to.equal(
        'invalid setting wait_complete_time from flag --wait-complete-time: expected an integer of at least 0, got "-1"',
      );
    });

    it('timing settings may not exceed the longest timer (2^31 - 1 ms)', () => {
      // A longer Node.js timer fires after 1 ms: a 25-day keep_alive_time would spin.
      const seconds = [
        'default_running_timeout',
        'voting_timeout',
        'wait_complete_time',
        'keep_alive_time',
        'org_feed_expiration',
        'config_lifetime',
      ] as const;
      for (const setting of seconds) {
        expect(compileServerConfig({ flags: { [setting]: 2_147_483 } })[setting]).to.equal(2_147_483);
        expect(configError({ flags: { [setting]: 2_147_484 } }).message).to.match(
          new RegExp(
            `^invalid setting ${setting} from flag .*of at most 2147483 \\(the longest timer\\), got 2147484$`,
          ),
        );
      }
      for (const setting of ['heartbeat_interval', 'rehab_timer'] as const) {
        expect(
          configError({ env: { [`PUSH_JOBS_${setting.toUpperCase()}`]: '2147483648' } }).message,
        ).to.match(/: expected an integer of at most 2147483647 \(the longest timer\), got "2147483648"$/);
      }
      expect(
        configError({ flags: { heartbeat_interval: 1_000_000, detect_offline_nodes_interval: 3000 } })
          .message,
      ).to.equal(
        'invalid settings: heartbeat_interval × detect_offline_nodes_interval is 3000000000 ms (from flag --heartbeat-interval, from flag --detect-offline-nodes-interval), longer than the longest timer (2147483647 ms)',
      );
    });

    it('max_job_nodes defaults to 20000, enough for the 10,000-node fleet benchmark', () => {
      expect(compileServerConfig().max_job_nodes).to.equal(20_000);
      expect(compileServerConfig({ env: { PUSH_JOBS_MAX_JOB_NODES: '150000' } }).max_job_nodes).to.equal(
        150_000,
      );
    });

    it('decay_window must be an integer of at least 1', () => {
      expect(configError({ env: { PUSH_JOBS_DECAY_WINDOW: '0.6' } }).message).to.equal(
        'invalid setting decay_window from environment PUSH_JOBS_DECAY_WINDOW: expected a positive integer, got "0.6"',
      );
    });

    it('down_threshold must be a number greater than 0', () => {
      expect(configError({ env: { PUSH_JOBS_DOWN_THRESHOLD: '0' } }).message).to.equal(
        'invalid setting down_threshold from environment PUSH_JOBS_DOWN_THRESHOLD: expected a number greater than 0, got "0"',
      );
      expect(configError({ env: { PUSH_JOBS_DOWN_THRESHOLD: 'high' } }).message).to.match(/got "high"$/);
    });

    it('booleans', () => {
      expect(configError({ env: { PUSH_JOBS_DISABLE_CURVE_ENCRYPTION: 'maybe' } }).message).to.equal(
        'invalid setting disable_curve_encryption from environment PUSH_JOBS_DISABLE_CURVE_ENCRYPTION: expected true or false, got "maybe"',
      );
      expect(configError({ file: writeConfig({ validate_client_node_name: 'true' }) }).message).to.equal(
        `invalid setting validate_client_node_name in ${file}: expected true or false, got "true"`,
      );
    });

    it('log_level', () => {
      expect(configError({ flags: { log_level: 'verbose' } }).message).to.equal(
        'invalid setting log_level from flag --log-level: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
      );
    });

    it('strings must be non-empty; database_url in particular', () => {
      expect(configError({ env: { PUSH_JOBS_DATABASE_URL: '' } }).message).to.equal(
        'invalid setting database_url from environment PUSH_JOBS_DATABASE_URL: expected a non-empty string, got ""',
      );
      expect(configError({ file: writeConfig({ server_name: 42 }) }).message).to.equal(
        `invalid setting server_name in ${file}: expected a non-empty string, got 42`,
      );
      expect(configError({ file: writeConfig({ tls_cert: 5, tls_key: 5 }) }).message).to.match(
        /^invalid setting tls_cert in .*: expected a file path or null, got 5; invalid setting tls_key/,
      );
    });

    it('tls_cert and tls_key: both or neither', () => {
      expect(configError({ flags: { tls_cert: '/c.pem' } }).message).to.equal(
        'invalid settings: tls_cert is set (from flag --tls-cert) but tls_key is not; set both or neither',
      );
      expect(configError({ file: writeConfig({ tls_key: '/k.pem' }) }).message).to.equal(
        `invalid settings: tls_key is set (in ${file}) but tls_cert is not; set both or neither`,
      );
      const both = compileServerConfig({ flags: { tls_cert: '/c.pem', tls_key: '/k.pem' } });
      expect(both).to.include({ tls_cert: '/c.pem', tls_key: '/k.pem' });
    });

    it('reports every problem, one each', () => {
      const err = configError({
        file: writeConfig({ api_port: 'x', comand_port: 1 }),
        env: { PUSH_JOBS_VOTING_TIMEOUT: '-5' },
      });
      expect(err.problems).to.have.length(3);
      expect(err.message).to.equal(err.problems.join('; '));
    });
  });

  describe('unknown settings', () => {
    it('suggests the setting meant', () => {
      expect(configError({ file: writeConfig({ comand_port: 1 }) }).message).to.equal(
        `unknown setting "comand_port" in ${file} (did you mean "command_port"?)`,
      );
      expect(configError({ file: writeConfig({ 'api-port': 1 }) }).message).to.equal(
        `unknown setting "api-port" in ${file} (did you mean "api_port"?)`,
      );
      expect(configError({ flags: { hartbeat_intervl: '1' } as Record<string, unknown> }).message).to.equal(
        'unknown setting "hartbeat_intervl" in flags (did you mean "heartbeat_interval"?)',
      );
    });

    it('gives no suggestion for something unrelated', () => {
      expect(configError({ file: writeConfig({ zzzzzz: 1 }) }).message).to.equal(
        `unknown setting "zzzzzz" in ${file}`,
      );
      expect(suggestName('LOG_LEVEL', SERVER_SETTING_NAMES)).to.equal('log_level');
      expect(suggestName('completely_different', SERVER_SETTING_NAMES)).to.equal(undefined);
    });
  });

  describe('config file problems', () => {
    it('a missing file', () => {
      const missing = join(dir, 'missing.json');
      expect(configError({ file: missing }).message).to.match(
        new RegExp(`^cannot read config file ${missing.replace(/[.]/g, '\\.')}: ENOENT`),
      );
    });

    it('bad JSON', () => {
      expect(configError({ file: writeConfig('{ "api_port": 1,') }).message).to.match(
        new RegExp(`^invalid JSON in config file ${file.replace(/[.]/g, '\\.')}: `),
      );
    });

    it('JSON that is not an object', () => {
      expect(configError({ file: writeConfig('[1, 2]') }).message).to.equal(
        `config file ${file} must hold a JSON object of settings`,
      );
    });
  });

  describe('resolveDatabaseUrl', () => {
    it('resolves relative SQLite paths against data_dir', () => {
      expect(resolveDatabaseUrl({ data_dir: '/var/lib/pj', database_url: 'push-jobs.sqlite' })).to.equal(
        '/var/lib/pj/push-jobs.sqlite',
      );
      expect(resolveDatabaseUrl({ data_dir: '/var/lib/pj', database_url: 'db/x.sqlite' })).to.equal(
        '/var/lib/pj/db/x.sqlite',
      );
      expect(resolveDatabaseUrl({ data_dir: 'data', database_url: 'x.sqlite' })).to.equal(
        resolve('data', 'x.sqlite'),
      );
    });

    it('keeps absolute paths, :memory: and PostgreSQL URLs', () => {
      expect(resolveDatabaseUrl({ data_dir: '/d', database_url: '/abs/x.sqlite' })).to.equal('/abs/x.sqlite');
      expect(resolveDatabaseUrl({ data_dir: '/d', database_url: ':memory:' })).to.equal(':memory:');
      expect(resolveDatabaseUrl({ data_dir: '/d', database_url: 'postgres://u:p@h:5432/db' })).to.equal(
        'postgres://u:p@h:5432/db',
      );
      expect(resolveDatabaseUrl({ data_dir: '/d', database_url: 'postgresql://h/db' })).to.equal(
        'postgresql://h/db',
      );
    });

    it('redacts passwords for printing', () => {
      expect(redactDatabaseUrl('postgres://u:secret@h:5432/db')).to.equal('postgres://u:***@h:5432/db');
      expect(redactDatabaseUrl('/abs/x.sqlite')).to.equal('/abs/x.sqlite');
    });
  });
});
