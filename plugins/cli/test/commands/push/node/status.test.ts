import { expect } from 'chai';
import { CliTestServer, cli, cliJson, isolateEnv, restoreEnv } from '../../../helpers/harness.js';

function pretty(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

describe('push node status', function () {
  this.timeout(60_000);
  let h: CliTestServer;

  before(async () => {
    h = await CliTestServer.start();
    isolateEnv(h.env());
    expect((await cli(['push', 'node', 'status'])).stdout).to.equal('No nodes have connected.\n');
    restoreEnv();
    await h.startAgent('web1');
    await h.startAgent('web2');
    await h.createNode('web1', { roles: ['web'] });
    await h.createNode('web2', { roles: ['web'] });
    await h.createNode('db1', { roles: ['db'] });
  });
  after(async () => {
    await h.close();
  });
  beforeEach(async () => {
    isolateEnv(h.env());
    // These tests are about the output, not liveness: both agents are up before each.
    await h.waitAvailable('web1', 'web2');
  });
  afterEach(() => restoreEnv());

  it('lists every node the server tracks', async () => {
    const run = await cli(['push', 'node', 'status']);
    expect(run.exitCode).to.equal(0);
    expect(run.stdout).to.equal(
      ['NODE  AVAILABILITY  STATUS', 'web1  available     online', 'web2  available     online', ''].join(
        '\n',
      ),
    );
  });

  it('--json (exact)', async () => {
    const { run } = await cliJson(['push', 'node', 'status']);
    expect(run.stdout).to.equal(
      pretty({
        ok: true,
        data: [
          { node_name: 'web1', availability: 'available', status: 'online' },
          { node_name: 'web2', availability: 'available', status: 'online' },
        ],
      }),
    );
  });

  it('named nodes, a known one that never connected is offline', async () => {
    const run = await cli(['push', 'node', 'status', 'web2', 'db1']);
    expect(run.exitCode).to.equal(0);
    expect(run.stdout).to.equal(
      ['NODE  AVAILABILITY  STATUS', 'db1   unavailable   offline', 'web2  available     online', ''].join(
        '\n',
      ),
    );
  });

  it('the search form works (--search, or an argument with a colon as knife)', async () => {
    const flag = await cli(['push', 'node', 'status', '--search', 'roles:web']);
    expect(flag.stdout).to.equal(
      ['NODE  AVAILABILITY  STATUS', 'web1  available     online', 'web2  available     online', ''].join(
        '\n',
      ),
    );
    const arg = await cliJson(['push', 'node', 'status', 'roles:db']);
    expect(arg.json).to.deep.equal({
      ok: true,
      data: [{ node_name: 'db1', availability: 'unavailable', status: 'offline' }],
    });
    const none = await cli(['push', 'node', 'status', '-s', 'roles:nothing']);
    expect(none.stdout).to.equal('No nodes match the search.\n');
    expect(none.exitCode).to.equal(0);
  });

  it('an unknown node: shown as unknown, one error line, exit 4', async () => {
    const run = await cli(['push', 'node', 'status', 'web1', 'ghost']);
    expect(run.exitCode).to.equal(4);
    expect(run.stdout).to.equal(
      ['NODE   AVAILABILITY  STATUS', 'ghost  unavailable   unknown', 'web1   available     online', ''].join(
        '\n',
      ),
    );
    expect(run.stderr).to.equal(
      "Error: unknown node 'ghost': the server has no such node and never heard from it; check the name\n",
    );
    const { json } = await cliJson(['push', 'node', 'status', 'ghost']);
    expect(json).to.deep.equal({
      ok: false,
      data: [{ node_name: 'ghost', availability: 'unavailable', status: 'unknown' }],
      error: {
        code: 'PJ_ERR_NOT_FOUND',
        message: "unknown node 'ghost': the server has no such node and never heard from it; check the name",
        exitCode: 4,
      },
    });
  });
});
