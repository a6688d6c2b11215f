// @push-jobs/testing: what the packages' tests share. This entry needs nothing but Node, the
// protocol package and pg; the in-process push server is `@push-jobs/testing/push-server`.
export { DEFAULT_WAIT_TIMEOUT_MS, isAlive, sleep, until, waitForValue, type WaitOptions } from './wait.js';
export { removeDir, tempDir } from './temp.js';
export { dropSchema, PG_URL, schemaName, schemaUrl, uniqueOrg, withPg } from './postgres.js';
export { TcpProxy } from './tcp-proxy.js';
export { FirstUpBalancer, RoundRobinBalancer } from './load-balancer.js';
export { signedRequest, type RequestSigner, type SignedResponse } from './signed-request.js';
export { freePorts } from './ports.js';
export { localhostCertificate, type LocalhostCertificate } from './tls.js';
