import { existsSync, readFileSync, statSync } from 'node:fs';
import { expect } from 'chai';
import { PushFixture, TEST_TIMERS } from '../src/push-server.js';

class MemberFixture extends PushFixture {
  static override defaults = { members: ['bob'], tempPrefix: 'pj-testing-' };
}

describe('testing: PushFixture', function () {
  it('starts an org with its admin, answers signed requests, and removes its data dir on close', async () => {
    const h = await PushFixture.start();
    let closed = false;
    try {
      expect(h.org).to.equal('acme');
      expect(h.server.config.heartbeat_interval).to.equal(TEST_TIMERS.heartbeat_interval);
      const res = await h.request('GET', `/organizations/${h.org}/pushy/node_states`);
      expect(res.status).to.equal(200);
      expect(res.json).to.deep.equal([]);
      await h.close();
      closed = true;
      expect(existsSync(h.dataDir)).to.equal(false);
    } finally {
      if (!closed) await h.close();
    }
  });

  it('a subclass starts with its defaults; what start is given wins; key files are 0600', async () => {
    const h = await MemberFixture.start({ org: 'other', timers: 'product' });
    try {
      expect(h).to.be.instanceOf(MemberFixture);
      expect(h.org).to.equal('other');
      expect(h.dataDir).to.match(/pj-testing-/);
      expect(h.server.config.heartbeat_interval).to.not.equal(TEST_TIMERS.heartbeat_interval);
      const bobFile = h.userKeyFile('bob');
      expect(readFileSync(bobFile, 'utf8')).to.equal(h.userKey('bob'));
      expect(statSync(bobFile).mode & 0o777).to.equal(0o600);
      expect(() => h.userKey('eve')).to.throw('no user eve');
    } finally {
      await h.close();
    }
  });
});
