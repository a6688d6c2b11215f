// GET /organizations/ORG/pushy/config/NODE (spec 6 with our fixes): ccpk checks before
// authentication, the session key only for the node's own client, the CURVE key admitted only
// after a verified signature and only for that node.
import { createPublicKey } from 'node:crypto';
import { expect } from 'chai';
import { decryptSessionKey, validators, z85Decode, z85Encode } from '@push-jobs/protocol/internal';
import type { PushRuntime } from '../src/app.js';
import type { ServerConfig } from '../src/config/types.js';
import { createClientWithKey, createOrgWithDefaults } from '../src/identity/service.js';
import { generateRsaKeyPair } from '../src/identity/keys.js';
import { SessionKeyManager } from '../src/keys/session-keys.js';
import { generateCurveKeyPair } from '../src/zmq/curve-keys.js';
import { MemoryCurveAllowList } from '../src/zmq/curve-allow-list.js';
import { type ApiHarness, type Principal, startApi } from './helpers/api.js';

const SERVER_KEY = generateRsaKeyPair();
const INCARNATION = '9b2e4c1a-7d3f-4e8b-a6c5-0f1d2e3b4a59';
const LIFETIME_S = 3600;

interface Fixture {
  api: ApiHarness;
  runtime: PushRuntime;
  allowList: MemoryCurveAllowList;
  sessionKeys: SessionKeyManager;
  clock: { now: number };
  /** Client `web01` of acme. */
  web01: Principal;
  /** Client `web02` of acme. */
  web02: Principal;
  serverCurve: { publicKey: string; secretKey: string };
}

async function setUp(config: Partial<ServerConfig>, withRuntime = true): Promise<Fixture> {
  const clock = { now: Date.now() };
  const allowList = new MemoryCurveAllowList();
  const sessionKeys = new SessionKeyManager({ lifetimeMs: LIFETIME_S * 1000, now: () => clock.now });
  const serverCurve = generateCurveKeyPair();
  const runtime: PushRuntime = {
    serverPublicKeyPem: SERVER_KEY.publicKey,
    curvePublicKey: serverCurve.publicKey,
    allowList,
    sessionKeys,
  };
  const api = await startApi({
    config: { server_name: 'push.example.com', ...config },
    app: { incarnationId: INCARNATION, ...(withRuntime ? { runtime } : {}) },
  });
  const client = async (name: string): Promise<Principal> => {
    const { privateKey } = await createClientWithKey(api.store, { org: 'acme', name });
    return { name, privateKey: privateKey! };
  };
  return {
    api,
    runtime,
    allowList,
    sessionKeys,
    clock,
    web01: await client('web01'),
    web02: await client('web02'),
    serverCurve,
  };
}

function configUrl(node: string, ccpk?: string, org = 'acme'): string {
  const query = ccpk === undefined ? 'version=2.0' : `ccpk=${encodeURIComponent(ccpk)}&version=2.0`;
  return `/organizations/${org}/pushy/config/${node}?${query}`;
}

