/**
 * What the route modules receive: the settings, the store, the job engine and node tracker (or
 * their stand-ins) and, with a broker running, its keys and allow-list. Here, not in `app.ts`,
 * so that the routes depend on their inputs only and the app on the routes, not both ways.
 *
 * @module
 */
import type { ServerStatus } from '@push-jobs/protocol/internal';
import type { ServerConfig } from '../config/types.js';
import type { UnwrittenOutput } from '../jobs/output-so-far.js';
import type { JobEngine } from '../jobs/types.js';
import type { SessionKeyManager } from '../keys/session-keys.js';
import type { NodeTracker } from '../nodes/types.js';
import type { OrgSearchIndexes } from '../search/org-indexes.js';
import type { Store } from '../store/types.js';
import type { CurveAllowList } from '../zmq/types.js';

/**
 * What the config endpoint needs from the running broker: keys and the CURVE allow-list. Absent
 * when the app runs without ZeroMQ (API-only); the config endpoint then answers 503.
 */
export interface PushRuntime {
  /** The server's RSA public key (PEM, SubjectPublicKeyInfo), which signs heartbeats. */
  serverPublicKeyPem: string;
  /** The CURVE public key of the command socket (Z85, 40 characters). */
  curvePublicKey: string;
  /** The CURVE client keys admitted by the ZAP handler. */
  allowList: CurveAllowList;
  /** Per-node HMAC session keys. */
  sessionKeys: SessionKeyManager;
  /** The ports actually bound (they differ from the settings when those are 0). */
  ports?: { command: number; heartbeat: number };
}

/** What route modules receive. */
export interface RouteDeps {
  config: ServerConfig;
  store: Store;
  engine: JobEngine;
  tracker: NodeTracker;
  incarnationId: string;
  runtime: PushRuntime | undefined;
  /** The orgs' node search indexes, shared by node search and job creation by search. */
  searchIndexes: OrgSearchIndexes;
  /** Live output taken and not written yet (the output endpoints include it). */
  output?: UnwrittenOutput;
  /** Cluster mode: the instance that answers, for `/_status` (503 while draining). */
  instanceStatus?: () => NonNullable<ServerStatus['instance']>;
}
