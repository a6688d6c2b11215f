// The shared in-process push server (SQLite in a temp dir, random ports, 200 ms heartbeats, org
// `acme`, admin user `alice`), with the cookbook suites' temp dir name and job wait.
import { PushFixture } from '@push-jobs/testing/push-server';

export const ORG = 'acme';

export class TestPushServer extends PushFixture {
  static override defaults = { tempPrefix: 'pj-cookbook-server-', jobTimeoutMs: 30_000 };
}
