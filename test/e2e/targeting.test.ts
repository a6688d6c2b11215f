// Targeting with real processes: our agents report their tags in their node objects, nodes of
// agents that do not (simulated original clients) come in through `push-jobs-server node
// import` while the server runs, and one job by search runs on exactly the matching nodes of
// both kinds, recording its query.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { until } from '@push-jobs/testing';
import { E2eScope } from '../helpers/e2e-scope.js';
import { SERVER_BIN } from '../helpers/server-process.js';
import { nodesByState, waitForAvailability, waitForJob } from '../helpers/wait.js';

const run = promisify(execFile);

describe('end to end: targeting by search on a mixed fleet', function () {
  this.timeout(180_000);
  const scope = E2eScope.use('pj-e2e-target-');

  it('a search job runs on the matching agents of ours (facts) and imported nodes, and nowhere else', async () => {
    const { server, api } = await scope.server();
    const whitelist = { hello: 'echo hello' };
    const tagged = { web1: ['web'], web2: ['web', 'canary'], db1: ['db'] };
    await Promise.all(
      Object.entries(tagged).map(([node, tags]) =>
        scope.agent(server, { node, whitelist, config: { tags } }),
      ),
    );
    const fleet = await scope.simulatedAgents(server, 'ruby', 3);
    const [rubyWeb, rubyDb, rubyUntagged] = fleet.nodeNames as [string, string, string];

    // Their node objects, as `knife node show -l -F json` would give them, imported while the
    // server runs (the importer writes the same database).
    const knifeNode = (name: string, tags: string[]) => ({
      name,
      chef_environment: '_default',
      json_class: 'Chef::Node',
      chef_type: 'node',
      run_list: ['recipe[base]'],
      normal: { tags },
      default: {},
      override: {},
      automatic: { hostname: name, platform: 'ubuntu', platform_family: 'debian' },
    });
    const file = join(scope.dir, 'nodes.json');
    writeFileSync(
      file,
      JSON.stringify([knifeNode(rubyWeb, ['web']), knifeNode(rubyDb, ['db']), knifeNode(rubyUntagged, [])]),
    );
    const imported = await run(process.execPath, [
      SERVER_BIN,
      'node',
      'import',
      file,
      '--org',
      server.org,
      '--data-dir',
      server.dataDir,
      '--replace',
      '--json',
    ]);
    expect(imported.stdout).to.include(rubyWeb);

    const expected = ['web1', 'web2', rubyWeb].sort();
    // Our agents report their facts shortly after they start.
    await until(
      async () => {
        const found = (await api.searchNodes('tags:web')).rows;
        return JSON.stringify(found.map((n) => n.name).sort()) === JSON.stringify(expected);
      },
      'the web nodes are searchable',
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    const debian = (await api.searchNodes('platform:debian AND tags:web')).rows.map((n) => n.name).sort();
    expect(debian).to.deep.equal(['web1', 'web2']);

    await waitForAvailability(api, [...Object.keys(tagged), ...fleet.nodeNames], 'available', 60_000);
    const { id } = await api.startJob({ command: 'hello', search: 'tags:web' });
    const job = await waitForJob(api, id);
    expect(job.status).to.equal('complete');
    expect(job.search).to.equal('tags:web');
    expect(nodesByState(job)).to.deep.equal({ succeeded: expected });
    expect(job.results?.web1?.exit_status).to.equal(0);
    expect(job.results?.[rubyWeb]?.exit_status).to.equal(null);

    // A search that matches nothing is refused, unless allowed.
    const refused = await api.startJob({ command: 'hello', search: 'tags:nothing' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(String(refused)).to.match(/matched no nodes/);
    const empty = await waitForJob(
      api,
      (await api.startJob({ command: 'hello', search: 'tags:nothing', allow_empty_search: true })).id,
    );
    expect(empty.status).to.equal('complete');
  });
});
