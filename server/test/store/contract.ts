/**
 * The store contract: the same tests for every {@link Store} implementation.
 */
import { makeJobId, makeOrgGuid, type JobState } from '@push-jobs/protocol/internal';
import { expect } from 'chai';
import {
  LATEST_VERSION,
  StoreConflictError,
  StoreNotFoundError,
  type JobOptions,
  type NewJob,
  type NodeDocument,
  type OrgRecord,
  type Store,
} from '../../src/store/index.js';

/** A fixed instant with milliseconds, `n` seconds after 2024-01-01T00:00:00.123Z. */
export function at(n: number): Date {
  return new Date(Date.UTC(2024, 0, 1) + n * 1000 + 123);
}

/** Awaits `promise` and asserts it rejects with an instance of `type`; returns the error. */
export async function rejectsWith<E extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(type);
    return error as E;
  }
  throw new Error(`expected a rejection with ${type.name}`);
}

/** A node document named `name`. */
export function nodeDoc(name: string, whitelist: Record<string, string> = {}): NodeDocument {
  return {
    name,
    chef_environment: '_default',
    json_class: 'Chef::Node',
    chef_type: 'node',
    run_list: ['recipe[push-jobs]'],
    normal: { push_jobs: { whitelist } },
    default: {},
    override: {},
    automatic: { platform: 'ubuntu', nested: { list: [1, 'two', null, true] } },
  };
}

/**
 * Defines the contract tests for a store. `open` returns a fresh, migrated, empty store;
 * `cleanup` closes it and removes what it created.
 */