/** A 40-character Z85 key that needs URL escaping (holds `+`, `&`, `=`, `%`, `/`, `?`, `#`). */
function awkwardKey(): { z85: string; raw: Buffer } {
  for (;;) {
    const { publicKey } = generateCurveKeyPair();
    if (/[+&=%/?#]/.test(publicKey)) return { z85: publicKey, raw: z85Decode(publicKey)! };
  }
}

const FIELD_ORDER = [
  'type',
  'host',
  'push_jobs',
  'node',
  'organization',
  'public_key',
  'curve_public_key',
  'encoded_session_key',
  'lifetime',
  'max_message_skew',
  'max_body_size',
  'incarnation_id',
];

describe('GET /organizations/ORG/pushy/config/NODE (spec 6)', function () {
  describe('with CURVE (default settings)', function () {
    let f: Fixture;
    before(async () => {
      f = await setUp({});
    });
    after(async () => f.api.close());

    it("gives the node's own client the full document, fields in the original's order", async () => {
      const ccpk = awkwardKey();
      const res = await f.api.send('GET', configUrl('web01', ccpk.z85), { as: f.web01 });
      expect(res.statusCode).to.equal(200);
      expect(res.headers['content-type']).to.match(/^application\/json/);
      const body = res.json();
      expect(validators.configDocument.errors(body)).to.deep.equal([]);
      expect(Object.keys(body)).to.deep.equal(FIELD_ORDER);
      expect(Object.keys(body.push_jobs)).to.deep.equal(['heartbeat']);
      expect(Object.keys(body.push_jobs.heartbeat)).to.deep.equal([
        'out_addr',
        'command_addr',
        'interval',
        'offline_threshold',
        'online_threshold',
      ]);
      expect(Object.keys(body.encoded_session_key)).to.deep.equal(['method', 'key']);
      expect(body).to.deep.include({
        type: 'config',
        host: 'push.example.com',
        push_jobs: {
          heartbeat: {
            out_addr: 'tcp://push.example.com:10000',
            command_addr: 'tcp://push.example.com:10002',
            interval: 1,
            offline_threshold: 3,
            online_threshold: 2,
          },
        },
        node: 'web01',
        organization: 'acme',
        curve_public_key: f.serverCurve.publicKey,
        lifetime: 3600,
        max_message_skew: 300,
        max_body_size: 65536,
        incarnation_id: INCARNATION,
      });
      expect(body.encoded_session_key.method).to.equal('hmac_sha256');
      // The raw text keeps the same order (what a byte-level client sees).
      expect(res.payload).to.match(
        /^\{"type":"config","host":"push\.example\.com","push_jobs":\{"heartbeat":/,
      );
    });

    it('sends the server public key as SPKI PEM ending with a blank line', async () => {
      const body = (await f.api.send('GET', configUrl('web01', awkwardKey().z85), { as: f.web01 })).json();
      expect(body.public_key).to.match(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n\n$/);
      const sent = createPublicKey(body.public_key).export({ type: 'spki', format: 'der' });
      const expected = createPublicKey(SERVER_KEY.publicKey).export({ type: 'spki', format: 'der' });
      expect(sent.equals(expected)).to.equal(true);
    });

    it("encrypts the manager's session key to the client's key, freshly each time", async () => {
      const a = (await f.api.send('GET', configUrl('web01', awkwardKey().z85), { as: f.web01 })).json();
      const b = (await f.api.send('GET', configUrl('web01', awkwardKey().z85), { as: f.web01 })).json();
      expect(a.encoded_session_key.key).to.not.equal(b.encoded_session_key.key);
      const key = decryptSessionKey(a.encoded_session_key.key, f.web01.privateKey);
      expect(key).to.have.length(32);
      expect(f.sessionKeys.candidates('acme', 'web01')).to.deep.equal([key]);
      expect(decryptSessionKey(b.encoded_session_key.key, f.web01.privateKey)).to.deep.equal(key);
      // Another client's key cannot open it.
      expect(decryptSessionKey(a.encoded_session_key.key, f.web02.privateKey)).to.equal(undefined);
    });

    it('encrypts to the key that signed the request when the client has several', async () => {
      const laptop = generateRsaKeyPair();
      await f.api.store.addKey(
        { type: 'client', org: 'acme', name: 'web02' },
        { name: 'second', publicKey: laptop.publicKey, expiresAt: null },
      );
      const res = await f.api.send('GET', configUrl('web02', awkwardKey().z85), {
        as: { name: 'web02', privateKey: laptop.privateKey },
      });
      expect(res.statusCode).to.equal(200);
      const encoded = res.json().encoded_session_key.key as string;
      expect(decryptSessionKey(encoded, laptop.privateKey)).to.deep.equal(
        f.sessionKeys.candidates('acme', 'web02')[0],
      );
      expect(decryptSessionKey(encoded, f.web02.privateKey)).to.equal(undefined);
      // The default key still works, and gets the same session key encrypted to it.
      const again = await f.api.send('GET', configUrl('web02', awkwardKey().z85), { as: f.web02 });
      expect(decryptSessionKey(again.json().encoded_session_key.key, f.web02.privateKey)).to.deep.equal(
        f.sessionKeys.candidates('acme', 'web02')[0],
      );
    });

    it('admits the URL-decoded ccpk for this node only after the signature verified', async () => {
      const ccpk = awkwardKey();
      expect(f.allowList.lookup(ccpk.raw)).to.equal(undefined);
      // Signed with a key that is not web01's: 401, nothing admitted.
      const forged = await f.api.send('GET', configUrl('web01', ccpk.z85), {
        as: { name: 'web01', privateKey: generateRsaKeyPair().privateKey },
      });
      expect(forged.statusCode).to.equal(401);
      expect(forged.json()).to.deep.equal({ error: ["Invalid signature for user or client 'web01'"] });
      expect(f.allowList.lookup(ccpk.raw)).to.equal(undefined);
      // A signature over another path: 401, nothing admitted.
      const wrongPath = await f.api.send('GET', configUrl('web01', ccpk.z85), {
        as: f.web01,
        signPath: '/organizations/acme/pushy/config/web02',
      });
      expect(wrongPath.statusCode).to.equal(401);
      expect(f.allowList.lookup(ccpk.raw)).to.equal(undefined);
      // The real thing.
      const ok = await f.api.send('GET', configUrl('web01', ccpk.z85), { as: f.web01 });
      expect(ok.statusCode).to.equal(200);
      expect(f.allowList.lookup(ccpk.raw)).to.deep.equal({ org: 'acme', node: 'web01' });
    });

    it('answers 400 "Missing ccpk" before authentication, admitting nothing', async () => {
      const before = f.allowList.size();
      for (const as of [f.web01, { name: 'web01', privateKey: generateRsaKeyPair().privateKey }]) {
        const res = await f.api.send('GET', configUrl('web01'), { as });
        expect(res.statusCode).to.equal(400);
        expect(res.json()).to.deep.equal({ error: ['Missing ccpk'] });
      }
      // Even for an unknown org: the ccpk check comes first.
      const unknownOrg = await f.api.send('GET', configUrl('web01', undefined, 'nope'), { as: f.web01 });
      expect(unknownOrg.statusCode).to.equal(400);
      expect(f.allowList.size()).to.equal(before);
    });

    it('answers 401 "Bad ccpk" for a key that is not 40 characters', async () => {
      const before = f.allowList.size();
      const good = generateCurveKeyPair().publicKey;
      for (const ccpk of ['', good.slice(0, 39), `${good}x`, `${good}${good}`]) {
        const res = await f.api.send('GET', configUrl('web01', ccpk), { as: f.web01 });
        expect(res.statusCode, JSON.stringify(ccpk)).to.equal(401);
        expect(res.json()).to.deep.equal({ error: ['Bad ccpk'] });
        expect(res.headers['www-authenticate']).to.equal('X-Ops-Sign version="1.0" version="1.1"');
      }
      // ccpk given twice is not one key either.
      const twice = await f.api.send(
        'GET',
        `/organizations/acme/pushy/config/web01?ccpk=${encodeURIComponent(good)}&ccpk=${encodeURIComponent(good)}`,
        { as: f.web01 },
      );
      expect(twice.statusCode).to.equal(401);
      expect(f.allowList.size()).to.equal(before);
    });

    it('answers 401 "Bad ccpk" for 40 characters that are not Z85 (the original gave 500)', async () => {
      const before = f.allowList.size();
      // A character outside the alphabet, and a group whose value exceeds 2^32 - 1.
      for (const ccpk of ['~'.repeat(40), `${'#'.repeat(5)}${'0'.repeat(35)}`, ' '.repeat(40)]) {
        const res = await f.api.send('GET', configUrl('web01', ccpk), { as: f.web01 });
        expect(res.statusCode, JSON.stringify(ccpk)).to.equal(401);
        expect(res.json()).to.deep.equal({ error: ['Bad ccpk'] });
      }
      // An unescaped `+` decodes to a space: not Z85 either.
      const plus = `${z85Encode(Buffer.alloc(16))}+${'0'.repeat(19)}`;
      expect(plus).to.have.length(40);
      const res = await f.api.send('GET', `/organizations/acme/pushy/config/web01?ccpk=${plus}`, {
        as: f.web01,
      });
      expect(res.statusCode).to.equal(401);
      expect(f.allowList.size()).to.equal(before);
    });

    it('answers 403 "Client and node name must match" for another node, creating and admitting nothing', async () => {
      const ccpk = awkwardKey();
      const keysBefore = f.sessionKeys.size();
      const res = await f.api.send('GET', configUrl('db01', ccpk.z85), { as: f.web01 });
      expect(res.statusCode).to.equal(403);
      expect(res.json()).to.deep.equal({ error: ['Client and node name must match'] });
      expect(f.allowList.lookup(ccpk.raw)).to.equal(undefined);
      expect(f.sessionKeys.size()).to.equal(keysBefore);
      expect(f.sessionKeys.candidates('acme', 'db01')).to.deep.equal([]);
    });

    it('gives a user with read access the document without encoded_session_key, admitting nothing', async () => {
      const ccpk = awkwardKey();
      const keysBefore = f.sessionKeys.size();
      for (const who of [f.api.admin, f.api.member]) {
        const res = await f.api.send('GET', configUrl('db01', ccpk.z85), { as: who });
        expect(res.statusCode).to.equal(200);
        const body = res.json();
        expect(Object.keys(body)).to.deep.equal(FIELD_ORDER.filter((k) => k !== 'encoded_session_key'));
        expect(body.node).to.equal('db01');
        expect(validators.configDocument.errors(body)).to.deep.equal([]);
      }
      expect(f.allowList.lookup(ccpk.raw)).to.equal(undefined);
      expect(f.sessionKeys.size()).to.equal(keysBefore);
    });

    it("also withholds web01's key from a user asking for web01", async () => {
      const res = await f.api.send('GET', configUrl('web01', awkwardKey().z85), { as: f.api.admin });
      expect(res.statusCode).to.equal(200);
      expect(res.json()).to.not.have.property('encoded_session_key');
    });

    it('applies the read group to users, never to clients', async () => {
      await f.api.store.createGroup('acme', 'pushy_job_readers');
      try {
        const user = await f.api.send('GET', configUrl('db01', awkwardKey().z85), { as: f.api.member });
        expect(user.statusCode).to.equal(403);
        expect(user.json()).to.deep.equal({
          error: ["User or client 'bob' does not have access to that action on this server."],
        });
        const client = await f.api.send('GET', configUrl('web01', awkwardKey().z85), { as: f.web01 });
        expect(client.statusCode).to.equal(200);
        await f.api.store.addGroupMember('acme', 'pushy_job_readers', 'user', 'bob');
        const reader = await f.api.send('GET', configUrl('db01', awkwardKey().z85), { as: f.api.member });
        expect(reader.statusCode).to.equal(200);
      } finally {
        await f.api.store.deleteGroup('acme', 'pushy_job_readers');
      }
    });

    it("refuses another org's node, admitting nothing", async () => {
      await createOrgWithDefaults(f.api.store, { name: 'beta' });
      await createClientWithKey(f.api.store, { org: 'beta', name: 'db01' });
      const ccpk = awkwardKey();
      // web01 of acme is no principal of beta.
      const client = await f.api.send('GET', configUrl('web01', ccpk.z85, 'beta'), { as: f.web01 });
      expect(client.statusCode).to.equal(401);
      expect(client.json()).to.deep.equal({
        error: ["Failed to authenticate as 'web01'. Ensure that your node_name and client key are correct."],
      });
      const otherNode = await f.api.send('GET', configUrl('db01', ccpk.z85, 'beta'), { as: f.web01 });
      expect(otherNode.statusCode).to.equal(401);
      // alice is not a member of beta.
      const user = await f.api.send('GET', configUrl('db01', ccpk.z85, 'beta'), { as: f.api.admin });
      expect(user.statusCode).to.equal(403);
      expect(user.json()).to.deep.equal({ error: ["'alice' is not associated with organization 'beta'"] });
      expect(f.allowList.lookup(ccpk.raw)).to.equal(undefined);
      expect(f.sessionKeys.candidates('beta', 'db01')).to.deep.equal([]);
    });

    it('answers 404 for an unknown org', async () => {
      const res = await f.api.send('GET', configUrl('web01', awkwardKey().z85, 'nope'), { as: f.web01 });
      expect(res.statusCode).to.equal(404);
      expect(res.json()).to.deep.equal({ error: ["organization 'nope' does not exist."] });
    });

    it('answers 400 for missing signed headers before the ccpk check', async () => {
      const res = await f.api.send('GET', configUrl('web01'), { as: null });
      expect(res.statusCode).to.equal(400);
      expect(res.json().error[0]).to.match(/^missing required authentication header/);
    });

    it('answers 405 for other methods and 404 without a node name', async () => {
      const post = await f.api.send('POST', configUrl('web01', awkwardKey().z85), { as: f.web01, body: {} });
      expect(post.statusCode).to.equal(405);
      const bare = await f.api.send('GET', '/organizations/acme/pushy/config/', { as: f.web01 });
      expect(bare.statusCode).to.equal(404);
    });

    it('rotates the session key after the lifetime; the old key stays a candidate until confirmed', async () => {
      const first = (await f.api.send('GET', configUrl('web01', awkwardKey().z85), { as: f.web01 })).json();
      const k1 = decryptSessionKey(first.encoded_session_key.key, f.web01.privateKey)!;
      f.clock.now += LIFETIME_S * 1000 + 1;
      const second = (await f.api.send('GET', configUrl('web01', awkwardKey().z85), { as: f.web01 })).json();
      const k2 = decryptSessionKey(second.encoded_session_key.key, f.web01.privateKey)!;
      expect(k2.equals(k1)).to.equal(false);
      expect(f.sessionKeys.candidates('acme', 'web01')).to.deep.equal([k2, k1]);
      f.sessionKeys.confirm('acme', 'web01', k2);
      expect(f.sessionKeys.candidates('acme', 'web01')).to.deep.equal([k2]);
    });
  });

  describe('settings', function () {
    it('answers 503 when the broker is not running', async () => {
      const f = await setUp({}, false);
      try {
        const res = await f.api.send('GET', configUrl('web01', awkwardKey().z85), { as: f.web01 });
        expect(res.statusCode).to.equal(503);
        expect(res.json()).to.deep.equal({ error: ['the ZeroMQ broker is not running'] });
        // The ccpk and authentication checks still come first.
        expect((await f.api.send('GET', configUrl('web01'), { as: f.web01 })).statusCode).to.equal(400);
        expect(
          (await f.api.send('GET', configUrl('web02', '~'.repeat(40)), { as: f.web01 })).statusCode,
        ).to.equal(401);
        expect(
          (await f.api.send('GET', configUrl('web02', awkwardKey().z85), { as: f.web01 })).statusCode,
        ).to.equal(403);
      } finally {
        await f.api.close();
      }
    });

    it('with CURVE disabled needs no ccpk, sends no curve_public_key and admits nothing', async () => {
      const f = await setUp({ disable_curve_encryption: true });
      try {
        const res = await f.api.send('GET', configUrl('web01'), { as: f.web01 });
        expect(res.statusCode).to.equal(200);
        const body = res.json();
        expect(Object.keys(body)).to.deep.equal(FIELD_ORDER.filter((k) => k !== 'curve_public_key'));
        expect(validators.configDocument.errors(body)).to.deep.equal([]);
        expect(decryptSessionKey(body.encoded_session_key.key, f.web01.privateKey)).to.deep.equal(
          f.sessionKeys.candidates('acme', 'web01')[0],
        );
        // A ccpk, even a bad one, is ignored.
        const ccpk = awkwardKey();
        expect((await f.api.send('GET', configUrl('web01', ccpk.z85), { as: f.web01 })).statusCode).to.equal(
          200,
        );
        expect((await f.api.send('GET', configUrl('web01', 'bad'), { as: f.web01 })).statusCode).to.equal(
          200,
        );
        expect(f.allowList.size()).to.equal(0);
      } finally {
        await f.api.close();
      }
    });

    it('with validate_client_node_name=false lets a client read another node, without its key', async () => {
      const f = await setUp({ validate_client_node_name: false });
      try {
        const ccpk = awkwardKey();
        const res = await f.api.send('GET', configUrl('web02', ccpk.z85), { as: f.web01 });
        expect(res.statusCode).to.equal(200);
        const body = res.json();
        expect(body.node).to.equal('web02');
        expect(body).to.not.have.property('encoded_session_key');
        expect(f.allowList.lookup(ccpk.raw)).to.equal(undefined);
        expect(f.sessionKeys.size()).to.equal(0);
      } finally {
        await f.api.close();
      }
    });

    it('advertises the configured name, ports, interval and limits', async () => {
      const f = await setUp({
        server_name: 'push01.internal',
        server_heartbeat_port: 20000,
        command_port: 20002,
        heartbeat_interval: 2500,
        config_lifetime: 600,
        max_message_skew: 120,
        max_body_size: 1024,
      });
      try {
        const body = (await f.api.send('GET', configUrl('web01', awkwardKey().z85), { as: f.web01 })).json();
        expect(body.host).to.equal('push01.internal');
        expect(body.push_jobs.heartbeat).to.deep.equal({
          out_addr: 'tcp://push01.internal:20000',
          command_addr: 'tcp://push01.internal:20002',
          interval: 2.5,
          offline_threshold: 3,
          online_threshold: 2,
        });
        expect([body.lifetime, body.max_message_skew, body.max_body_size]).to.deep.equal([600, 120, 1024]);
      } finally {
        await f.api.close();
      }
    });
  });
});
