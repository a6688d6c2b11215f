// Golden files of every rendered file, per platform family and init system.
//
// Regenerate after an intended change with:
//   UPDATE_GOLDEN=1 npx mocha --no-config --import=tsx test/golden.test.ts
// (from cookbooks/push-jobs), then review the diff of test/golden/.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import {
  INIT_SYSTEMS,
  PLATFORM_FAMILIES,
  renderFiles,
  type InitSystem,
  type PlatformFamily,
  type PushJobsAttributesInput,
} from '../src/index.js';

const GOLDEN = fileURLToPath(new URL('./golden', import.meta.url));
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

const DEFAULTS: PushJobsAttributesInput = {
  chef: { chef_server_url: 'https://push.example.com/organizations/acme', node_name: 'web1.example.com' },
};

const FULL: PushJobsAttributesInput = {
  chef: {
    chef_server_url: 'https://push.example.com:8443/organizations/acme',
    node_name: 'db-1',
    client_key_path: '/etc/push-jobs/db-1.pem',
    ssl_verify_mode: 'verify_none',
    verify_api_cert: false,
    include_timestamp: true,
  },
  whitelist: {
    'chef-client': { command_line: 'chef-client', lock: true },
    '/^restart (nginx|postgresql)$/': 'systemctl restart \\1',
    backup: { command_line: "pg_dump -Fc app > '/var/backups/app.dump'", lock: '/var/run/backup.lock' },
  },
  environment_variables: { LC_ALL: 'C.UTF-8', APP_ENV: 'production', GREETING: 'it\'s 100% "fine"' },
  allow_unencrypted: true,
  proxy: { http: { url: 'http://proxy:3128', user: 'ops', pass: null }, https: { url: 'http://proxy:3128' } },
  no_proxy: 'localhost,127.0.0.1',
  logging_level: 'debug',
  logging_dir: null,
  service_name: 'push-jobs-agent',
  install_prefix: '/opt/push jobs',
  file_dir: '/var/lib/push-jobs/files',
  max_body_size: 250000,
  allowed_overwritable_env_vars: ['PATH'],
};

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(`/${relative(dir, p)}`);
    }
  };
  walk(dir);
  return out.sort();
}

function checkGolden(
  dir: string,
  input: PushJobsAttributesInput,
  family: PlatformFamily,
  init: InitSystem,
): void {
  const files = renderFiles(input, { platformFamily: family, initSystem: init });
  if (UPDATE) {
    rmSync(dir, { recursive: true, force: true });
    for (const [path, file] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), file.content);
    }
  }
  expect(listFiles(dir), `golden files in ${dir}`).to.deep.equal(Object.keys(files).sort());
  for (const [path, file] of Object.entries(files)) {
    expect(file.content, `${relative(GOLDEN, dir)}${path}`).to.equal(readFileSync(join(dir, path), 'utf8'));
  }
}

describe('golden files', () => {
  for (const family of PLATFORM_FAMILIES) {
    for (const init of INIT_SYSTEMS) {
      it(`default attributes: ${family} with ${init}`, () => {
        checkGolden(join(GOLDEN, family, init), DEFAULTS, family, init);
      });
    }
  }

  for (const init of INIT_SYSTEMS) {
    it(`every attribute set: debian with ${init}`, () => {
      checkGolden(join(GOLDEN, 'full', init), FULL, 'debian', init);
    });
  }

  it('gives every file the mode the recipes converge it to', () => {
    const modes = (init: InitSystem, input = DEFAULTS): Record<string, string> =>
      Object.fromEntries(
        Object.values(renderFiles(input, { platformFamily: 'debian', initSystem: init })).map((f) => [
          f.path,
          f.mode.toString(8),
        ]),
      );
    expect(modes('systemd')).to.deep.equal({
      '/etc/chef/push-jobs-client.rb': '644',
      '/etc/systemd/system/chef-push-jobs-client.service': '644',
    });
    expect(modes('sysvinit')['/etc/init.d/chef-push-jobs-client']).to.equal('755');
    expect(modes('runit')).to.deep.include({
      '/etc/sv/chef-push-jobs-client/run': '755',
      '/etc/sv/chef-push-jobs-client/log/run': '755',
    });
    // A config holding a proxy password is not world-readable.
    const withPass = { ...DEFAULTS, proxy: { https: { url: 'http://p:1', user: 'u', pass: 'secret' } } };
    expect(modes('systemd', withPass)['/etc/chef/push-jobs-client.rb']).to.equal('600');
  });
});
