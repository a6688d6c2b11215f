// --from-server against the real push server: the node object's attributes (where
// `push whitelist add` keeps whitelist entries) merged with a -j file by Chef precedence.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { fetchNodeAttributes, runCli } from '../src/index.js';
import { ORG, TestPushServer } from './helpers/push-server.js';
import { removeDir, tempDir } from './helpers/temp.js';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}

describe('attributes from the node object on the server (--from-server)', function () {
  this.timeout(60_000);
  let h: TestPushServer;
  let work: string;
  let root: string;
  let keyFile: string;
  let otherKeyFile: string;

  const node = (whitelist: Record<string, unknown>): Record<string, unknown> => ({
    name: 'web2',
    normal: { push_jobs: { whitelist, allow_unencrypted: true }, other: { x: 1 } },
    override: { push_jobs: { chef: { verify_api_cert: false } } },
    default: { push_jobs: { logging_level: 'debug' } },
    automatic: { fqdn: 'web2.example.com' },
  });

  before(async () => {
    h = await TestPushServer.start();
    work = tempDir('from-server');
    keyFile = join(work, 'web2.pem');
    writeFileSync(keyFile, await h.createClient('web2'), { mode: 0o600 });
    otherKeyFile = join(work, 'other.pem');
    writeFileSync(otherKeyFile, await h.createClient('other'), { mode: 0o600 });
    const res = await h.request(
      'POST',
      `/organizations/${ORG}/nodes`,
      node({ 'from-server': 'echo server' }),
    );
    expect(res.status, res.text).to.equal(201);
  });
  after(async () => {
    await h.close();
    removeDir(work);
  });
  beforeEach(() => {
    root = tempDir('from-server-root');
  });
  afterEach(() => removeDir(root));

  it('reads the node with a request signed by the node client', async () => {
    const levels = await fetchNodeAttributes({
      chefServerUrl: h.orgUrl,
      nodeName: 'web2',
      privateKey: readFileSync(keyFile, 'utf8'),
    });
    expect(levels).to.deep.equal({
      default: { logging_level: 'debug' },
      normal: { whitelist: { 'from-server': 'echo server' }, allow_unencrypted: true },
      override: { chef: { verify_api_cert: false } },
    });
  });

  it('merges the node with a -j file by precedence and converges; a whitelist added on the server reloads the agent', async () => {
    const file = join(work, 'node.json');
    writeFileSync(
      file,
      JSON.stringify({
        push_jobs: {
          whitelist: { 'from-file': 'echo file' },
          allow_unencrypted: false,
          chef: { verify_api_cert: true },
        },
      }),
    );
    const args = [
      'apply',
      '--from-server',
      '--server',
      h.orgUrl,
      '--node',
      'web2',
      '--key-source',
      keyFile,
      '-j',
      file,
      '--root',
      root,
      '--platform-family',
      'debian',
      '--recipe',
      'config,service',
    ];
    const first = await cli(args);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.include(`Reading node web2 from ${h.orgUrl}`);
    const config = (): string => readFileSync(join(root, 'etc/chef/push-jobs-client.rb'), 'utf8');
    expect(config()).to.include(
      'whitelist({"chef-client"=>"chef-client", "from-server"=>"echo server", "from-file"=>"echo file"})',
    );
    // The -j file's normal level wins over the saved node's normal; the node's override wins over both.
    expect(config()).to.include('allow_unencrypted false');
    expect(config()).to.include('verify_api_cert   false');
    // The node's default level applies where nothing higher sets a value.
    expect(readFileSync(join(root, 'etc/systemd/system/chef-push-jobs-client.service'), 'utf8')).to.include(
      ' -l debug ',
    );
    expect(readFileSync(join(root, 'etc/chef/client.pem'), 'utf8')).to.equal(readFileSync(keyFile, 'utf8'));

    // What `push whitelist add web2 ntpdate ...` does: edit the node's normal attributes.
    const put = await h.request(
      'PUT',
      `/organizations/${ORG}/nodes/web2`,
      node({ 'from-server': 'echo server', ntpdate: 'ntpdate -u pool.ntp.org' }),
    );
    expect(put.status, put.text).to.equal(200);
    const second = await cli(args);
    expect(second.code, second.stderr).to.equal(0);
    expect(config()).to.include('"ntpdate"=>"ntpdate -u pool.ntp.org"');
    expect(second.stdout).to.include('  * service[chef-push-jobs-client] action reload\n');
    expect(second.stdout).to.match(/finished, 2\/\d+ resources updated/);
    expect(
      readFileSync(join(root, 'var/lib/push-jobs-cookbook/service-actions.log'), 'utf8')
        .trim()
        .split('\n')
        .at(-1),
    ).to.equal('systemd reload chef-push-jobs-client');
  });

  it('fails clearly for a node that does not exist, or a key the server refuses', async () => {
    const common = [
      'apply',
      '--from-server',
      '--server',
      h.orgUrl,
      '--root',
      root,
      '--platform-family',
      'debian',
    ];
    const missing = await cli([...common, '--node', 'other', '--key-source', otherKeyFile]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.equal(
      `push-jobs-cookbook: ERROR: node 'other' on ${h.orgUrl} does not exist (create it, or drop --from-server)\n`,
    );
    const refused = await cli([...common, '--node', 'web2', '--key-source', otherKeyFile]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(
      /ERROR: node 'web2' on .*: the server refused the request \(401\); check push_jobs\.chef\.node_name and the key/,
    );
    const noKey = await cli([...common, '--node', 'web2']);
    expect(noKey.code).to.equal(1);
    expect(noKey.stderr).to.match(
      /ERROR: --from-server needs the node's key: cannot read .*\/etc\/chef\/client\.pem/,
    );
    expect(refused.stderr + missing.stderr).to.not.include('PRIVATE KEY');
  });
});
