// Nodes of realistic size for the search benchmark: platform, tags, roles and Ohai-like
// automatic attributes, about 2.5 KB of JSON each.
import { randomBytes } from 'node:crypto';
import type { NodeDocument } from '../src/store/types.js';

const PLATFORMS = [
  { platform: 'debian', family: 'debian', version: '12.5' },
  { platform: 'ubuntu', family: 'debian', version: '22.04' },
  { platform: 'centos', family: 'rhel', version: '7.9.2009' },
  { platform: 'windows', family: 'windows', version: '10.0.20348' },
];
const ROLES = ['web', 'db', 'cache', 'queue', 'monitoring', 'base'];
const TAGS = ['web', 'db', 'cache', 'blue', 'green', 'canary', 'pci', 'batch', 'edge', 'legacy'];

/** Node `i`: `tags:web` on every 10th node, platform by i % 4 (debian on a quarter). */
export function benchNode(i: number): NodeDocument {
  const p = PLATFORMS[i % PLATFORMS.length]!;
  const role = ROLES[i % ROLES.length]!;
  const tags = [TAGS[i % TAGS.length]!, TAGS[(i * 7 + 3) % TAGS.length]!].filter(
    (t, k, all) => all.indexOf(t) === k && (t !== 'web' || i % 10 === 0),
  );
  const name = `node-${String(i).padStart(5, '0')}`;
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const packages: Record<string, { version: string }> = {};
  for (let k = 0; k < 40; k++) packages[`pkg-${(i + k * 13) % 300}`] = { version: `1.${k}.${i % 17}` };
  return {
    name,
    chef_environment: i % 5 === 0 ? 'staging' : 'production',
    json_class: 'Chef::Node',
    chef_type: 'node',
    run_list: [`role[${role}]`, 'recipe[push-jobs]', `recipe[${role}::default]`],
    normal: { tags, push_jobs: { whitelist: { 'chef-client': 'chef-client', uptime: 'uptime' } } },
    default: { ntp: { servers: ['0.pool.ntp.org', '1.pool.ntp.org'] }, app: { port: 8000 + (i % 10) } },
    override: {},
    automatic: {
      platform: p.platform,
      platform_family: p.family,
      platform_version: p.version,
      fqdn: `${name}.dc${i % 3}.example.com`,
      hostname: name,
      ipaddress: ip,
      macaddress: `02:42:${randomBytes(4).toString('hex').match(/../g)!.join(':')}`,
      kernel: { name: 'Linux', release: '6.1.0-18-amd64', machine: 'x86_64', os: 'GNU/Linux' },
      cpu: { total: 2 + (i % 8), real: 1, model_name: 'Intel(R) Xeon(R) CPU @ 2.20GHz' },
      memory: { total: `${4096 + (i % 4) * 4096}kB`, swap: { total: '0kB' } },
      network: {
        default_interface: 'eth0',
        interfaces: {
          eth0: { addresses: { [ip]: { family: 'inet', prefixlen: '16' } }, mtu: '1500', state: 'up' },
          lo: { addresses: { '127.0.0.1': { family: 'inet', prefixlen: '8' } }, mtu: '65536', state: 'up' },
        },
      },
      filesystem: {
        '/dev/sda1': { kb_size: '41152736', mount: '/', fs_type: 'ext4' },
        '/dev/sdb1': { kb_size: '102687672', mount: '/data', fs_type: 'xfs' },
      },
      packages,
      roles: [role],
      recipes: ['push-jobs', `${role}::default`],
      ohai_time: 1_700_000_000 + i,
    },
  };
}
