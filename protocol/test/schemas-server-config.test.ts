import { Ajv } from 'ajv';
import { expect } from 'chai';
import {
  isPostgresUrl,
  SERVER_CONFIG_DEFAULTS,
  SERVER_LOG_LEVELS,
  SERVER_SETTING_NAMES,
  ServerConfigSchema,
} from '../src/schemas/server-config.js';
import { LOG_LEVELS } from '../src/constants.js';

describe('ServerConfigSchema', () => {
  const validate = new Ajv({ strict: true, allErrors: true }).compile(ServerConfigSchema);

  it('is a strict JSON Schema its own defaults satisfy', () => {
    expect(validate(SERVER_CONFIG_DEFAULTS), JSON.stringify(validate.errors)).to.equal(true);
  });

  it("gives the original's production defaults (spec 9) and ours", () => {
    expect(SERVER_CONFIG_DEFAULTS).to.include({
      api_port: 10003,
      server_heartbeat_port: 10000,
      command_port: 10002,
      zeromq_listen_address: 'tcp://*',
      heartbeat_interval: 1000,
      decay_window: 4,
      down_threshold: 0.6,
      detect_offline_nodes_interval: 4,
      rehab_timer: 1000,
      default_running_timeout: 3600,
      voting_timeout: 60,
      wait_complete_time: 5,
      keep_alive_time: 15,
      org_feed_expiration: 60,
      config_lifetime: 3600,
      max_body_size: 65536,
      max_message_skew: 300,
      max_zmq_connections_per_address: 64,
      database_url: 'push-jobs.sqlite',
      tls_cert: null,
      tls_key: null,
      log_level: 'info',
      cluster: false,
      instance_name: null,
      cluster_lease_seconds: 15,
      cluster_drain_seconds: 300,
    });
  });

  it('names every setting once, in the order of the schema, with a description and a default', () => {
    expect(SERVER_SETTING_NAMES).to.deep.equal(Object.keys(ServerConfigSchema.properties));
    expect(Object.keys(SERVER_CONFIG_DEFAULTS)).to.deep.equal([...SERVER_SETTING_NAMES]);
    for (const name of SERVER_SETTING_NAMES) {
      const schema = ServerConfigSchema.properties[name] as { description?: string; default?: unknown };
      expect(schema.description, name).to.be.a('string').and.not.equal('');
      expect(schema, name).to.have.property('default');
    }
    expect(Object.isFrozen(SERVER_CONFIG_DEFAULTS)).to.equal(true);
  });

  it('refuses unknown settings, out-of-range values and wrong types', () => {
    expect(validate({ ...SERVER_CONFIG_DEFAULTS, api_prot: 1 })).to.equal(false);
    expect(validate({ ...SERVER_CONFIG_DEFAULTS, api_port: 65536 })).to.equal(false);
    expect(validate({ ...SERVER_CONFIG_DEFAULTS, heartbeat_interval: 2 ** 31 })).to.equal(false);
    expect(validate({ ...SERVER_CONFIG_DEFAULTS, down_threshold: 0 })).to.equal(false);
    expect(validate({ ...SERVER_CONFIG_DEFAULTS, log_level: 'verbose' })).to.equal(false);
    expect(validate({ ...SERVER_CONFIG_DEFAULTS, tls_cert: '' })).to.equal(false);
    expect(validate({ ...SERVER_CONFIG_DEFAULTS, wait_complete_time: 0 })).to.equal(true);
    expect(validate({ ...SERVER_CONFIG_DEFAULTS, instance_name: 'api-1.example:10003' })).to.equal(true);
    expect(validate({ ...SERVER_CONFIG_DEFAULTS, instance_name: 'a b' })).to.equal(false);
    expect(validate({ ...SERVER_CONFIG_DEFAULTS, instance_name: '' })).to.equal(false);
    expect(validate({ ...SERVER_CONFIG_DEFAULTS, cluster_lease_seconds: 2 })).to.equal(false);
  });

  it("the agent's log levels are all server levels", () => {
    for (const level of LOG_LEVELS) expect(SERVER_LOG_LEVELS).to.include(level);
  });
});

describe('isPostgresUrl', () => {
  it('knows postgres:// and postgresql:// in any case, and nothing else', () => {
    expect(isPostgresUrl('postgres://127.0.0.1/test')).to.equal(true);
    expect(isPostgresUrl('PostgreSQL://u:p@h:5432/db')).to.equal(true);
    expect(isPostgresUrl('push-jobs.sqlite')).to.equal(false);
    expect(isPostgresUrl('/var/lib/postgres://x')).to.equal(false);
    expect(isPostgresUrl('postgres:relative')).to.equal(false);
  });
});
