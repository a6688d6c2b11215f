// Test harness for the HTTP API: a real store (SQLite in a temp dir by default, or PostgreSQL in
// a schema of its own), the real app, and requests signed with the protocol package, sent
// through Fastify's inject.
import { join } from 'node:path';
import { signRequest, type SigningVersion } from '@push-jobs/protocol/internal';
import { dropSchema, PG_URL, removeDir, schemaName, tempDir } from '@push-jobs/testing';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp, type AppOptions } from '../../src/app.js';
import { DEFAULT_SERVER_CONFIG } from '../../src/config/defaults.js';
import type { ServerConfig } from '../../src/config/types.js';
import {
  associateUser,
  createClientWithKey,
  createOrgWithDefaults,
  createUserWithKey,
} from '../../src/identity/service.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';

export interface Principal {
  name: string;
  privateKey: string;
}

export interface SendOptions {
  as?: Principal | null;
  body?: string | object;
  headers?: Record<string, string | undefined>;
  version?: SigningVersion;
  /** Sign this path instead of the one sent. */
  signPath?: string;
  timestamp?: Date | string;
}

export interface ApiHarness {
  app: FastifyInstance;
  store: Store;
  org: string;
  admin: Principal;
  /** An org member who is neither admin nor in any pushy group. */
  member: Principal;
  validator: Principal;
  outsider: Principal;
  send(method: string, url: string, opts?: SendOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** Starts the app on a fresh store with an org `acme`, users `alice` (admin), `bob` (member), `eve` (no org) and validator client `acme-validator`. */
export async function startApi(
  opts: { store?: 'sqlite' | 'postgres'; config?: Partial<ServerConfig>; app?: Partial<AppOptions> } = {},
): Promise<ApiHarness> {
  let cleanup: () => Promise<void>;
  let store: Store;
  if (opts.store === 'postgres') {
    const schema = schemaName('pj_api_');
    store = await openStore(PG_URL, { schema });
    cleanup = () => dropSchema(schema);
  } else {
    const dir = tempDir('pj-api-');
    store = await openStore(join(dir, 'push-jobs.sqlite'));
    cleanup = async () => removeDir(dir);
  }
  const config: ServerConfig = { ...DEFAULT_SERVER_CONFIG, ...opts.config };
  const app = await buildApp({ config, store, ...opts.app });
  const org = 'acme';
  await createOrgWithDefaults(store, { name: org });
  const user = async (name: string, admin: boolean | null): Promise<Principal> => {
    const { privateKey } = await createUserWithKey(store, { name });
    if (admin !== null) await associateUser(store, org, name, { admin });
    return { name, privateKey: privateKey! };
  };
  const admin = await user('alice', true);
  const member = await user('bob', false);
  const outsider = await user('eve', null);
  const v = await createClientWithKey(store, { org, name: 'acme-validator', validator: true });
  const validator = { name: 'acme-validator', privateKey: v.privateKey! };

  const send: ApiHarness['send'] = (method, url, o = {}) => {
    const as = o.as === undefined ? admin : o.as;
    const body =
      o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (as !== null) {
      Object.assign(
        headers,
        signRequest({
          method,
          path: o.signPath ?? url,
          body: body ?? '',
          userId: as.name,
          privateKey: as.privateKey,
          version: o.version ?? '1.3',
          ...(o.timestamp === undefined ? {} : { timestamp: o.timestamp }),
        }),
      );
    }
    for (const [k, v] of Object.entries(o.headers ?? {})) {
      if (v === undefined) delete headers[k];
      else headers[k] = v;
    }
    return app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(body === undefined ? {} : { payload: body }),
    });
  };
  return {
    app,
    store,
    org,
    admin,
    member,
    validator,
    outsider,
    send,
    close: async () => {
      await app.close();
      await store.close();
      await cleanup();
    },
  };
}

/** A snapshot of everything the store holds for the org, to prove a request changed nothing. */
export async function snapshot(store: Store, org: string): Promise<string> {
  const jobs = await store.listJobs(org);
  const full = await Promise.all(jobs.map((j) => store.getJob(org, j.id)));
  return JSON.stringify({
    jobs: full,
    clients: await store.listClients(org),
    nodes: await store.listNodes(org),
    groups: await Promise.all((await store.listGroups(org)).map((g) => store.getGroup(org, g))),
    members: await store.listOrgMembers(org),
  });
}
