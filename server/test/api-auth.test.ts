import { expect } from 'chai';
import { signRequest } from '@push-jobs/protocol/internal';
import { generateRsaKeyPair } from '../src/identity/keys.js';
import { type ApiHarness, startApi } from './helpers/api.js';

const JOBS = '/organizations/acme/pushy/jobs';

describe('API authentication and authorization (spec 1.2-1.4)', function () {
  let api: ApiHarness;
  before(async () => {
    api = await startApi();
  });
  after(async () => api.close());

  it('GET /pushy/_status needs no authentication, even for an invalid user', async () => {
    const res = await api.send('GET', '/pushy/_status', { as: null, headers: { 'x-ops-userid': 'nobody' } });
    expect(res.statusCode).to.equal(200);
    const body = res.json();
    expect(body.status).to.equal("it's alive");
    expect(body.incarnation_id).to.match(/^[0-9a-f-]{36}$/);
    expect(body.node_fsm_count).to.equal(0);
    expect(body.job_processes).to.deep.equal([]);
  });

  it('lists every missing header, in order, with 400', async () => {
    const res = await api.send('GET', JOBS, { as: null });
    expect(res.statusCode).to.equal(400);
    expect(res.json()).to.deep.equal({
      error: [
        "missing required authentication header(s) 'X-Ops-UserId', 'X-Ops-Timestamp', 'X-Ops-Sign', 'X-Ops-Content-Hash'",
      ],
    });
  });

  it('counts an empty header as missing', async () => {
    const res = await api.send('GET', JOBS, { headers: { 'x-ops-sign': '' } });
    expect(res.statusCode).to.equal(400);
    expect(res.json()).to.deep.equal({ error: ["missing required authentication header(s) 'X-Ops-Sign'"] });
  });

  it('rejects an unparseable timestamp with 401 and WWW-Authenticate', async () => {
    const res = await api.send('GET', JOBS, { headers: { 'x-ops-timestamp': 'yesterday' } });
    expect(res.statusCode).to.equal(401);
    expect(res.json()).to.deep.equal({ error: ["bad header(s) 'X-Ops-Timestamp'"] });
    expect(res.headers['www-authenticate']).to.equal('X-Ops-Sign version="1.0" version="1.1"');
  });

  it('rejects a timestamp outside the 900 s window with 401', async () => {
    const old = new Date(Date.now() - 901_000);
    const res = await api.send('GET', JOBS, { timestamp: old });
    expect(res.statusCode).to.equal(401);
    expect(res.json()).to.deep.equal({
      error: ['Failed to authenticate as alice. Synchronize the clock on your host.'],
    });
    const future = await api.send('GET', JOBS, { timestamp: new Date(Date.now() + 901_000) });
    expect(future.statusCode).to.equal(401);
  });

  it('rejects an unsupported signing version with 400', async () => {
    const res = await api.send('GET', JOBS, { headers: { 'x-ops-sign': 'version=9.9' } });
    expect(res.statusCode).to.equal(400);
    expect(res.json()).to.deep.equal({ error: ['Unsupported authentication protocol version'] });
  });

  it('answers 404 for an unknown org', async () => {
    const res = await api.send('GET', '/organizations/nope/pushy/jobs');
    expect(res.statusCode).to.equal(404);
    expect(res.json()).to.deep.equal({ error: ["organization 'nope' does not exist."] });
  });

  it('answers 401 for an unknown principal', async () => {
    const stranger = { name: 'mallory', privateKey: generateRsaKeyPair().privateKey };
    const res = await api.send('GET', JOBS, { as: stranger });
    expect(res.statusCode).to.equal(401);
    expect(res.json()).to.deep.equal({
      error: ["Failed to authenticate as 'mallory'. Ensure that your node_name and client key are correct."],
    });
    expect(res.headers['www-authenticate']).to.be.a('string');
  });

  it('answers 403 for a principal that is not an org member', async () => {
    const res = await api.send('GET', JOBS, { as: api.outsider });
    expect(res.statusCode).to.equal(403);
    expect(res.json()).to.deep.equal({ error: ["'eve' is not associated with organization 'acme'"] });
  });

  it('answers 401 for a wrong key', async () => {
    const res = await api.send('GET', JOBS, {
      as: { name: 'alice', privateKey: generateRsaKeyPair().privateKey },
    });
    expect(res.statusCode).to.equal(401);
    expect(res.json()).to.deep.equal({ error: ["Invalid signature for user or client 'alice'"] });
  });

  it('answers 401 when the signed path or body differs from the request', async () => {
    const path = await api.send('GET', JOBS, { signPath: '/organizations/acme/pushy/node_states' });
    expect(path.statusCode).to.equal(401);
    const headers = signRequest({
      method: 'POST',
      path: JOBS,
      body: '{"command":"a","nodes":["n"]}',
      userId: 'alice',
      privateKey: api.admin.privateKey,
    });
    const res = await api.app.inject({
      method: 'POST',
      url: JOBS,
      headers: { ...headers, 'content-type': 'application/json' },
      payload: '{"command":"b","nodes":["n"]}',
    });
    expect(res.statusCode).to.equal(401);
    expect(await api.store.listJobs('acme')).to.have.length(0);
  });

  for (const version of ['1.0', '1.1', '1.2', '1.3'] as const) {
    it(`accepts requests signed with protocol ${version}`, async () => {
      const res = await api.send('GET', JOBS, { version });
      expect(res.statusCode).to.equal(200);
    });
  }

  it('accepts any of a principal’s unexpired keys and ignores expired ones', async () => {
    const second = generateRsaKeyPair();
    await api.store.addKey(
      { type: 'user', name: 'bob' },
      { name: 'laptop', publicKey: second.publicKey, expiresAt: null },
    );
    const ok = await api.send('GET', JOBS, { as: { name: 'bob', privateKey: second.privateKey } });
    expect(ok.statusCode).to.equal(200);
    const expired = generateRsaKeyPair();
    await api.store.addKey(
      { type: 'user', name: 'bob' },
      { name: 'old', publicKey: expired.publicKey, expiresAt: new Date(Date.now() - 1000) },
    );
    const bad = await api.send('GET', JOBS, { as: { name: 'bob', privateKey: expired.privateKey } });
    expect(bad.statusCode).to.equal(401);
  });

  describe('group rules', function () {
    afterEach(async () => {
      for (const g of ['pushy_job_readers', 'pushy_job_writers']) await api.store.deleteGroup('acme', g);
    });

    it('lets any org member read when pushy_job_readers does not exist', async () => {
      expect((await api.send('GET', JOBS, { as: api.member })).statusCode).to.equal(200);
      expect((await api.send('GET', JOBS, { as: api.validator })).statusCode).to.equal(200);
    });

    it('restricts reads to pushy_job_readers (nested groups count) when it exists', async () => {
      await api.store.createGroup('acme', 'pushy_job_readers');
      const res = await api.send('GET', JOBS, { as: api.member });
      expect(res.statusCode).to.equal(403);
      expect(res.json()).to.deep.equal({
        error: ["User or client 'bob' does not have access to that action on this server."],
      });
      await api.store.createGroup('acme', 'ops');
      await api.store.addGroupMember('acme', 'ops', 'user', 'bob');
      await api.store.addGroupMember('acme', 'pushy_job_readers', 'group', 'ops');
      expect((await api.send('GET', JOBS, { as: api.member })).statusCode).to.equal(200);
      await api.store.deleteGroup('acme', 'ops');
    });

    it('lets only admins write when pushy_job_writers does not exist', async () => {
      const body = { command: 'chef-client', nodes: ['n1'] };
      expect((await api.send('POST', JOBS, { as: api.member, body })).statusCode).to.equal(403);
      expect((await api.send('POST', JOBS, { as: api.admin, body })).statusCode).to.equal(201);
    });

    it('restricts writes to pushy_job_writers when it exists, even for admins', async () => {
      await api.store.createGroup('acme', 'pushy_job_writers');
      await api.store.addGroupMember('acme', 'pushy_job_writers', 'user', 'bob');
      const body = { command: 'chef-client', nodes: ['n1'] };
      expect((await api.send('POST', JOBS, { as: api.member, body })).statusCode).to.equal(201);
      expect((await api.send('POST', JOBS, { as: api.admin, body })).statusCode).to.equal(403);
    });

    it('forbids writes when neither pushy_job_writers nor admins exist', async () => {
      const admins = await api.store.getGroup('acme', 'admins');
      await api.store.deleteGroup('acme', 'admins');
      try {
        const res = await api.send('POST', JOBS, { body: { command: 'x', nodes: ['n'] } });
        expect(res.statusCode).to.equal(403);
      } finally {
        await api.store.createGroup('acme', 'admins');
        await api.store.setGroupMembers('acme', 'admins', admins!);
      }
    });
  });
});
