// Node facts: collection from a fake root and fake os answers, the merge into the node object
// the server holds, and the size bound.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import {
  buildOwnedParts,
  collectFacts,
  defaultRouteInterface,
  fileSources,
  jsonBytes,
  mergeNode,
  parseOsRelease,
  platformFamily,
  uptimeText,
  type FactSources,
  type NodeObject,
} from '../src/facts/index.js';

const ROUTES = [
  'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
  'eth1\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
  'eth1\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0',
  'eth0\t00000000\t0100000A\t0003\t0\t0\t50\t00000000\t0\t0\t0',
  '',
].join('\n');

function fakeHost(root: string, over: Partial<FactSources> = {}): FactSources {
  return {
    ...fileSources(root),
    hostname: () => 'web1',
    networkInterfaces: () => ({
      lo: [
        {
          address: '127.0.0.1',
          netmask: '255.0.0.0',
          family: 'IPv4',
          mac: '00:00:00:00:00:00',
          internal: true,
          cidr: null,
        },
      ],
      eth1: [
        {
          address: '192.168.1.7',
          netmask: '255.255.255.0',
          family: 'IPv4',
          mac: '02:00:00:00:00:01',
          internal: false,
          cidr: null,
        },
      ],
      eth0: [
        {
          address: '10.0.0.5',
          netmask: '255.0.0.0',
          family: 'IPv4',
          mac: '02:42:ac:11:00:02',
          internal: false,
          cidr: null,
        },
        {
          address: 'fe80::1',
          netmask: 'ffff::',
          family: 'IPv6',
          mac: '02:42:ac:11:00:02',
          internal: false,
          cidr: null,
          scopeid: 2,
        },
        {
          address: '2001:db8::5',
          netmask: 'ffff::',
          family: 'IPv6',
          mac: '02:42:ac:11:00:02',
          internal: false,
          cidr: null,
          scopeid: 0,
        },
      ],
    }),
    cpuCount: () => 4,
    totalmem: () => 1024 * 1024 * 1024,
    uptime: () => 2 * 86_400 + 3 * 3600 + 4 * 60 + 5.7,
    platform: () => 'linux',
    type: () => 'Linux',
    release: () => '6.1.0-18-amd64',
    version: () => '#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)',
    machine: () => 'x86_64',
    now: () => 1_700_000_000_000,
    ...over,
  };
}

