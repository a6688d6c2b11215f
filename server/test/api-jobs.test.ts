import { expect } from 'chai';
import { makeJobId } from '@push-jobs/protocol/internal';
import { createOrgWithDefaults } from '../src/identity/service.js';
import { type ApiHarness, startApi } from './helpers/api.js';

const JOBS = '/organizations/acme/pushy/jobs';
const RFC1123 = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

for (const storeKind of ['sqlite', 'postgres'] as const)
  describe(`push-jobs REST API on ${storeKind}: jobs, output, node states`, function () {
    let api: ApiHarness;
    beforeEach(async () => {
      api = await startApi({ store: storeKind });
    });
    afterEach(async () => api.close());

    async function create(body: object): Promise<string> {
      const res = await api.send('POST', JOBS, { body });
      expect(res.statusCode, res.body).to.equal(201);
      return (res.json() as { uri: string }).uri.split('/').pop()!;
    }

    it('POST jobs stores the job and answers 201 with uri and Location', async () => {
      const res = await api.send('POST', JOBS, {
        body: { command: 'chef-client', nodes: ['web1', 'web2'] },
        headers: { host: 'push.example.com', 'x-forwarded-proto': 'https' },
      });
      expect(res.statusCode).to.equal(201);
      const { uri } = res.json() as { uri: string };
      expect(uri).to.match(/^https:\/\/push\.example\.com\/organizations\/acme\/pushy\/jobs\/[0-9a-f]{32}$/);
      expect(res.headers.location).to.equal(uri);
      const id = uri.split('/').pop()!;
      const org = await api.store.getOrg('acme');
      expect(id.slice(0, 12)).to.equal(org!.guid.slice(-12));
      const job = await api.store.getJob('acme', id);
      expect(job!.status).to.equal('new');
      expect(job!.quorum).to.equal(2);
      expect(job!.runTimeout).to.equal(3600);
      expect(job!.createdBy).to.equal('alice');
      expect(job!.nodes.map((n) => [n.name, n.status])).to.deep.equal([
        ['web1', 'new'],
        ['web2', 'new'],
      ]);
    });

    it('keeps a non-default port in the uri and drops 80/443', async () => {
      const a = await api.send('POST', JOBS, {
        body: { command: 'x', nodes: ['n'] },
        headers: { host: 'h:8443' },
      });
      expect((a.json() as { uri: string }).uri).to.match(/^http:\/\/h:8443\/organizations\//);
      const b = await api.send('POST', JOBS, {
        body: { command: 'x', nodes: ['n'] },
        headers: { host: 'h:443' },
      });
      expect((b.json() as { uri: string }).uri).to.match(/^http:\/\/h\/organizations\//);
    });

    it('GET jobs/ID returns the job in the original shape with quorum and grouped nodes', async () => {
      const id = await create({
        command: 'deploy',
        nodes: ['b', 'a'],
        run_timeout: 30,
        quorum: 1,
        user: 'deploy',
        dir: '/srv',
        env: { A: '1' },
        capture_output: true,
        file: 'raw:hello',
      });
      const res = await api.send('GET', `${JOBS}/${id}`);
      expect(res.statusCode).to.equal(200);
      const job = res.json();
      expect(Object.keys(job)).to.deep.equal([
        'id',
        'command',
        'status',
        'run_timeout',
        'quorum',
        'created_at',
        'updated_at',
        'user',
        'dir',
        'env',
        'capture_output',
        'file_specified',
        'nodes',
      ]);
      expect(job).to.deep.include({
        id,
        command: 'deploy',
        status: 'new',
        run_timeout: 30,
        quorum: 1,
        user: 'deploy',
        dir: '/srv',
        env: { A: '1' },
        capture_output: true,
        file_specified: true,
      });
      expect(job.nodes).to.deep.equal({ new: ['a', 'b'] });
      expect(job.created_at).to.match(RFC1123);
      const withFile = (await api.send('GET', `${JOBS}/${id}?include_file=true`)).json();
      expect(withFile.file).to.equal('raw:hello');
      expect(withFile).to.not.have.property('file_specified');
    });

    it('leaves unset options out of the job JSON', async () => {
      const id = await create({ command: 'uptime', nodes: ['n'], capture_output: false });
      const job = (await api.send('GET', `${JOBS}/${id}`)).json();
      expect(Object.keys(job)).to.deep.equal([
        'id',
        'command',
        'status',
        'run_timeout',
        'quorum',
        'created_at',
        'updated_at',
        'nodes',
      ]);
    });

    it('GET jobs lists the org’s jobs; ?status filters; ?limit/offset page newest first with X-Total-Count', async () => {
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await create({ command: `c${i}`, nodes: ['n'] }));
      await api.store.updateJobStatus('acme', ids[1]!, 'complete', new Date(), 'test');
      const all = (await api.send('GET', JOBS)).json() as Array<{ id: string }>;
      expect(all.map((j) => j.id).sort()).to.deep.equal([...ids].sort());
      expect(all[0]).to.not.have.property('nodes');
      const complete = (await api.send('GET', `${JOBS}?status=complete`)).json() as Array<{ id: string }>;
      expect(complete.map((j) => j.id)).to.deep.equal([ids[1]]);
      const page = await api.send('GET', `${JOBS}?limit=2&offset=1`);
      expect(page.headers['x-total-count']).to.equal('5');
      expect((page.json() as Array<{ command: string }>).map((j) => j.command)).to.deep.equal(['c3', 'c2']);
      const bad = await api.send('GET', `${JOBS}?status=bogus`);
      expect(bad.statusCode).to.equal(400);
      expect((await api.send('GET', `${JOBS}?limit=-1`)).statusCode).to.equal(400);
    });

    it('answers 404 for an unknown job and for another org’s job', async () => {
      expect((await api.send('GET', `${JOBS}/${'0'.repeat(32)}`)).statusCode).to.equal(404);
      expect((await api.send('GET', `${JOBS}/not-even-an-id`)).statusCode).to.equal(404);
      const other = await createOrgWithDefaults(api.store, { name: 'other' });
      const foreignId = makeJobId(other.guid);
      await api.store.createJob({
        id: foreignId,
        orgName: 'other',
        command: 'x',
        status: 'new',
        runTimeout: 1,
        quorum: 1,
        createdBy: 'z',
        createdAt: new Date(),
        nodes: ['n'],
        options: {},
      });
      const res = await api.send('GET', `${JOBS}/${foreignId}`);
      expect(res.statusCode).to.equal(404);
      expect(
        (await api.send('GET', `${JOBS}/${foreignId}/output/n/stdout`, { headers: { accept: '*/*' } }))
          .statusCode,
      ).to.equal(404);
    });

    it('POST jobs/ID/abort ends an unfinished job aborted, then 409', async () => {
      const id = await create({ command: 'sleep 100', nodes: ['a', 'b'] });
      const res = await api.send('POST', `${JOBS}/${id}/abort`);
      expect(res.statusCode).to.equal(200);
      expect(res.json()).to.deep.include({ id, status: 'aborted', nodes: { aborted: ['a', 'b'] } });
      const again = await api.send('POST', `${JOBS}/${id}/abort`);
      expect(again.statusCode).to.equal(409);
      expect((await api.send('POST', `${JOBS}/${id}/abort`, { as: api.member })).statusCode).to.equal(403);
    });

    it('serves stored output as octet-stream, marks truncation, 404 otherwise', async () => {
      const id = await create({ command: 'uptime', nodes: ['n1'], capture_output: true });
      const none = await api.send('GET', `${JOBS}/${id}/output/n1/stdout`, { headers: { accept: '*/*' } });
      expect(none.statusCode).to.equal(404);
      await api.store.putJobOutput('acme', id, 'n1', {
        stdout: Buffer.from('up 3 days\n'),
        stderr: Buffer.from('x'.repeat(10)),
        stdoutTruncated: false,
        stderrTruncated: true,
      });
      const out = await api.send('GET', `${JOBS}/${id}/output/n1/stdout`, {
        headers: { accept: 'application/octet-stream' },
      });
      expect(out.statusCode).to.equal(200);
      expect(out.headers['content-type']).to.equal('application/octet-stream');
      expect(out.body).to.equal('up 3 days\n');
      expect(out.headers['x-push-jobs-output-truncated']).to.equal('false');
      const err = await api.send('GET', `${JOBS}/${id}/output/n1/stderr`, { headers: { accept: '*/*' } });
      expect(err.headers['x-push-jobs-output-truncated']).to.equal('true');
      expect(
        (await api.send('GET', `${JOBS}/${id}/output/n1/stdin`, { headers: { accept: '*/*' } })).statusCode,
      ).to.equal(404);
      expect(
        (await api.send('GET', `${JOBS}/${id}/output/n1/stdout`, { headers: { accept: 'application/json' } }))
          .statusCode,
      ).to.equal(406);
    });

    it('node_states: an empty list when no node is connected; a named node is offline/unavailable', async () => {
      const list = await api.send('GET', '/organizations/acme/pushy/node_states');
      expect(list.statusCode).to.equal(200);
      expect(list.json()).to.deep.equal([]);
      const one = await api.send('GET', '/organizations/acme/pushy/node_states/ghost');
      expect(one.json()).to.deep.equal({
        node_name: 'ghost',
        status: 'offline',
        availability: 'unavailable',
      });
    });

    it('answers 405 with Allow for an unsupported method, 404 for an unknown path', async () => {
      const res = await api.send('PUT', JOBS, { body: {} });
      expect(res.statusCode).to.equal(405);
      expect(res.headers.allow).to.equal('GET, POST, HEAD');
      expect((await api.send('DELETE', '/organizations/acme/pushy/node_states')).statusCode).to.equal(405);
      expect((await api.send('GET', '/organizations/acme/pushy/config')).statusCode).to.equal(404);
      expect((await api.send('GET', '/nothing/here')).statusCode).to.equal(404);
    });

    it('answers 406 when Accept excludes JSON', async () => {
      const res = await api.send('GET', JOBS, { headers: { accept: 'text/event-stream' } });
      expect(res.statusCode).to.equal(406);
      expect((await api.send('GET', JOBS, { headers: { accept: 'application/*' } })).statusCode).to.equal(
        200,
      );
      expect((await api.send('GET', JOBS, { headers: { accept: undefined } })).statusCode).to.equal(200);
    });

    it('tolerates trailing and doubled slashes (signed over the canonical path)', async () => {
      expect((await api.send('GET', `${JOBS}/`)).statusCode).to.equal(200);
      expect((await api.send('GET', '/organizations//acme/pushy//jobs')).statusCode).to.equal(200);
    });
  });
