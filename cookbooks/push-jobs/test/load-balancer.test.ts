// Cluster mode: agents are pointed at the load balancer in front of several servers through
// push_jobs.chef.chef_server_url, the same attribute as for one server. The URL goes into the
// config file unchanged, the agent reads it back, and fetches its config document through it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileAgentOptions, configUrl, type AgentIdentity } from '@push-jobs/agent';
import { expect } from 'chai';
import {
  agentConfigFromAttributes,
  CookbookError,
  renderClientRb,
  renderFiles,
  runCli,
  validateAttributes,
} from '../src/index.js';
import { removeDir, tempDir } from './helpers/temp.js';

/** Load-balanced server URLs as a cluster's agents get them. */
const LOAD_BALANCED = [
  'https://push.example.com/organizations/acme',
  'https://push-lb.internal:8443/organizations/acme',
  'http://10.0.0.100:10003/organizations/acme',
  'https://[fd00::10]:443/organizations/acme',
  'http://push-lb:10003/organizations/acme',
];

describe('a load-balanced server URL (cluster mode)', () => {
  for (const url of LOAD_BALANCED) {
    it(`is written to the config as given and read back by the agent: ${url}`, () => {
      const attrs = validateAttributes({ chef: { chef_server_url: url, node_name: 'web1' } }, 'debian');
      expect(attrs.chef.chef_server_url).to.equal(url);
      const text = renderClientRb(attrs);
      expect(text).to.include(`chef_server_url   '${url}'\n`);
      expect(agentConfigFromAttributes(attrs)).to.deep.include({ chef_server_url: url });
      const compiled = compileAgentOptions({
        flags: {},
        file: { path: 'push-jobs-client.rb', text },
        env: {},
        host: { hostname: 'web1' },
      });
      expect(compiled.chef_server_url).to.equal(url);
      expect(compiled.warnings).to.deep.equal([]);
      // The agent fetches its config document (which names the instance's own ZeroMQ ports)
      // through the load balancer.
      const identity = {
        nodeName: 'web1',
        chefServerUrl: compiled.chef_server_url,
        curve: { publicKey: 'K' },
      } as unknown as AgentIdentity;
      expect(configUrl(identity).href).to.equal(new URL(`${url}/pushy/config/web1?ccpk=K&version=2.0`).href);
    });
  }

  it('is only in the config file: the service definitions do not name the server', () => {
    const url = LOAD_BALANCED[0]!;
    const attrs = validateAttributes({ chef: { chef_server_url: url, node_name: 'web1' } }, 'rhel');
    for (const init of ['systemd', 'sysvinit', 'runit'] as const) {
      const files = renderFiles(attrs, { platformFamily: 'rhel', initSystem: init });
      const naming = Object.entries(files)
        .filter(([, file]) => file.content.includes('push.example.com'))
        .map(([path]) => path);
      expect(naming, init).to.deep.equal(['/etc/chef/push-jobs-client.rb']);
    }
  });

  it('must still end in /organizations/ORG: the bare load balancer address is refused, naming the attribute', () => {
    let error: unknown;
    try {
      validateAttributes({ chef: { chef_server_url: 'https://push.example.com' } }, 'debian');
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(CookbookError);
    expect((error as CookbookError).message).to.equal(
      'push_jobs.chef.chef_server_url must be an http(s) URL ending in /organizations/ORG_NAME (got "https://push.example.com")',
    );
  });

  it('push-jobs-cookbook apply --server takes the load balancer URL', async () => {
    const root = tempDir('lb-root');
    try {
      let stderr = '';
      const code = await runCli(
        [
          'apply',
          '--root',
          root,
          '--platform-family',
          'debian',
          '--recipe',
          'config',
          '--server',
          LOAD_BALANCED[1]!,
          '--node',
          'web1',
        ],
        { stdout: { write: () => undefined }, stderr: { write: (t: string) => (stderr += t) } },
      );
      expect(code, stderr).to.equal(0);
      const config = readFileSync(join(root, 'etc/chef/push-jobs-client.rb'), 'utf8');
      expect(config).to.include(`chef_server_url   '${LOAD_BALANCED[1]}'\n`);
    } finally {
      removeDir(root);
    }
  });
});
