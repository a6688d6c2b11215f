import { expect } from 'chai';
import { generateRsaKeyPair } from '../src/identity/keys.js';
import { type ApiHarness, type Principal, startApi } from './helpers/api.js';

const ORG = '/organizations/acme';

describe('identity API: clients, keys, nodes, groups, search, users', function () {
  let api: ApiHarness;
  before(async () => {
    api = await startApi();
  });
  after(async () => api.close());

  describe('clients', function () {
    it('a validator registers a client with the public key it generated (how an agent self-registers)', async () => {
      const pair = generateRsaKeyPair();
      const res = await api.send('POST', `${ORG}/clients`, {
        as: api.validator,
        body: { name: 'web1', public_key: pair.publicKey },
      });
      expect(res.statusCode, res.body).to.equal(201);
      const body = res.json();
      expect(body.uri).to.match(/\/organizations\/acme\/clients\/web1$/);
      expect(body.chef_key.public_key).to.contain('BEGIN PUBLIC KEY');
      expect(body).to.not.have.property('private_key');
      // The new client can now authenticate.
      const me: Principal = { name: 'web1', privateKey: pair.privateKey };
      const self = await api.send('GET', `${ORG}/clients/web1`, { as: me });
      expect(self.statusCode).to.equal(200);
      expect(self.json()).to.deep.equal({
        name: 'web1',
        clientname: 'web1',
        orgname: 'acme',
        validator: false,
        json_class: 'Chef::ApiClient',
        chef_type: 'client',
      });
      const group = await api.store.getGroup('acme', 'clients');
      expect(group!.clients).to.include('web1');
    });

    it('an admin creates a client with a generated key returned once', async () => {
      const res = await api.send('POST', `${ORG}/clients`, { body: { name: 'db1' } });
      expect(res.statusCode).to.equal(201);
      expect(res.json().private_key).to.contain('BEGIN RSA PRIVATE KEY');
      expect(res.json().chef_key.private_key).to.equal(res.json().private_key);
    });

    it('a validator may not create a validator; a plain member may not create clients', async () => {
      const v = await api.send('POST', `${ORG}/clients`, {
        as: api.validator,
        body: { name: 'v2', validator: true },
      });
      expect(v.statusCode).to.equal(403);
      const m = await api.send('POST', `${ORG}/clients`, { as: api.member, body: { name: 'x1' } });
      expect(m.statusCode).to.equal(403);
      expect(await api.store.getClient('acme', 'v2')).to.equal(undefined);
      expect(await api.store.getClient('acme', 'x1')).to.equal(undefined);
    });

    it('rejects a duplicate (409), a bad name and a bad key (400)', async () => {
      expect((await api.send('POST', `${ORG}/clients`, { body: { name: 'db1' } })).statusCode).to.equal(409);
      expect((await api.send('POST', `${ORG}/clients`, { body: { name: 'bad name!' } })).statusCode).to.equal(
        400,
      );
      expect(
        (await api.send('POST', `${ORG}/clients`, { body: { name: 'k1', public_key: 'not a key' } }))
          .statusCode,
      ).to.equal(400);
      expect((await api.send('POST', `${ORG}/clients`, { body: { validator: false } })).statusCode).to.equal(
        400,
      );
      expect(await api.store.getClient('acme', 'k1')).to.equal(undefined);
    });

    it('lists clients as a name → URL map', async () => {
      const res = await api.send('GET', `${ORG}/clients`, { as: api.member });
      expect(res.statusCode).to.equal(200);
      expect(Object.keys(res.json()).sort()).to.deep.equal(['acme-validator', 'db1', 'web1']);
    });

    it('manages keys: add a second key, list, read, delete', async () => {
      const pair = generateRsaKeyPair();
      const add = await api.send('POST', `${ORG}/clients/db1/keys`, {
        body: { name: 'rotated', public_key: pair.publicKey, expiration_date: 'infinity' },
      });
      expect(add.statusCode).to.equal(201);
      const list = (await api.send('GET', `${ORG}/clients/db1/keys`)).json() as Array<{
        name: string;
        expired: boolean;
      }>;
      expect(list.map((k) => k.name).sort()).to.deep.equal(['default', 'rotated']);
      const rotated = await api.send('GET', `${ORG}/clients/db1`, {
        as: { name: 'db1', privateKey: pair.privateKey },
      });
      expect(rotated.statusCode).to.equal(200);
      const one = (await api.send('GET', `${ORG}/clients/db1/keys/rotated`)).json();
      expect(one).to.deep.include({ name: 'rotated', expiration_date: 'infinity' });
      expect((await api.send('DELETE', `${ORG}/clients/db1/keys/rotated`)).statusCode).to.equal(200);
      expect((await api.send('GET', `${ORG}/clients/db1/keys/rotated`)).statusCode).to.equal(404);
      expect(
        (
          await api.send('POST', `${ORG}/clients/db1/keys`, {
            as: api.member,
            body: { name: 'x', public_key: pair.publicKey },
          })
        ).statusCode,
      ).to.equal(403);
    });

    it('deletes a client (admin), which then cannot authenticate', async () => {
      const created = (await api.send('POST', `${ORG}/clients`, { body: { name: 'tmp1' } })).json();
      const tmp: Principal = { name: 'tmp1', privateKey: created.private_key };
      expect((await api.send('DELETE', `${ORG}/clients/tmp1`, { as: api.member })).statusCode).to.equal(403);
      expect((await api.send('DELETE', `${ORG}/clients/tmp1`)).statusCode).to.equal(200);
      expect((await api.send('GET', `${ORG}/clients/tmp1`, { as: tmp })).statusCode).to.equal(401);
      expect((await api.send('GET', `${ORG}/clients/tmp1`)).statusCode).to.equal(404);
    });
  });

  describe('nodes', function () {
    const node = {
      name: 'web1',
      chef_environment: 'production',
      run_list: ['role[web]', 'recipe[apache2]'],
      normal: { push_jobs: { whitelist: { uptime: 'uptime' } }, tags: ['blue'] },
      automatic: { platform_family: 'debian', platform: 'ubuntu' },
    };

    it('an admin creates, reads, updates and deletes a node', async () => {
      const created = await api.send('POST', `${ORG}/nodes`, { body: { ...node, name: 'adminnode' } });
      expect(created.statusCode).to.equal(201);
      expect(created.json().uri).to.match(/\/nodes\/adminnode$/);
      const got = (await api.send('GET', `${ORG}/nodes/adminnode`, { as: api.member })).json();
      expect(got).to.deep.include({
        name: 'adminnode',
        chef_environment: 'production',
        json_class: 'Chef::Node',
        chef_type: 'node',
      });
      expect(got.default).to.deep.equal({});
      const put = await api.send('PUT', `${ORG}/nodes/adminnode`, {
        body: { ...node, name: 'adminnode', normal: { push_jobs: { whitelist: { df: 'df -h' } } } },
      });
      expect(put.statusCode).to.equal(200);
      expect((await api.store.getNode('acme', 'adminnode'))!.normal).to.deep.equal({
        push_jobs: { whitelist: { df: 'df -h' } },
      });
      expect(
        (await api.send('POST', `${ORG}/nodes`, { body: { ...node, name: 'adminnode' } })).statusCode,
      ).to.equal(409);
      expect((await api.send('DELETE', `${ORG}/nodes/adminnode`)).statusCode).to.equal(200);
      expect((await api.send('GET', `${ORG}/nodes/adminnode`)).statusCode).to.equal(404);
    });

    it('a client creates and updates the node of its own name only', async () => {
      const pair = generateRsaKeyPair();
      await api.send('POST', `${ORG}/clients`, {
        as: api.validator,
        body: { name: 'app1', public_key: pair.publicKey },
      });
      const me: Principal = { name: 'app1', privateKey: pair.privateKey };
      expect(
        (await api.send('POST', `${ORG}/nodes`, { as: me, body: { ...node, name: 'app1' } })).statusCode,
      ).to.equal(201);
      expect(
        (await api.send('PUT', `${ORG}/nodes/app1`, { as: me, body: { ...node, name: 'app1' } })).statusCode,
      ).to.equal(200);
      expect(
        (await api.send('POST', `${ORG}/nodes`, { as: me, body: { ...node, name: 'other' } })).statusCode,
      ).to.equal(403);
      expect(
        (await api.send('PUT', `${ORG}/nodes/app1`, { as: api.member, body: { ...node, name: 'app1' } }))
          .statusCode,
      ).to.equal(403);
    });

    it('rejects bad node bodies with 400 and writes nothing', async () => {
      for (const body of [
        { ...node, name: 'bad name' },
        { ...node, name: 'n2', run_list: 'x' },
        { ...node, name: 'n3', normal: [] },
        [],
      ]) {
        const res = await api.send('POST', `${ORG}/nodes`, { body });
        expect(res.statusCode, JSON.stringify(body)).to.equal(400);
      }
      expect(
        (await api.send('PUT', `${ORG}/nodes/app1`, { body: { ...node, name: 'different' } })).statusCode,
      ).to.equal(400);
      expect((await api.store.listNodeNames('acme')).sort()).to.deep.equal(['app1']);
    });
  });

  describe('search', function () {
    before(async () => {
      const nodes = [
        {
          name: 'web1',
          chef_environment: 'production',
          run_list: ['role[web]'],
          normal: { tags: ['blue'] },
          automatic: { platform_family: 'debian' },
        },
        {
          name: 'web2',
          chef_environment: 'staging',
          run_list: ['role[web]'],
          normal: { tags: ['red'] },
          automatic: { platform_family: 'rhel' },
        },
        {
          name: 'db1',
          chef_environment: 'production',
          run_list: ['role[db]'],
          normal: {},
          automatic: { platform_family: 'debian' },
        },
      ];
      for (const n of nodes)
        expect((await api.send('POST', `${ORG}/nodes`, { body: n })).statusCode).to.equal(201);
    });

    const names = (body: { rows: Array<{ name: string }> }) => body.rows.map((r) => r.name);

    it('answers Chef’s {total,start,rows} for field queries, wildcards and booleans', async () => {
      const q = async (query: string) =>
        (
          await api.send('GET', `${ORG}/search/node?q=${encodeURIComponent(query)}`, { as: api.member })
        ).json();
      expect(names(await q('name:web*'))).to.deep.equal(['web1', 'web2']);
      expect(names(await q('role:db'))).to.deep.equal(['db1']);
      expect(names(await q('tags:blue'))).to.deep.equal(['app1', 'web1']);
      expect(names(await q('platform_family:debian AND NOT role:db'))).to.deep.equal(['app1', 'web1']);
      expect(names(await q('chef_environment:staging OR role:db'))).to.deep.equal(['db1', 'web2']);
      const all = await q('*:*');
      expect(all.total).to.equal(4);
      expect(all.start).to.equal(0);
    });

    it('sees node updates and deletions made after an earlier search', async () => {
      const q = async (query: string) =>
        names((await api.send('GET', `${ORG}/search/node?q=${encodeURIComponent(query)}`)).json());
      expect(await q('tags:green')).to.deep.equal([]);
      const node = (await api.send('GET', `${ORG}/nodes/web2`)).json();
      await api.send('PUT', `${ORG}/nodes/web2`, { body: { ...node, normal: { tags: ['green'] } } });
      expect(await q('tags:green')).to.deep.equal(['web2']);
      await api.send('DELETE', `${ORG}/nodes/web2`);
      expect(await q('tags:green')).to.deep.equal([]);
      expect(await q('name:web*')).to.deep.equal(['web1']);
      await api.send('POST', `${ORG}/nodes`, { body: node });
    });

    it('pages with start and rows', async () => {
      const res = (await api.send('GET', `${ORG}/search/node?q=*:*&start=1&rows=2`)).json();
      expect(res.total).to.equal(4);
      expect(res.start).to.equal(1);
      expect(res.rows).to.have.length(2);
    });

    it('rejects a bad query with 400', async () => {
      const res = await api.send('GET', `${ORG}/search/node?q=${encodeURIComponent('name:(web')}`);
      expect(res.statusCode).to.equal(400);
      expect(res.json().error[0]).to.match(/^invalid search query: /);
      expect((await api.send('GET', `${ORG}/search/node?q=*:*&rows=x`)).statusCode).to.equal(400);
    });
  });

  describe('groups', function () {
    it('creates a group, sets members (users, clients, nested groups), reads and deletes it', async () => {
      expect(
        (await api.send('POST', `${ORG}/groups`, { as: api.member, body: { groupname: 'ops' } })).statusCode,
      ).to.equal(403);
      const created = await api.send('POST', `${ORG}/groups`, { body: { groupname: 'ops' } });
      expect(created.statusCode).to.equal(201);
      const put = await api.send('PUT', `${ORG}/groups/ops`, {
        body: {
          groupname: 'ops',
          actors: { users: ['bob'], clients: ['acme-validator'], groups: ['admins'] },
        },
      });
      expect(put.statusCode, put.body).to.equal(200);
      const got = (await api.send('GET', `${ORG}/groups/ops`, { as: api.member })).json();
      expect(got).to.deep.equal({
        actors: ['bob', 'acme-validator'],
        users: ['bob'],
        clients: ['acme-validator'],
        groups: ['admins'],
        orgname: 'acme',
        name: 'ops',
        groupname: 'ops',
      });
      const bad = await api.send('PUT', `${ORG}/groups/ops`, { body: { actors: { users: ['nobody'] } } });
      expect(bad.statusCode).to.equal(404);
      expect((await api.store.getGroup('acme', 'ops'))!.users).to.deep.equal(['bob']);
      const list = (await api.send('GET', `${ORG}/groups`)).json();
      expect(Object.keys(list)).to.include.members(['admins', 'clients', 'users', 'ops']);
      expect((await api.send('DELETE', `${ORG}/groups/ops`)).statusCode).to.equal(200);
      expect((await api.send('GET', `${ORG}/groups/ops`)).statusCode).to.equal(404);
    });
  });

  describe('users', function () {
    it('lists the org’s members and reads one', async () => {
      const list = (await api.send('GET', `${ORG}/users`, { as: api.member })).json();
      expect(list).to.deep.equal([{ user: { username: 'alice' } }, { user: { username: 'bob' } }]);
      const alice = (await api.send('GET', `${ORG}/users/alice`)).json();
      expect(alice).to.deep.include({ username: 'alice' });
      expect((await api.send('GET', `${ORG}/users/eve`)).statusCode).to.equal(404);
    });
  });
});
