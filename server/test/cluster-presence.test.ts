// The presence map's rules (which change means a node went down, which one a move) and the
// notification payload packing, on plain values.
import { expect } from 'chai';
import { clusterChannels, MAX_NOTIFY_PAYLOAD_BYTES, packPayloads } from '../src/cluster/db.js';
import { PresenceMap, type PresenceChange } from '../src/cluster/presence.js';

describe('cluster presence map', () => {
  let events: string[];
  let map: PresenceMap;
  const SELF = 'self';

  beforeEach(() => {
    events = [];
    map = new PresenceMap(SELF, {
      down: (org, node) => events.push(`down ${org}/${node}`),
      moved: (org, node, to) => events.push(`moved ${org}/${node} ${to}`),
    });
  });

  const attach = (
    node: string,
    instance: string,
    incarnation: string,
    available: 0 | 1 = 1,
  ): PresenceChange => ['acme', node, instance, incarnation, available];
  const detach = (node: string, instance: string): PresenceChange => ['acme', node, instance, null, 0];

  it('a remote node detached by its instance is down; detached by another instance, nothing', () => {
    map.apply([attach('n1', 'b', 'inc1')]);
    map.apply([detach('n1', 'c')]);
    expect(events).to.deep.equal([]);
    expect(map.get('acme', 'n1')?.instance).to.equal('b');
    map.apply([detach('n1', 'b')]);
    expect(events).to.deep.equal(['down acme/n1']);
    expect(map.get('acme', 'n1')).to.equal(undefined);
  });

  it('the same incarnation on another instance is a move; a new incarnation of a remote node is down', () => {
    map.apply([attach('n1', 'b', 'inc1'), attach('n1', 'c', 'inc1')]);
    expect(events).to.deep.equal(['moved acme/n1 c']);
    map.apply([attach('n1', 'c', 'inc2')]);
    expect(events).to.deep.equal(['moved acme/n1 c', 'down acme/n1']);
  });

  it("this instance's own nodes raise no down (the local tracker reports those), but a move away does", () => {
    map.apply([attach('n1', SELF, 'inc1'), detach('n1', SELF)]);
    expect(events).to.deep.equal([]);
    map.apply([attach('n2', SELF, 'inc1'), attach('n2', 'b', 'inc1')]);
    expect(events).to.deep.equal(['moved acme/n2 b']);
  });

  it('availability changes alone raise nothing; a gone instance takes its nodes down', () => {
    map.apply([attach('n1', 'b', 'inc1', 0), attach('n1', 'b', 'inc1', 1), attach('n2', 'b', 'inc9')]);
    expect(events).to.deep.equal([]);
    expect(map.get('acme', 'n1')?.available).to.equal(true);
    expect(map.countByInstance().get('b')).to.equal(2);
    map.dropInstance('b');
    expect(events.sort()).to.deep.equal(['down acme/n1', 'down acme/n2']);
  });

  it('a reload raises what changed while the listening connection was away', () => {
    map.apply([attach('n1', 'b', 'inc1'), attach('n2', 'b', 'inc1')]);
    map.reload([attach('n2', 'c', 'inc1'), attach('n3', 'c', 'inc1')]);
    expect(events).to.deep.equal(['down acme/n1', 'moved acme/n2 c']);
  });
});

describe('cluster notification payloads', () => {
  it('packs items into JSON arrays under the size limit, in order, leaving out an item too big for any', () => {
    const items = Array.from({ length: 500 }, (_, i) => [
      'acme',
      `node-${i}`,
      'instance-id',
      'incarnation',
      1,
    ]);
    const huge = ['x'.repeat(MAX_NOTIFY_PAYLOAD_BYTES)];
    const payloads = packPayloads([...items.slice(0, 250), huge, ...items.slice(250)]);
    expect(payloads.length).to.be.greaterThan(1);
    for (const p of payloads) expect(Buffer.byteLength(p)).to.be.at.most(MAX_NOTIFY_PAYLOAD_BYTES);
    expect(payloads.flatMap((p) => JSON.parse(p) as unknown[])).to.deep.equal(items);
  });
});

describe('cluster channels', () => {
  it('differ by schema (notifications are per database), and are plain identifiers', () => {
    const a = clusterChannels('pj_a');
    const b = clusterChannels('pj_b');
    expect(a.presence).to.not.equal(b.presence);
    expect(a.feed).to.not.equal(b.feed);
    expect(clusterChannels(undefined)).to.deep.equal(clusterChannels(undefined));
    for (const name of [a.presence, a.feed]) expect(name).to.match(/^[a-z_0-9]{1,63}$/);
  });
});