export function storeContract(
  name: string,
  open: () => Promise<Store>,
  cleanup: (s: Store) => Promise<void>,
): void {
  describe(`store contract: ${name}`, function () {
    let store: Store;
    let org: OrgRecord;

    function newJob(overrides: Partial<NewJob> = {}, orgRecord: OrgRecord = org): NewJob {
      return {
        id: makeJobId(orgRecord.guid),
        orgName: orgRecord.name,
        command: 'chef-client',
        status: 'new',
        runTimeout: 3600,
        quorum: 2,
        createdBy: 'alice',
        createdAt: at(0),
        nodes: ['n1', 'n2'],
        options: {},
        ...overrides,
      };
    }

    beforeEach(async function () {
      store = await open();
      org = await store.createOrg({ name: 'acme', guid: makeOrgGuid(), fullName: 'Acme Inc.' });
    });

    afterEach(async function () {
      await cleanup(store);
    });

    describe('migrations', function () {
      it('migrate twice is a no-op returning the same version', async function () {
        const first = await store.migrate();
        const second = await store.migrate();
        expect(first).to.equal(LATEST_VERSION).and.to.equal(second);
        expect(await store.getOrg('acme')).to.deep.equal(org);
      });
    });

    describe('orgs', function () {
      it('creates, reads, lists and deletes', async function () {
        expect(org.createdAt).to.be.instanceOf(Date);
        expect(await store.getOrg('acme')).to.deep.equal(org);
        const other = await store.createOrg({ name: 'beta', guid: makeOrgGuid(), fullName: 'Beta' });
        expect((await store.listOrgs()).map((o) => o.name)).to.deep.equal(['acme', 'beta']);
        expect(await store.deleteOrg('beta')).to.equal(true);
        expect(await store.deleteOrg('beta')).to.equal(false);
        expect(await store.getOrg(other.name)).to.equal(undefined);
      });

      it('rejects a duplicate name or guid', async function () {
        const err = await rejectsWith(
          store.createOrg({ name: 'acme', guid: makeOrgGuid(), fullName: 'x' }),
          StoreConflictError,
        );
        expect(err.entity).to.equal('org');
        await rejectsWith(
          store.createOrg({ name: 'other', guid: org.guid, fullName: 'x' }),
          StoreConflictError,
        );
      });

      it('returns undefined for a missing org', async function () {
        expect(await store.getOrg('nope')).to.equal(undefined);
      });

      it('deleting an org removes everything in it, and nothing else', async function () {
        await store.createUser({ name: 'alice', displayName: 'Alice', email: 'a@x' });
        await store.addOrgMember('acme', 'alice');
        await store.createClient({ orgName: 'acme', name: 'n1', validator: false });
        await store.addKey(
          { type: 'client', org: 'acme', name: 'n1' },
          { name: 'default', publicKey: 'K', expiresAt: null },
        );
        await store.addKey(
          { type: 'user', name: 'alice' },
          { name: 'default', publicKey: 'U', expiresAt: null },
        );
        await store.createGroup('acme', 'admins');
        await store.addGroupMember('acme', 'admins', 'user', 'alice');
        await store.createNode('acme', nodeDoc('n1'));
        const job = await store.createJob(newJob({ options: { dir: '/tmp' } }));
        await store.putJobOutput('acme', job.id, 'n1', {
          stdout: Buffer.from('o'),
          stderr: Buffer.from('e'),
          stdoutTruncated: false,
          stderrTruncated: false,
        });

        expect(await store.deleteOrg('acme')).to.equal(true);
        const again = await store.createOrg({ name: 'acme', guid: org.guid, fullName: 'Again' });
        expect(await store.listClients('acme')).to.deep.equal([]);
        expect(await store.listGroups('acme')).to.deep.equal([]);
        expect(await store.listNodeNames('acme')).to.deep.equal([]);
        expect(await store.listOrgMembers('acme')).to.deep.equal([]);
        expect(await store.countJobs('acme')).to.equal(0);
        expect(await store.getJob('acme', job.id)).to.equal(undefined);
        expect(await store.getJobOutput('acme', job.id, 'n1')).to.equal(undefined);
        await store.createJob(newJob({ id: job.id }, again));
        expect((await store.getJob('acme', job.id))?.options).to.deep.equal({});
        // The user is global and survives, with its key.
        expect(await store.getUser('alice')).to.not.equal(undefined);
        expect((await store.listKeys({ type: 'user', name: 'alice' })).map((k) => k.publicKey)).to.deep.equal(
          ['U'],
        );
      });
    });

    describe('users and membership', function () {
      it('creates, reads, lists and rejects duplicates', async function () {
        const bob = await store.createUser({ name: 'bob', displayName: 'Bob', email: 'bob@x' });
        await store.createUser({ name: 'Alice', displayName: 'A', email: 'a@x' });
        expect(await store.getUser('bob')).to.deep.equal(bob);
        expect(await store.getUser('Bob')).to.equal(undefined);
        expect((await store.listUsers()).map((u) => u.name)).to.deep.equal(['Alice', 'bob']);
        const err = await rejectsWith(
          store.createUser({ name: 'bob', displayName: '', email: '' }),
          StoreConflictError,
        );
        expect(err.entity).to.equal('user');
      });

      it('manages org membership', async function () {
        await store.createUser({ name: 'bob', displayName: 'Bob', email: 'bob@x' });
        await store.createUser({ name: 'amy', displayName: 'Amy', email: 'amy@x' });
        await store.addOrgMember('acme', 'bob');
        await store.addOrgMember('acme', 'bob');
        await store.addOrgMember('acme', 'amy');
        expect(await store.listOrgMembers('acme')).to.deep.equal(['amy', 'bob']);
        expect(await store.removeOrgMember('acme', 'bob')).to.equal(true);
        expect(await store.removeOrgMember('acme', 'bob')).to.equal(false);
        expect(await store.removeOrgMember('nope', 'amy')).to.equal(false);
        expect(await store.listOrgMembers('acme')).to.deep.equal(['amy']);
        expect((await rejectsWith(store.addOrgMember('nope', 'amy'), StoreNotFoundError)).entity).to.equal(
          'org',
        );
        expect((await rejectsWith(store.addOrgMember('acme', 'zed'), StoreNotFoundError)).entity).to.equal(
          'user',
        );
        await rejectsWith(store.listOrgMembers('nope'), StoreNotFoundError);
      });

      it('deleting a user removes its keys, memberships and group entries', async function () {
        await store.createUser({ name: 'bob', displayName: 'Bob', email: 'bob@x' });
        await store.addOrgMember('acme', 'bob');
        await store.addKey(
          { type: 'user', name: 'bob' },
          { name: 'default', publicKey: 'K', expiresAt: null },
        );
        await store.createGroup('acme', 'admins');
        await store.addGroupMember('acme', 'admins', 'user', 'bob');
        expect(await store.deleteUser('bob')).to.equal(true);
        expect(await store.deleteUser('bob')).to.equal(false);
        expect(await store.listOrgMembers('acme')).to.deep.equal([]);
        expect((await store.getGroup('acme', 'admins'))?.users).to.deep.equal([]);
        await store.createUser({ name: 'bob', displayName: 'Bob 2', email: 'bob@x' });
        expect(await store.listKeys({ type: 'user', name: 'bob' })).to.deep.equal([]);
        expect(await store.listOrgMembers('acme')).to.deep.equal([]);
      });
    });

    describe('group members', function () {
      it('addGroupMember says whether it added, and names a missing group', async function () {
        await store.createUser({ name: 'carol', displayName: 'Carol', email: 'carol@x' });
        await store.createGroup('acme', 'ops');
        expect(await store.addGroupMember('acme', 'ops', 'user', 'carol')).to.equal(true);
        expect(await store.addGroupMember('acme', 'ops', 'user', 'carol')).to.equal(false);
        expect((await store.getGroup('acme', 'ops'))?.users).to.deep.equal(['carol']);
        const err = await store.addGroupMember('acme', 'nope', 'user', 'carol').then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(StoreNotFoundError);
        expect((err as StoreNotFoundError).entity).to.equal('group');
      });
    });

    describe('clients', function () {
      it('creates, reads, lists and deletes', async function () {
        const v = await store.createClient({ orgName: 'acme', name: 'acme-validator', validator: true });
        const n = await store.createClient({ orgName: 'acme', name: 'node1', validator: false });
        expect(v).to.include({ orgName: 'acme', name: 'acme-validator', validator: true });
        expect(await store.getClient('acme', 'node1')).to.deep.equal(n);
        expect(await store.getClient('acme', 'acme-validator')).to.deep.equal(v);
        expect(await store.listClients('acme')).to.deep.equal([v, n]);
        expect(await store.deleteClient('acme', 'node1')).to.equal(true);
        expect(await store.deleteClient('acme', 'node1')).to.equal(false);
        expect(await store.deleteClient('nope', 'node1')).to.equal(false);
        expect(await store.getClient('acme', 'node1')).to.equal(undefined);
        expect(await store.getClient('nope', 'acme-validator')).to.equal(undefined);
      });

      it('rejects a duplicate in the same org only, and a missing org', async function () {
        await store.createOrg({ name: 'beta', guid: makeOrgGuid(), fullName: 'Beta' });
        await store.createClient({ orgName: 'acme', name: 'n1', validator: false });
        await store.createClient({ orgName: 'beta', name: 'n1', validator: false });
        const err = await rejectsWith(
          store.createClient({ orgName: 'acme', name: 'n1', validator: true }),
          StoreConflictError,
        );
        expect(err.entity).to.equal('client');
        const missing = await rejectsWith(
          store.createClient({ orgName: 'nope', name: 'n1', validator: false }),
          StoreNotFoundError,
        );
        expect(missing.entity).to.equal('org');
        await rejectsWith(store.listClients('nope'), StoreNotFoundError);
      });
    });

    describe('keys', function () {
      const client = { type: 'client', org: 'acme', name: 'n1' } as const;
      const user = { type: 'user', name: 'bob' } as const;

      beforeEach(async function () {
        await store.createClient({ orgName: 'acme', name: 'n1', validator: false });
        await store.createUser({ name: 'bob', displayName: 'Bob', email: 'bob@x' });
      });

      it('adds, lists and deletes named keys of users and clients', async function () {
        const k1 = await store.addKey(client, { name: 'default', publicKey: 'PEM1', expiresAt: null });
        const k2 = await store.addKey(client, { name: 'backup', publicKey: 'PEM2', expiresAt: at(5) });
        expect(k2.expiresAt?.toISOString()).to.equal(at(5).toISOString());
        expect(await store.listKeys(client)).to.deep.equal([k2, k1]);
        const ku = await store.addKey(user, { name: 'default', publicKey: 'PEMU', expiresAt: null });
        expect(await store.listKeys(user)).to.deep.equal([ku]);
        expect(await store.deleteKey(client, 'backup')).to.equal(true);
        expect(await store.deleteKey(client, 'backup')).to.equal(false);
        expect(await store.deleteKey({ type: 'user', name: 'zed' }, 'default')).to.equal(false);
        expect(await store.listKeys(client)).to.deep.equal([k1]);
      });

      it('rejects a duplicate key name per principal, and a missing principal', async function () {
        await store.addKey(client, { name: 'default', publicKey: 'A', expiresAt: null });
        await store.addKey(user, { name: 'default', publicKey: 'B', expiresAt: null });
        const err = await rejectsWith(
          store.addKey(client, { name: 'default', publicKey: 'C', expiresAt: null }),
          StoreConflictError,
        );
        expect(err.entity).to.equal('key');
        await rejectsWith(
          store.addKey(user, { name: 'default', publicKey: 'C', expiresAt: null }),
          StoreConflictError,
        );
        const noClient = await rejectsWith(
          store.addKey(
            { type: 'client', org: 'acme', name: 'zz' },
            { name: 'd', publicKey: 'C', expiresAt: null },
          ),
          StoreNotFoundError,
        );
        expect(noClient.entity).to.equal('client');
        const noOrg = await rejectsWith(
          store.listKeys({ type: 'client', org: 'nope', name: 'n1' }),
          StoreNotFoundError,
        );
        expect(noOrg.entity).to.equal('org');
        await rejectsWith(store.listKeys({ type: 'user', name: 'zed' }), StoreNotFoundError);
      });

      it('deleting a client removes its keys and group entries', async function () {
        await store.addKey(client, { name: 'default', publicKey: 'A', expiresAt: null });
        await store.createGroup('acme', 'clients');
        await store.addGroupMember('acme', 'clients', 'client', 'n1');
        expect(await store.deleteClient('acme', 'n1')).to.equal(true);
        expect((await store.getGroup('acme', 'clients'))?.clients).to.deep.equal([]);
        await store.createClient({ orgName: 'acme', name: 'n1', validator: false });
        expect(await store.listKeys(client)).to.deep.equal([]);
      });
    });

    describe('findPrincipals', function () {
      beforeEach(async function () {
        await store.createOrg({ name: 'beta', guid: makeOrgGuid(), fullName: 'Beta' });
        await store.createClient({ orgName: 'acme', name: 'pat', validator: true });
        await store.createClient({ orgName: 'beta', name: 'other', validator: false });
        await store.createUser({ name: 'pat', displayName: 'Pat', email: 'p@x' });
        await store.addOrgMember('beta', 'pat');
        const c = { type: 'client', org: 'acme', name: 'pat' } as const;
        await store.addKey(c, { name: 'default', publicKey: 'C-OK', expiresAt: null });
        await store.addKey(c, { name: 'old', publicKey: 'C-OLD', expiresAt: at(10) });
        await store.addKey(c, { name: 'soon', publicKey: 'C-SOON', expiresAt: at(20) });
        await store.addKey(
          { type: 'user', name: 'pat' },
          { name: 'default', publicKey: 'U-OK', expiresAt: null },
        );
      });

      it('lists the client then the user, with only unexpired keys', async function () {
        const found = await store.findPrincipals('acme', 'pat', at(10));
        expect(found).to.deep.equal([
          { type: 'client', name: 'pat', orgMember: true, validator: true, publicKeys: ['C-OK', 'C-SOON'] },
          { type: 'user', name: 'pat', orgMember: false, validator: false, publicKeys: ['U-OK'] },
        ]);
      });

      it('sees membership of the org asked about', async function () {
        const found = await store.findPrincipals('beta', 'pat', at(0));
        expect(found).to.deep.equal([
          { type: 'user', name: 'pat', orgMember: true, validator: false, publicKeys: ['U-OK'] },
        ]);
      });

      it('finds nobody, or fails on a missing org', async function () {
        expect(await store.findPrincipals('acme', 'other', at(0))).to.deep.equal([]);
        await rejectsWith(store.findPrincipals('nope', 'pat', at(0)), StoreNotFoundError);
      });
    });

    describe('groups', function () {
      beforeEach(async function () {
        await store.createUser({ name: 'bob', displayName: 'Bob', email: 'b@x' });
        await store.createUser({ name: 'amy', displayName: 'Amy', email: 'a@x' });
        await store.createClient({ orgName: 'acme', name: 'n1', validator: false });
        await store.createGroup('acme', 'admins');
        await store.createGroup('acme', 'users');
      });

      it('creates, reads, lists and deletes', async function () {
        expect(await store.getGroup('acme', 'admins')).to.deep.equal({
          orgName: 'acme',
          name: 'admins',
          users: [],
          clients: [],
          groups: [],
        });
        expect(await store.listGroups('acme')).to.deep.equal(['admins', 'users']);
        expect((await rejectsWith(store.createGroup('acme', 'admins'), StoreConflictError)).entity).to.equal(
          'group',
        );
        await rejectsWith(store.createGroup('nope', 'admins'), StoreNotFoundError);
        await rejectsWith(store.listGroups('nope'), StoreNotFoundError);
        expect(await store.getGroup('nope', 'admins')).to.equal(undefined);
        expect(await store.deleteGroup('acme', 'admins')).to.equal(true);
        expect(await store.deleteGroup('acme', 'admins')).to.equal(false);
        expect(await store.getGroup('acme', 'admins')).to.equal(undefined);
      });

      it('sets, adds and removes members', async function () {
        const set = await store.setGroupMembers('acme', 'users', {
          users: ['bob', 'amy'],
          clients: ['n1'],
          groups: ['admins'],
        });
        expect(set).to.deep.equal({
          orgName: 'acme',
          name: 'users',
          users: ['amy', 'bob'],
          clients: ['n1'],
          groups: ['admins'],
        });
        expect(await store.getGroup('acme', 'users')).to.deep.equal(set);
        const replaced = await store.setGroupMembers('acme', 'users', {
          users: ['amy'],
          clients: [],
          groups: [],
        });
        expect(replaced).to.deep.include({ users: ['amy'], clients: [], groups: [] });
        await store.addGroupMember('acme', 'users', 'client', 'n1');
        await store.addGroupMember('acme', 'users', 'client', 'n1');
        await store.addGroupMember('acme', 'users', 'group', 'admins');
        expect(await store.getGroup('acme', 'users')).to.deep.include({
          clients: ['n1'],
          groups: ['admins'],
        });
        expect(await store.removeGroupMember('acme', 'users', 'client', 'n1')).to.equal(true);
        expect(await store.removeGroupMember('acme', 'users', 'client', 'n1')).to.equal(false);
        expect(await store.removeGroupMember('acme', 'users', 'user', 'zed')).to.equal(false);
        expect(await store.removeGroupMember('nope', 'users', 'user', 'amy')).to.equal(false);
        expect((await store.getGroup('acme', 'users'))?.clients).to.deep.equal([]);
      });

      it('rejects members that do not exist, changing nothing', async function () {
        await store.setGroupMembers('acme', 'users', { users: ['bob'], clients: [], groups: [] });
        const err = await rejectsWith(
          store.setGroupMembers('acme', 'users', { users: ['amy'], clients: ['ghost'], groups: [] }),
          StoreNotFoundError,
        );
        expect(err.entity).to.equal('client');
        expect((await store.getGroup('acme', 'users'))?.users).to.deep.equal(['bob']);
        expect(
          (await rejectsWith(store.addGroupMember('acme', 'users', 'user', 'zed'), StoreNotFoundError))
            .entity,
        ).to.equal('user');
        await rejectsWith(store.addGroupMember('acme', 'users', 'group', 'ghosts'), StoreNotFoundError);
        expect(
          (await rejectsWith(store.addGroupMember('acme', 'ghosts', 'user', 'bob'), StoreNotFoundError))
            .entity,
        ).to.equal('group');
        await rejectsWith(
          store.setGroupMembers('acme', 'ghosts', { users: [], clients: [], groups: [] }),
          StoreNotFoundError,
        );
      });

      it('a client of another org is not a member candidate', async function () {
        await store.createOrg({ name: 'beta', guid: makeOrgGuid(), fullName: 'Beta' });
        await store.createClient({ orgName: 'beta', name: 'b1', validator: false });
        await rejectsWith(store.addGroupMember('acme', 'users', 'client', 'b1'), StoreNotFoundError);
      });

      it('deleting a group removes it from other groups', async function () {
        await store.addGroupMember('acme', 'users', 'group', 'admins');
        await store.deleteGroup('acme', 'admins');
        expect((await store.getGroup('acme', 'users'))?.groups).to.deep.equal([]);
      });
    });

    describe('nodes', function () {
      it('creates, reads, replaces, lists and deletes documents', async function () {
        const doc = nodeDoc('web1', { 'chef-client': 'chef-client' });
        expect(await store.createNode('acme', doc)).to.deep.equal(doc);
        expect(await store.getNode('acme', 'web1')).to.deep.equal(doc);
        const err = await rejectsWith(store.createNode('acme', doc), StoreConflictError);
        expect(err.entity).to.equal('node');
        const changed = { ...doc, chef_environment: 'prod' };
        expect(await store.putNode('acme', changed)).to.deep.equal(changed);
        await store.putNode('acme', nodeDoc('app1'));
        expect(await store.getNode('acme', 'web1')).to.deep.equal(changed);
        expect(await store.listNodeNames('acme')).to.deep.equal(['app1', 'web1']);
        expect(await store.listNodes('acme')).to.deep.equal([nodeDoc('app1'), changed]);
        expect(await store.deleteNode('acme', 'web1')).to.equal(true);
        expect(await store.deleteNode('acme', 'web1')).to.equal(false);
        expect(await store.getNode('acme', 'web1')).to.equal(undefined);
        expect(await store.getNode('nope', 'app1')).to.equal(undefined);
        await rejectsWith(store.createNode('nope', doc), StoreNotFoundError);
        await rejectsWith(store.putNode('nope', doc), StoreNotFoundError);
        await rejectsWith(store.listNodes('nope'), StoreNotFoundError);
      });
    });

    describe('jobs', function () {
      it('creates a job and reads it back the same', async function () {
        const job = newJob({ nodes: ['n2', 'n1', 'n3'], createdAt: new Date('2024-05-06T07:08:09.987Z') });
        const created = await store.createJob(job);
        expect(created).to.deep.equal({
          id: job.id,
          orgName: 'acme',
          command: 'chef-client',
          status: 'new',
          runTimeout: 3600,
          quorum: 2,
          createdBy: 'alice',
          lastUpdatedBy: 'alice',
          createdAt: job.createdAt,
          updatedAt: job.createdAt,
          options: {},
          nodes: ['n1', 'n2', 'n3'].map((name) => ({
            name,
            status: 'new',
            createdAt: job.createdAt,
            updatedAt: job.createdAt,
          })),
        });
        expect(await store.getJob('acme', job.id)).to.deep.equal(created);
        expect(await store.getJob('acme', makeJobId(org.guid))).to.equal(undefined);
        expect(await store.getJob('nope', job.id)).to.equal(undefined);
      });

      const optionCases: [string, JobOptions][] = [
        ['none', {}],
        [
          'all',
          {
            user: 'a-very-long-user-name-longer-than-32-chars',
            dir: '/srv',
            env: { A: '1', B: '' },
            capture: true,
            file: 'raw:echo hi',
          },
        ],
        ['capture false only', { capture: false }],
        ['env only', { env: {} }],
        ['file only', { file: 'base64:ZWNobyBoaQ==' }],
      ];
      for (const [label, options] of optionCases) {
        it(`round-trips options exactly (${label})`, async function () {
          const job = await store.createJob(newJob({ options }));
          expect(job.options).to.deep.equal(options);
          expect((await store.getJob('acme', job.id))?.options).to.deep.equal(options);
          expect((await store.listJobs('acme'))[0]?.options).to.deep.equal(options);
        });
      }

      it('never returns another org’s job', async function () {
        const beta = await store.createOrg({ name: 'beta', guid: makeOrgGuid(), fullName: 'Beta' });
        const job = await store.createJob(newJob({}, beta));
        expect(await store.getJob('acme', job.id)).to.equal(undefined);
        expect(await store.getJob('beta', job.id)).to.not.equal(undefined);
        expect(await store.listJobs('acme')).to.deep.equal([]);
        expect(await store.updateJobStatus('acme', job.id, 'running', at(1), 'x')).to.equal(false);
        expect(await store.updateJobNodes('acme', job.id, ['n1'], 'ready', at(1))).to.equal(0);
        await rejectsWith(
          store.putJobOutput('acme', job.id, 'n1', {
            stdout: Buffer.alloc(0),
            stderr: Buffer.alloc(0),
            stdoutTruncated: false,
            stderrTruncated: false,
          }),
          StoreNotFoundError,
        );
        expect((await store.getJob('beta', job.id))?.status).to.equal('new');
      });

      it('rejects a duplicate job id', async function () {
        const job = await store.createJob(newJob());
        const err = await rejectsWith(store.createJob(newJob({ id: job.id })), StoreConflictError);
        expect(err.entity).to.equal('job');
      });

      it('a duplicate node name leaves no rows at all', async function () {
        const job = newJob({ nodes: ['n1', 'n2', 'n1'], options: { dir: '/x' } });
        const err = await rejectsWith(store.createJob(job), StoreConflictError);
        expect(err.entity).to.equal('job node');
        expect(await store.getJob('acme', job.id)).to.equal(undefined);
        expect(await store.countJobs('acme')).to.equal(0);
        // No orphan node or option rows: the same id can be created cleanly.
        const again = await store.createJob({ ...job, nodes: ['n3'], options: {} });
        expect(again.nodes.map((n) => n.name)).to.deep.equal(['n3']);
        expect((await store.getJob('acme', job.id))?.nodes.map((n) => n.name)).to.deep.equal(['n3']);
        expect((await store.getJob('acme', job.id))?.options).to.deep.equal({});
      });

      it('a bad status leaves no rows at all', async function () {
        const job = newJob({ status: 'exploded' as JobState });
        await rejectsWith(store.createJob(job), Error);
        expect(await store.getJob('acme', job.id)).to.equal(undefined);
        expect(await store.countJobs('acme')).to.equal(0);
        const again = await store.createJob({ ...job, status: 'new' });
        expect(again.nodes).to.have.length(2);
      });

      it('rejects a job of a missing org', async function () {
        const err = await rejectsWith(store.createJob(newJob({ orgName: 'nope' })), StoreNotFoundError);
        expect(err.entity).to.equal('org');
        await rejectsWith(store.listJobs('nope'), StoreNotFoundError);
        await rejectsWith(store.countJobs('nope'), StoreNotFoundError);
        await rejectsWith(
          store.updateJobStatus('nope', 'x'.repeat(32), 'running', at(1), 'x'),
          StoreNotFoundError,
        );
      });

      it('lists and counts jobs: all oldest first, or pages newest first, by status', async function () {
        const ids: string[] = [];
        for (let i = 0; i < 6; i++) {
          const job = await store.createJob(
            newJob({ createdAt: at(i), status: i % 2 === 0 ? 'complete' : 'running' }),
          );
          ids.push(job.id);
        }
        // Two jobs at the same instant, the newest: ordered by id.
        const tieA = newJob({ id: `${org.guid.slice(-12)}${'0'.repeat(20)}`, createdAt: at(6) });
        const tieB = newJob({ id: `${org.guid.slice(-12)}${'f'.repeat(20)}`, createdAt: at(6) });
        await store.createJob(tieB);
        await store.createJob(tieA);
        const all = await store.listJobs('acme');
        expect(all.map((j) => j.id)).to.deep.equal([...ids, tieA.id, tieB.id]);
        expect(all[0]).to.not.have.property('nodes');
        const page = await store.listJobs('acme', { limit: 3 });
        expect(page.map((j) => j.id)).to.deep.equal([tieB.id, tieA.id, ids[5]]);
        const next = await store.listJobs('acme', { limit: 3, offset: 3 });
        expect(next.map((j) => j.id)).to.deep.equal([ids[4], ids[3], ids[2]]);
        const rest = await store.listJobs('acme', { offset: 6 });
        expect(rest.map((j) => j.id)).to.deep.equal([ids[1], ids[0]]);
        const complete = await store.listJobs('acme', { status: 'complete' });
        expect(complete.map((j) => j.id)).to.deep.equal([ids[0], ids[2], ids[4]]);
        expect(complete.every((j) => j.status === 'complete')).to.equal(true);
        const completePage = await store.listJobs('acme', { status: 'complete', limit: 2 });
        expect(completePage.map((j) => j.id)).to.deep.equal([ids[4], ids[2]]);
        expect(await store.countJobs('acme')).to.equal(8);
        expect(await store.countJobs('acme', { status: 'complete' })).to.equal(3);
        expect(await store.countJobs('acme', { status: 'new' })).to.equal(2);
        expect(await store.countJobs('acme', { status: 'crashed' })).to.equal(0);
      });

      it('updates a job’s status', async function () {
        const job = await store.createJob(newJob());
        expect(await store.updateJobStatus('acme', job.id, 'voting', at(5), job.id)).to.equal(true);
        const read = await store.getJob('acme', job.id);
        expect(read).to.deep.include({
          status: 'voting',
          lastUpdatedBy: job.id,
          updatedAt: at(5),
          createdAt: at(0),
        });
        expect(await store.updateJobStatus('acme', makeJobId(org.guid), 'voting', at(5), 'x')).to.equal(
          false,
        );
      });

      it('updates some nodes of a job in bulk', async function () {
        const nodes = Array.from({ length: 120 }, (_, i) => `node-${String(i).padStart(3, '0')}`);
        const job = await store.createJob(newJob({ nodes }));
        const chosen = nodes.filter((_, i) => i % 2 === 0);
        expect(await store.updateJobNodes('acme', job.id, [...chosen, 'ghost'], 'ready', at(7))).to.equal(60);
        const read = await store.getJob('acme', job.id);
        expect(read?.nodes).to.have.length(120);
        for (const node of read?.nodes ?? []) {
          const isChosen = chosen.includes(node.name);
          expect(node.status).to.equal(isChosen ? 'ready' : 'new');
          expect(node.updatedAt).to.deep.equal(isChosen ? at(7) : at(0));
          expect(node.createdAt).to.deep.equal(at(0));
        }
        expect(await store.updateJobNodes('acme', job.id, ['node-001'], 'succeeded', at(8))).to.equal(1);
        expect(
          await store.updateJobNodes('acme', makeJobId(org.guid), ['node-001'], 'failed', at(8)),
        ).to.equal(0);
        expect(await store.updateJobNodes('acme', job.id, [], 'failed', at(8))).to.equal(0);
      });

      it('keeps a job search, its rollout limits as given, skipped nodes and node results', async function () {
        const job = await store.createJob(
          newJob({
            nodes: ['n1', 'n2', 'n3'],
            search: 'role:web AND platform:debian',
            options: { maxConcurrency: '10%', maxErrors: 2 },
          }),
        );
        expect(job.search).to.equal('role:web AND platform:debian');
        expect(job.options).to.deep.equal({ maxConcurrency: '10%', maxErrors: 2 });
        expect(await store.updateJobNodes('acme', job.id, ['n3'], 'skipped', at(3))).to.equal(1);
        expect(await store.updateJobStatus('acme', job.id, 'max_errors_exceeded', at(4), 'x')).to.equal(true);
        const results = new Map([
          ['n1', { exitStatus: 0, signal: null, startedAt: at(1), endedAt: at(2) }],
          ['n2', { exitStatus: null, signal: 'SIGKILL', startedAt: null, endedAt: at(2) }],
          ['ghost', { exitStatus: 1, signal: null, startedAt: null, endedAt: null }],
        ]);
        expect(await store.updateJobNodeResults('acme', job.id, results)).to.equal(2);
        const read = (await store.getJob('acme', job.id))!;
        expect(read.status).to.equal('max_errors_exceeded');
        expect(read.search).to.equal('role:web AND platform:debian');
        expect(read.options).to.deep.equal({ maxConcurrency: '10%', maxErrors: 2 });
        const byName = Object.fromEntries(read.nodes.map((n) => [n.name, n]));
        expect(byName.n1!.result).to.deep.equal(results.get('n1'));
        expect(byName.n2!.result).to.deep.equal(results.get('n2'));
        expect(byName.n3!.status).to.equal('skipped');
        expect(byName.n3!.result).to.equal(undefined);
        const listed = await store.listJobs('acme', { status: 'max_errors_exceeded' });
        expect(listed.map((j) => [j.id, j.search])).to.deep.equal([[job.id, 'role:web AND platform:debian']]);
        // A final status is final.
        expect(await store.updateJobStatus('acme', job.id, 'complete', at(5), 'x')).to.equal(false);
      });

      it('stores the results of many nodes at once (several batches), leaving the others alone', async function () {
        const nodes = Array.from({ length: 120 }, (_, i) => `node-${String(i).padStart(3, '0')}`);
        const job = await store.createJob(newJob({ nodes }));
        const results = new Map(
          nodes
            .filter((_, i) => i % 3 !== 0)
            .map((n, i) => [
              n,
              { exitStatus: i, signal: i % 2 === 0 ? null : 'SIGTERM', startedAt: at(i), endedAt: null },
            ]),
        );
        expect(await store.updateJobNodeResults('acme', job.id, results)).to.equal(results.size);
        const read = (await store.getJob('acme', job.id))!;
        for (const node of read.nodes) expect(node.result, node.name).to.deep.equal(results.get(node.name));
      });

      it('stores output once per node', async function () {
        const job = await store.createJob(newJob());
        const first = {
          stdout: Buffer.from('hello\n'),
          stderr: Buffer.alloc(0),
          stdoutTruncated: true,
          stderrTruncated: false,
        };
        expect(await store.putJobOutput('acme', job.id, 'n1', first)).to.equal(true);
        const second = {
          stdout: Buffer.from('other'),
          stderr: Buffer.from('x'),
          stdoutTruncated: false,
          stderrTruncated: true,
        };
        expect(await store.putJobOutput('acme', job.id, 'n1', second)).to.equal(false);
        expect(await store.getJobOutput('acme', job.id, 'n1')).to.deep.equal(first);
        expect(await store.getJobOutput('acme', job.id, 'n2')).to.equal(undefined);
        expect(await store.getJobOutput('nope', job.id, 'n1')).to.equal(undefined);
        expect(await store.putJobOutput('acme', job.id, 'n2', second)).to.equal(true);
        expect(await store.getJobOutput('acme', job.id, 'n2')).to.deep.equal(second);
        await rejectsWith(store.putJobOutput('nope', job.id, 'n1', first), StoreNotFoundError);
        await rejectsWith(store.putJobOutput('acme', makeJobId(org.guid), 'n1', first), StoreNotFoundError);
      });

      it('stores output as bytes: NUL, every byte value, invalid UTF-8', async function () {
        // A text column refused NUL on PostgreSQL: the write failed and the job never completed.
        const job = await store.createJob(newJob());
        const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const output = {
          stdout: Buffer.concat([Buffer.from('a\u0000b'), every]),
          stderr: Buffer.from([0xff, 0xfe, 0x00, 0xc3]),
          stdoutTruncated: false,
          stderrTruncated: false,
        };
        expect(await store.putJobOutput('acme', job.id, 'n1', output)).to.equal(true);
        const read = await store.getJobOutput('acme', job.id, 'n1');
        expect(read?.stdout.equals(output.stdout)).to.equal(true);
        expect(read?.stderr.equals(output.stderr)).to.equal(true);
      });

      it('appends output chunks once per seq, reads them in seq order, joins them per channel', async function () {
        const job = await store.createJob(newJob());
        const chunk = (
          node: string,
          seq: number,
          channel: 'stdout' | 'stderr',
          text: string,
          truncated = false,
        ) => ({
          node,
          seq,
          channel,
          data: Buffer.from(text),
          truncated,
        });
        expect(await store.getStreamedOutput('acme', job.id, 'n1')).to.equal(undefined);
        // Out of order, a repeat, another node, in several batches (60 chunks).
        const many = Array.from({ length: 60 }, (_, i) => chunk('n2', i, 'stdout', `${i},`));
        expect(
          await store.appendJobOutputChunks('acme', job.id, [
            chunk('n1', 2, 'stdout', 'c'),
            chunk('n1', 0, 'stdout', 'a'),
            chunk('n1', 1, 'stderr', 'E'),
            ...many,
          ]),
        ).to.equal(63);
        expect(
          await store.appendJobOutputChunks('acme', job.id, [
            chunk('n1', 1, 'stderr', 'repeat'),
            chunk('n1', 3, 'stdout', '\u00e9\u0000', true),
          ]),
        ).to.equal(1);
        const all = await store.getJobOutputChunks('acme', job.id, 'n1', -1, 100);
        expect(all.map((c) => [c.seq, c.channel, c.data.toString(), c.truncated])).to.deep.equal([
          [0, 'stdout', 'a', false],
          [1, 'stderr', 'E', false],
          [2, 'stdout', 'c', false],
          [3, 'stdout', '\u00e9\u0000', true],
        ]);
        const after = await store.getJobOutputChunks('acme', job.id, 'n1', 1, 1);
        expect(after.map((c) => c.seq)).to.deep.equal([2]);
        expect(await store.getStreamedOutput('acme', job.id, 'n1')).to.deep.equal({
          stdout: Buffer.from('ac\u00e9\u0000'),
          stderr: Buffer.from('E'),
          stdoutTruncated: true,
          stderrTruncated: true,
        });
        const n2 = await store.getStreamedOutput('acme', job.id, 'n2');
        expect(n2?.stdout.toString()).to.equal(many.map((c) => c.data.toString()).join(''));
        expect(n2?.stdoutTruncated).to.equal(false);
        // Org-scoped: another org sees nothing and cannot write.
        expect(await store.getJobOutputChunks('nope', job.id, 'n1', -1, 100)).to.deep.equal([]);
        expect(await store.getStreamedOutput('nope', job.id, 'n1')).to.equal(undefined);
        await rejectsWith(
          store.appendJobOutputChunks('nope', job.id, [chunk('n1', 9, 'stdout', 'x')]),
          StoreNotFoundError,
        );
        await rejectsWith(
          store.appendJobOutputChunks('acme', makeJobId(org.guid), [chunk('n1', 9, 'stdout', 'x')]),
          StoreNotFoundError,
        );
      });

      it('a final status is final, for the job and for each node', async function () {
        const job = await store.createJob(newJob({ nodes: ['a', 'b'] }));
        expect(await store.updateJobStatus('acme', job.id, 'running', at(1), 'x')).to.equal(true);
        expect(await store.updateJobNodes('acme', job.id, ['a'], 'succeeded', at(1))).to.equal(1);
        expect(await store.updateJobStatus('acme', job.id, 'crashed', at(2), 'y')).to.equal(true);
        for (const status of ['complete', 'running', 'crashed'] as const) {
          expect(await store.updateJobStatus('acme', job.id, status, at(3), 'z')).to.equal(false);
        }
        // A final node state stays; an unfinished one still moves.
        expect(await store.updateJobNodes('acme', job.id, ['a', 'b'], 'failed', at(4))).to.equal(1);
        const read = await store.getJob('acme', job.id);
        expect(read?.status).to.equal('crashed');
        expect(read?.lastUpdatedBy).to.equal('y');
        expect(read?.nodes.map((n) => [n.name, n.status])).to.deep.equal([
          ['a', 'succeeded'],
          ['b', 'failed'],
        ]);
      });

      it('crash recovery takes only the jobs of its own server (and of none)', async function () {
        const mine = await store.createJob(newJob({ owner: 'server-a' }));
        const theirs = await store.createJob(newJob({ owner: 'server-b' }));
        const claimed = await store.createJob(newJob());
        // The first status change claims an unowned job.
        await store.updateJobStatus('acme', claimed.id, 'voting', at(1), claimed.id, 'server-b');
        const legacy = await store.createJob(newJob());
        expect(await store.crashIncompleteJobs(at(9), 'restart', 'server-a')).to.deep.equal(
          [mine.id, legacy.id].sort(),
        );
        expect((await store.getJob('acme', theirs.id))?.status).to.equal('new');
        expect((await store.getJob('acme', claimed.id))?.status).to.equal('voting');
        expect(await store.crashIncompleteJobs(at(9), 'restart', 'server-b')).to.deep.equal(
          [theirs.id, claimed.id].sort(),
        );
      });

      it('crashes incomplete jobs and their unfinished nodes', async function () {
        const beta = await store.createOrg({ name: 'beta', guid: makeOrgGuid(), fullName: 'Beta' });
        const nodes = ['a', 'b', 'c', 'd'];
        const fresh = await store.createJob(newJob({ nodes }));
        const voting = await store.createJob(newJob({ nodes }, beta));
        await store.updateJobStatus('beta', voting.id, 'voting', at(1), voting.id);
        await store.updateJobNodes('beta', voting.id, ['a'], 'ready', at(1));
        await store.updateJobNodes('beta', voting.id, ['b'], 'nacked', at(1));
        const running = await store.createJob(newJob({ nodes }));
        await store.updateJobStatus('acme', running.id, 'running', at(2), running.id);
        await store.updateJobNodes('acme', running.id, ['a', 'b'], 'running', at(2));
        await store.updateJobNodes('acme', running.id, ['c'], 'succeeded', at(2));
        await store.updateJobNodes('acme', running.id, ['d'], 'failed', at(2));
        const done = await store.createJob(newJob({ nodes }));
        await store.updateJobStatus('acme', done.id, 'complete', at(3), done.id);
        await store.updateJobNodes('acme', done.id, nodes, 'succeeded', at(3));

        const crashed = await store.crashIncompleteJobs(at(9), 'server-restart', 'me');
        expect(crashed).to.deep.equal([fresh.id, voting.id, running.id].sort());

        const state = async (orgName: string, id: string) => {
          const job = await store.getJob(orgName, id);
          return {
            status: job?.status,
            by: job?.lastUpdatedBy,
            updatedAt: job?.updatedAt.toISOString(),
            nodes: Object.fromEntries((job?.nodes ?? []).map((n) => [n.name, n.status])),
          };
        };
        const nine = at(9).toISOString();
        expect(await state('acme', fresh.id)).to.deep.equal({
          status: 'crashed',
          by: 'server-restart',
          updatedAt: nine,
          nodes: { a: 'crashed', b: 'crashed', c: 'crashed', d: 'crashed' },
        });
        expect(await state('beta', voting.id)).to.deep.include({
          status: 'crashed',
          nodes: { a: 'crashed', b: 'nacked', c: 'crashed', d: 'crashed' },
        });
        expect(await state('acme', running.id)).to.deep.include({
          status: 'crashed',
          nodes: { a: 'crashed', b: 'crashed', c: 'succeeded', d: 'failed' },
        });
        expect(await state('acme', done.id)).to.deep.equal({
          status: 'complete',
          by: done.id,
          updatedAt: at(3).toISOString(),
          nodes: { a: 'succeeded', b: 'succeeded', c: 'succeeded', d: 'succeeded' },
        });
        expect(await store.crashIncompleteJobs(at(10), 'again', 'me')).to.deep.equal([]);
      });

      it('lists and counts among 10,000 jobs', async function () {
        this.timeout(180_000);
        const statuses: JobState[] = ['complete', 'running', 'quorum_failed', 'timed_out'];
        const total = 10_000;
        const ids: string[] = [];
        const concurrency = 8;
        for (let start = 0; start < total; start += concurrency) {
          const batch = Array.from({ length: Math.min(concurrency, total - start) }, (_, k) => start + k);
          const created = await Promise.all(
            batch.map((i) =>
              store.createJob(
                newJob({
                  createdAt: at(i),
                  status: statuses[i % statuses.length] ?? 'complete',
                  nodes: ['n1'],
                }),
              ),
            ),
          );
          ids.push(...created.map((j) => j.id));
        }
        expect(await store.countJobs('acme')).to.equal(total);
        expect(await store.countJobs('acme', { status: 'complete' })).to.equal(total / 4);
        const page = await store.listJobs('acme', { status: 'complete', limit: 50 });
        expect(page).to.have.length(50);
        expect(page[0]?.id).to.equal(ids[total - 4]);
        expect(page[49]?.id).to.equal(ids[total - 4 - 49 * 4]);
        expect(page.every((j) => j.status === 'complete')).to.equal(true);
        const later = await store.listJobs('acme', { status: 'complete', limit: 50, offset: 2450 });
        expect(later.map((j) => j.id)).to.deep.equal(Array.from({ length: 50 }, (_, k) => ids[196 - 4 * k]));
        expect(await store.listJobs('acme')).to.have.length(total);
      });
    });
  });
}
