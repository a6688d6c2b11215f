import { expect } from 'chai';
import { CliTestServer, cli, cliJson, isolateEnv, restoreEnv } from '../../../helpers/harness.js';

function pretty(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

describe('push whitelist add, remove, list', function () {
  this.timeout(60_000);
  let h: CliTestServer;

  before(async () => {
    h = await CliTestServer.start();
    await h.createNode('web1', {
      roles: ['web'],
      push_jobs: { whitelist: { 'chef-client': 'chef-client' } },
    });
    await h.createNode('web2', { roles: ['web'] });
    await h.createNode('db1', { roles: ['db'] });
  });
  after(async () => {
    await h.close();
  });
  beforeEach(() => isolateEnv(h.env()));
  afterEach(() => restoreEnv());

  const normalWhitelist = async (node: string): Promise<unknown> => {
    const client = h.client();
    const doc = await client.getNode(node);
    client.close();
    return (doc.normal as { push_jobs?: { whitelist?: unknown } } | undefined)?.push_jobs?.whitelist;
  };

  it('adds an entry to the normal attributes of each node, keeping the rest of the node', async () => {
    const run = await cli([
      'push',
      'whitelist',
      'add',
      'ntpdate',
      'ntpdate -u pool.ntp.org',
      '--node',
      'web1',
      '-n',
      'web2',
    ]);
    expect(run.exitCode).to.equal(0);
    expect(run.stdout).to.equal(
      'web1: ntpdate => "ntpdate -u pool.ntp.org"\nweb2: ntpdate => "ntpdate -u pool.ntp.org"\n',
    );
    expect(await normalWhitelist('web1')).to.deep.equal({
      'chef-client': 'chef-client',
      ntpdate: 'ntpdate -u pool.ntp.org',
    });
    expect(await normalWhitelist('web2')).to.deep.equal({ ntpdate: 'ntpdate -u pool.ntp.org' });
    const client = h.client();
    expect((await client.getNode('web1')).normal).to.deep.include({ roles: ['web'] });
    client.close();
  });

  it('adding the same entry again changes nothing (--json, exact)', async () => {
    const { run } = await cliJson([
      'push',
      'whitelist',
      'add',
      'ntpdate',
      'ntpdate -u pool.ntp.org',
      '--node',
      'web1',
    ]);
    expect(run.stdout).to.equal(
      pretty({
        ok: true,
        data: {
          name: 'ntpdate',
          command: 'ntpdate -u pool.ntp.org',
          nodes: [{ node: 'web1', changed: false }],
        },
      }),
    );
  });

  it('edits the nodes a --search finds', async () => {
    const run = await cli(['push', 'whitelist', 'add', 'uptime', 'uptime', '-s', 'roles:web']);
    expect(run.stdout).to.equal('web1: uptime => "uptime"\nweb2: uptime => "uptime"\n');
    expect(await normalWhitelist('db1')).to.equal(undefined);
  });

  it('lists the effective whitelist with the level of each entry', async () => {
    const run = await cli(['push', 'whitelist', 'list', 'web1']);
    expect(run.exitCode).to.equal(0);
    expect(run.stdout).to.equal(
      [
        'NAME         LEVEL   COMMAND',
        'chef-client  normal  chef-client',
        'ntpdate      normal  ntpdate -u pool.ntp.org',
        'uptime       normal  uptime',
        'The agent of web1 reports no allow-list (no facts from an agent of this version).',
        '',
      ].join('\n'),
    );
    const { run: jr } = await cliJson(['push', 'whitelist', 'list', 'web2']);
    expect(jr.stdout).to.equal(
      pretty({
        ok: true,
        data: {
          node: 'web2',
          entries: [
            { name: 'ntpdate', command: 'ntpdate -u pool.ntp.org', level: 'normal' },
            { name: 'uptime', command: 'uptime', level: 'normal' },
          ],
          agent: null,
        },
      }),
    );
    expect((await cli(['push', 'whitelist', 'list', 'db1'])).stdout).to.equal(
      'Node db1 has no push_jobs.whitelist entries.\n' +
        'The agent of db1 reports no allow-list (no facts from an agent of this version).\n',
    );
  });

  it('shows what the agent reports it allows, and the differences with the attribute', async () => {
    await h.createNode('app1', {
      push_jobs: { whitelist: { 'chef-client': 'chef-client', ntpdate: 'ntpdate -u pool.ntp.org' } },
    });
    const client = h.client();
    const doc = await client.getNode('app1');
    await client.putNode({
      ...doc,
      automatic: {
        platform: 'debian',
        push_jobs: { client_version: '1.2.3', allowed_commands: ['chef-client', '/^restart (\\w+)$/'] },
      },
    });
    client.close();
    const run = await cli(['push', 'whitelist', 'list', 'app1']);
    expect(run.exitCode).to.equal(0);
    expect(run.stdout).to.equal(
      [
        'NAME         LEVEL   COMMAND',
        'chef-client  normal  chef-client',
        'ntpdate      normal  ntpdate -u pool.ntp.org',
        'The agent of app1 allows: chef-client, /^restart (\\w+)$/',
        'In the attribute but not allowed by the agent: ntpdate',
        'Allowed by the agent but not in the attribute: /^restart (\\w+)$/',
        '',
      ].join('\n'),
    );
    const { run: jr } = await cliJson(['push', 'whitelist', 'list', 'app1']);
    const data = (JSON.parse(jr.stdout) as { data: { agent: unknown } }).data;
    expect(data.agent).to.deep.equal({
      allowed_commands: ['chef-client', '/^restart (\\w+)$/'],
      truncated: false,
      client_version: '1.2.3',
      not_allowed: ['ntpdate'],
      not_in_attribute: ['/^restart (\\w+)$/'],
    });
  });

  it('removes an entry; a node without it is unchanged', async () => {
    const run = await cli(['push', 'whitelist', 'remove', 'uptime', '-n', 'web1', '-n', 'db1']);
    expect(run.exitCode).to.equal(0);
    expect(run.stdout).to.equal('db1: no entry uptime (unchanged)\nweb1: removed uptime\n');
    expect(await normalWhitelist('web1')).to.deep.equal({
      'chef-client': 'chef-client',
      ntpdate: 'ntpdate -u pool.ntp.org',
    });
  });

  it('remove --json (exact): command null, a node without the entry unchanged', async () => {
    const { run } = await cliJson(['push', 'whitelist', 'remove', 'uptime', '-n', 'web1']);
    expect(run.exitCode).to.equal(0);
    expect(run.stdout).to.equal(
      pretty({
        ok: true,
        data: { name: 'uptime', command: null, nodes: [{ node: 'web1', changed: false }] },
      }),
    );
  });

  it('an unknown node changes nothing and exits 4', async () => {
    const run = await cli(['push', 'whitelist', 'add', 'x', 'x', '-n', 'web2', '-n', 'ghost']);
    expect(run.exitCode).to.equal(4);
    expect(run.stdout).to.equal('');
    expect(run.stderr).to.equal(
      "Error: unknown node 'ghost': no node object on the server; check the name (nothing was changed)\n",
    );
    expect(await normalWhitelist('web2')).to.not.have.property('x');
    const list = await cli(['push', 'whitelist', 'list', 'ghost']);
    expect(list.exitCode).to.equal(4);
    expect(list.stderr).to.equal("Error: node 'ghost' not found; check the node name\n");
  });

  it('needs exactly one of --node and --search (exit 2)', async () => {
    const neither = await cli(['push', 'whitelist', 'add', 'x', 'x']);
    expect(neither.exitCode).to.equal(2);
    expect(neither.stderr).to.equal(
      'Error: give the nodes with --node NODE (repeatable) or --search QUERY, one of the two\n',
    );
    const both = await cli(['push', 'whitelist', 'remove', 'x', '-n', 'web1', '-s', 'roles:web']);
    expect(both.exitCode).to.equal(2);
  });

  it('a member who is not an admin may not edit nodes (exit 5)', async () => {
    isolateEnv(h.env('bob'));
    const run = await cli(['push', 'whitelist', 'add', 'x', 'x', '-n', 'web2']);
    expect(run.exitCode).to.equal(5);
    expect(run.stderr).to.match(
      /^Error: permission denied as 'bob' \(403\): .+; ask an organization admin for access/,
    );
    expect(await normalWhitelist('web2')).to.not.have.property('x');
  });
});