describe('node facts', () => {
  let root: string;
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pj-facts-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('collects ohai-named facts from /etc and /proc of the root and the os answers', async () => {
    write('etc/os-release', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n');
    write('etc/debian_version', '12.5\n');
    write('etc/hosts', '127.0.0.1 localhost\n10.0.0.5 web1.example.com web1 # the node\n');
    write('proc/net/route', ROUTES);
    write('proc/meminfo', 'MemTotal:        8029876 kB\nMemFree:  1 kB\nSwapTotal:       1000 kB\n');
    const facts = await collectFacts(fakeHost(root));
    expect(facts).to.deep.equal({
      hostname: 'web1',
      machinename: 'web1',
      fqdn: 'web1.example.com',
      domain: 'example.com',
      // The default route with the lowest metric is on eth0.
      ipaddress: '10.0.0.5',
      macaddress: '02:42:AC:11:00:02',
      ip6address: '2001:db8::5',
      platform: 'debian',
      platform_family: 'debian',
      platform_version: '12.5',
      os: 'linux',
      os_version: '6.1.0-18-amd64',
      kernel: {
        name: 'Linux',
        release: '6.1.0-18-amd64',
        version: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)',
        machine: 'x86_64',
        os: 'GNU/Linux',
      },
      cpu: { total: 4 },
      memory: { total: '8029876kB', swap: { total: '1000kB' } },
      uptime_seconds: 183_845,
      uptime: '2 days 03 hours 04 minutes 05 seconds',
      ohai_time: 1_700_000_000,
    });
  });

  it('works without the files: no platform, memory from os, the host name as fqdn', async () => {
    const facts = await collectFacts(fakeHost(root, { networkInterfaces: () => ({}) }));
    expect(facts).to.not.have.any.keys('platform', 'platform_family', 'domain', 'ipaddress');
    expect(facts.fqdn).to.equal('web1');
    expect(facts.memory).to.deep.equal({ total: '1048576kB' });
  });

  it('maps platforms to ohai families and names (ID, then ID_LIKE)', async () => {
    expect(platformFamily('ubuntu', [])).to.equal('debian');
    expect(platformFamily('rocky', ['rhel', 'centos', 'fedora'])).to.equal('rhel');
    expect(platformFamily('amzn', ['centos', 'rhel', 'fedora'])).to.equal('amazon');
    expect(platformFamily('someos', ['suse'])).to.equal('suse');
    expect(platformFamily('someos', [])).to.equal('someos');
    write('etc/os-release', 'ID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.3"\n');
    const rhel = await collectFacts(fakeHost(root));
    expect([rhel.platform, rhel.platform_family, rhel.platform_version]).to.deep.equal([
      'redhat',
      'rhel',
      '9.3',
    ]);
  });

  it('parses os-release quoting, the default route and uptime text', () => {
    expect(parseOsRelease('# c\nNAME="A \\"B\\""\nID=x\nBAD LINE\n')).to.deep.equal({
      NAME: 'A "B"',
      ID: 'x',
    });
    expect(defaultRouteInterface(ROUTES)).to.equal('eth0');
    expect(defaultRouteInterface('Iface\n')).to.equal(undefined);
    expect(uptimeText(59)).to.equal('00 hours 00 minutes 59 seconds');
    expect(uptimeText(86_400)).to.equal('1 day 00 hours 00 minutes 00 seconds');
  });

  it('on this host: reads the real os-release and /proc', async () => {
    const facts = await collectFacts();
    expect(facts.os).to.equal('linux');
    expect(facts.platform).to.be.a('string').and.not.equal('');
    expect((facts.cpu as { total: number }).total).to.be.greaterThan(0);
    expect((facts.memory as { total: string }).total).to.match(/^\d+kB$/);
  });

  describe('the node object the agent writes', () => {
    const configured = {
      tags: ['web'],
      roles: ['web', 'base'],
      policy_name: 'app',
      attributes: { team: 'pay' },
    };

    function existing(): NodeObject {
      return {
        name: 'web1',
        chef_environment: 'staging',
        json_class: 'Chef::Node',
        chef_type: 'node',
        run_list: ['recipe[base]', 'role[db]'],
        normal: { push_jobs: { whitelist: { uptime: 'uptime' } }, owner: 'ops' },
        default: { d: 1 },
        override: { o: 1 },
        automatic: { network: { interfaces: {} }, platform: 'old' },
      };
    }

    it('merges: its facts and keys win, the rest of the node stays', () => {
      const { parts, trimmed } = buildOwnedParts(
        { platform: 'debian' },
        configured,
        ['chef-client'],
        '1.0.0',
      );
      expect(trimmed).to.deep.equal([]);
      const node = mergeNode('web1', existing(), parts);
      expect(node.chef_environment).to.equal('staging');
      expect(node.run_list).to.deep.equal(['recipe[base]', 'role[db]', 'role[web]', 'role[base]']);
      expect(node.normal).to.deep.equal({
        push_jobs: { whitelist: { uptime: 'uptime' } },
        owner: 'ops',
        team: 'pay',
        tags: ['web'],
        policy_name: 'app',
      });
      expect(node.default).to.deep.equal({ d: 1 });
      expect(node.override).to.deep.equal({ o: 1 });
      expect(node.automatic.network).to.deep.equal({ interfaces: {} });
      expect(node.automatic.platform).to.equal('debian');
      expect(node.automatic.roles).to.deep.equal(['web', 'base']);
      expect(node.automatic.push_jobs).to.deep.include({
        client_version: '1.0.0',
        allowed_commands: ['chef-client'],
      });
    });

    it('removes what it set before and no longer configures, and only that', () => {
      const first = mergeNode('web1', existing(), {
        ...buildOwnedParts({ platform: 'debian' }, { ...configured, chef_environment: 'prod' }, [], '1')
          .parts,
      });
      expect(first.chef_environment).to.equal('prod');
      const { parts } = buildOwnedParts({ platform: 'debian' }, { tags: ['api'] }, [], '1');
      const second = mergeNode('web1', first, parts);
      expect(second.run_list).to.deep.equal(['recipe[base]', 'role[db]']);
      expect(second.normal).to.deep.equal({
        push_jobs: { whitelist: { uptime: 'uptime' } },
        owner: 'ops',
        tags: ['api'],
      });
      expect(second.automatic).to.not.have.property('roles');
      expect(second.chef_environment).to.equal('_default');
      // A role[db] someone else put in the run list is not the agent's to remove.
      const third = mergeNode('web1', second, buildOwnedParts({}, { roles: ['db'] }, [], '1').parts);
      const fourth = mergeNode('web1', third, buildOwnedParts({}, {}, [], '1').parts);
      expect(fourth.run_list).to.deep.equal(['recipe[base]']);
    });

    it('stays within the size bound: attributes first, then command names, saying so', () => {
      const big = { blob: 'x'.repeat(70_000) };
      const withAttrs = buildOwnedParts(
        { platform: 'debian' },
        { tags: ['web'], attributes: big },
        ['a'],
        '1',
      );
      expect(withAttrs.trimmed).to.have.length(1);
      expect(withAttrs.trimmed[0]).to.match(/^node attributes left out: .* over the 65536-byte bound$/);
      expect(withAttrs.parts.normal).to.deep.equal({ tags: ['web'] });
      const many = Array.from({ length: 5000 }, (_, i) => `command-number-${i}`);
      const cut = buildOwnedParts({ platform: 'debian' }, {}, many, '1');
      expect(jsonBytes(cut.parts)).to.be.at.most(64 * 1024);
      const pj = cut.parts.automatic.push_jobs as {
        allowed_commands: string[];
        allowed_commands_truncated: boolean;
      };
      expect(pj.allowed_commands_truncated).to.equal(true);
      expect(pj.allowed_commands.length).to.be.within(1, 4999);
      expect(pj.allowed_commands[0]).to.equal('command-number-0');
      expect(cut.trimmed[0]).to.match(/^allowed command names cut to \d+ of 5000/);
    });
  });
});
