import { expect } from 'chai';
import {
  compileQuery,
  flattenNode,
  NodeSearchIndex,
  searchNodes,
  SearchQueryError,
  type SearchResult,
} from '../src/search/index.js';
import type { NodeDocument } from '../src/store/types.js';

interface Spec {
  name: string;
  env: string;
  runList: string[];
  platform: string;
  family: string;
  version: string;
  machine?: string;
  tags?: string[];
  memoryMb?: number;
  extra?: Record<string, unknown>;
}

function makeNode(s: Spec): NodeDocument {
  const roles = s.runList.filter((r) => r.startsWith('role[')).map((r) => r.slice(5, -1));
  const recipes = s.runList.filter((r) => r.startsWith('recipe[')).map((r) => r.slice(7, -1));
  return {
    name: s.name,
    chef_environment: s.env,
    json_class: 'Chef::Node',
    chef_type: 'node',
    run_list: s.runList,
    normal: { tags: s.tags ?? [], push_jobs: { whitelist: { 'chef-client': 'chef-client' } } },
    default: { ntp: { servers: ['0.pool.ntp.org', '1.pool.ntp.org'] } },
    override: {},
    automatic: {
      platform: s.platform,
      platform_family: s.family,
      platform_version: s.version,
      kernel: { machine: s.machine ?? 'x86_64', name: 'Linux' },
      memory: { total_mb: s.memoryMb ?? 4096 },
      fqdn: `${s.name}.example.com`,
      recipes,
      roles,
      ...s.extra,
    },
  };
}

const fixture: NodeDocument[] = [
  makeNode({
    name: 'web01',
    env: 'production',
    runList: ['role[web]', 'recipe[apache2]'],
    platform: 'ubuntu',
    family: 'debian',
    version: '22.04',
    tags: ['blue'],
    memoryMb: 8192,
  }),
  makeNode({
    name: 'web02',
    env: 'production',
    runList: ['role[web]', 'recipe[apache2]'],
    platform: 'ubuntu',
    family: 'debian',
    version: '22.04',
    tags: ['blue', 'canary'],
    memoryMb: 8192,
  }),
  makeNode({
    name: 'web03',
    env: 'staging',
    runList: ['role[web]', 'recipe[nginx]'],
    platform: 'debian',
    family: 'debian',
    version: '12',
    machine: 'aarch64',
    tags: ['red'],
  }),
  makeNode({
    name: 'db01',
    env: 'production',
    runList: ['role[db]', 'recipe[postgresql::server]'],
    platform: 'centos',
    family: 'rhel',
    version: '7.9',
    tags: ['blue'],
    memoryMb: 65536,
  }),
  makeNode({
    name: 'db02',
    env: 'staging',
    runList: ['role[db]', 'recipe[postgresql::server]'],
    platform: 'rocky',
    family: 'rhel',
    version: '9.3',
    memoryMb: 32768,
  }),
  makeNode({
    name: 'cache01',
    env: 'production',
    runList: ['recipe[redis]'],
    platform: 'ubuntu',
    family: 'debian',
    version: '20.04',
    tags: ['red', 'canary'],
    memoryMb: 16384,
  }),
  makeNode({
    name: 'lb01',
    env: 'production',
    runList: ['role[lb]', 'recipe[haproxy]'],
    platform: 'ubuntu',
    family: 'debian',
    version: '22.04',
    machine: 'aarch64',
    tags: ['green'],
    memoryMb: 2048,
  }),
  makeNode({
    name: 'build01',
    env: 'dev',
    runList: ['recipe[jenkins]', 'recipe[apache2]'],
    platform: 'fedora',
    family: 'fedora',
    version: '39',
  }),
  makeNode({
    name: 'win01',
    env: '_default',
    runList: ['recipe[iis]'],
    platform: 'windows',
    family: 'windows',
    version: '10.0.17763',
    extra: { kernel: { machine: 'x86_64', name: 'Microsoft Windows Server 2019 Datacenter' } },
  }),
  makeNode({
    name: 'mon01',
    env: 'staging',
    runList: ['role[monitoring]', 'recipe[apache2::mod_ssl]'],
    platform: 'ubuntu',
    family: 'debian',
    version: '24.04',
    tags: ['blue'],
  }),
];

const names = (r: SearchResult): string[] => r.rows.map((n) => n.name);
const search = (q: string, opts?: { start?: number; rows?: number }): string[] =>
  names(searchNodes(fixture, q, opts));

describe('search: searchNodes over a fixture', () => {
  it('*:* returns every node sorted by name', () => {
    const r = searchNodes(fixture, '*:*');
    expect(r.total).to.equal(10);
    expect(r.start).to.equal(0);
    expect(names(r)).to.deep.equal([...fixture.map((n) => n.name)].sort());
  });

  it('name:web*', () => {
    expect(search('name:web*')).to.deep.equal(['web01', 'web02', 'web03']);
  });

  it('name:we?0? and name:web0?', () => {
    expect(search('name:we?0?')).to.deep.equal(['web01', 'web02', 'web03']);
    expect(search('name:?b0*')).to.deep.equal(['db01', 'db02', 'lb01']);
  });

  it('role:db', () => {
    expect(search('role:db')).to.deep.equal(['db01', 'db02']);
    expect(search('roles:db')).to.deep.equal(['db01', 'db02']);
  });

  it('tags:blue', () => {
    expect(search('tags:blue')).to.deep.equal(['db01', 'mon01', 'web01', 'web02']);
  });

  it('platform_family:debian', () => {
    expect(search('platform_family:debian')).to.deep.equal([
      'cache01',
      'lb01',
      'mon01',
      'web01',
      'web02',
      'web03',
    ]);
  });

  it('platform:ubuntu AND NOT tags:canary', () => {
    expect(search('platform:ubuntu AND NOT tags:canary')).to.deep.equal(['lb01', 'mon01', 'web01']);
    expect(search('platform:ubuntu -tags:canary')).to.deep.equal(['lb01', 'mon01', 'web01']);
  });

  it('chef_environment:production OR chef_environment:staging', () => {
    expect(search('chef_environment:production OR chef_environment:staging')).to.deep.equal([
      'cache01',
      'db01',
      'db02',
      'lb01',
      'mon01',
      'web01',
      'web02',
      'web03',
    ]);
    expect(search('chef_environment:production chef_environment:staging')).to.have.length(8);
    expect(search('chef_environment:(production OR staging)')).to.have.length(8);
  });

  it('kernel_machine:x86_64, and the leaf key machine', () => {
    const x86 = ['build01', 'cache01', 'db01', 'db02', 'mon01', 'web01', 'web02', 'win01'];
    expect(search('kernel_machine:x86_64')).to.deep.equal(x86);
    expect(search('machine:x86_64')).to.deep.equal(x86);
    expect(search('kernel_machine:aarch64')).to.deep.equal(['lb01', 'web03']);
  });

  it('run_list:recipe\\[apache2\\] and recipe:apache2', () => {
    expect(search('run_list:recipe\\[apache2\\]')).to.deep.equal(['build01', 'web01', 'web02']);
    expect(search('recipe:apache2')).to.deep.equal(['build01', 'web01', 'web02']);
    expect(search('recipes:apache2*')).to.deep.equal(['build01', 'mon01', 'web01', 'web02']);
    expect(search('recipes:apache2\\:\\:mod_ssl')).to.deep.equal(['mon01']);
    expect(search('run_list:role\\[web\\]')).to.deep.equal(['web01', 'web02', 'web03']);
  });

  it('matches values case-insensitively but not partially', () => {
    expect(search('platform:UBUNTU')).to.have.length(5);
    expect(search('platform:ubu')).to.deep.equal([]);
    expect(search('PLATFORM:Ubuntu')).to.have.length(5);
  });

  it('quoted values with spaces', () => {
    expect(search('kernel_name:"Microsoft Windows Server 2019 Datacenter"')).to.deep.equal(['win01']);
    expect(search('kernel_name:Microsoft*Datacenter')).to.deep.equal(['win01']);
  });

  it('numeric and lexical ranges', () => {
    expect(search('memory_total_mb:[16384 TO *]')).to.deep.equal(['cache01', 'db01', 'db02']);
    expect(search('memory_total_mb:{8192 TO 32768}')).to.deep.equal(['cache01']);
    expect(search('memory_total_mb:[8192 TO 32768]')).to.deep.equal(['cache01', 'db02', 'web01', 'web02']);
    expect(search('name:[db01 TO lb01]')).to.deep.equal(['db01', 'db02', 'lb01']);
    expect(search('name:{db01 TO lb01}')).to.deep.equal(['db02']);
    expect(search('platform_version:[20 TO 23]')).to.deep.equal(['cache01', 'lb01', 'web01', 'web02']);
  });

  it('precedence and grouping end to end', () => {
    expect(search('role:db OR role:web AND tags:red')).to.deep.equal(['db01', 'db02', 'web03']);
    expect(search('(role:db OR role:web) AND tags:red')).to.deep.equal(['web03']);
    expect(search('NOT chef_environment:production AND platform_family:debian')).to.deep.equal([
      'mon01',
      'web03',
    ]);
  });

  it('+ required and - prohibited clauses', () => {
    expect(search('+tags:blue role:web')).to.deep.equal(['db01', 'mon01', 'web01', 'web02']);
    expect(search('-platform_family:debian')).to.deep.equal(['build01', 'db01', 'db02', 'win01']);
    expect(search('NOT platform_family:debian')).to.deep.equal(['build01', 'db01', 'db02', 'win01']);
  });

  it('a field that no node has matches nothing; field exists with field:*', () => {
    expect(search('no_such_field:x')).to.deep.equal([]);
    expect(search('tags:*')).to.deep.equal(['cache01', 'db01', 'lb01', 'mon01', 'web01', 'web02', 'web03']);
  });

  it('pages with start and rows, keeping the total', () => {
    const all = search('*:*');
    const page = searchNodes(fixture, '*:*', { start: 3, rows: 4 });
    expect(page.total).to.equal(10);
    expect(page.start).to.equal(3);
    expect(names(page)).to.deep.equal(all.slice(3, 7));
    expect(searchNodes(fixture, '*:*', { start: 8, rows: 4 }).rows).to.have.length(2);
    expect(searchNodes(fixture, '*:*', { start: 20 })).to.deep.equal({ total: 10, start: 20, rows: [] });
    expect(searchNodes(fixture, 'role:web', { rows: 0 })).to.deep.equal({ total: 3, start: 0, rows: [] });
  });

  it('rejects bad paging', () => {
    expect(() => searchNodes(fixture, '*:*', { start: -1 })).to.throw(RangeError, /start/);
    expect(() => searchNodes(fixture, '*:*', { rows: 1.5 })).to.throw(RangeError, /rows/);
  });

  it('throws SearchQueryError for a bad query', () => {
    expect(() => searchNodes(fixture, 'web01')).to.throw(SearchQueryError, /has no field/);
  });

  it('returns the node documents themselves', () => {
    const r = searchNodes(fixture, 'name:db01');
    expect(r.rows[0]).to.equal(fixture.find((n) => n.name === 'db01'));
  });
});

describe('search: compileQuery', () => {
  it('compiles once and matches many flattened nodes', () => {
    const m = compileQuery('platform:ubuntu AND NOT tags:canary');
    expect(fixture.map(flattenNode).filter(m)).to.have.length(3);
  });
});

describe('search: NodeSearchIndex', () => {
  it('searches like searchNodes', () => {
    const index = new NodeSearchIndex();
    for (const n of fixture) index.upsert(n, 1);
    expect(index.size).to.equal(10);
    for (const q of ['*:*', 'role:web', 'tags:blue AND NOT name:db*', 'memory_total_mb:[0 TO 8192]']) {
      expect(index.search(q, { start: 1, rows: 2 })).to.deep.equal(
        searchNodes(fixture, q, { start: 1, rows: 2 }),
      );
    }
  });

  it('searches the same in slices that yield to the event loop, ignoring case', async () => {
    const index = new NodeSearchIndex();
    // Many nodes, so that a slice of 0 ms yields between blocks of them.
    const many = Array.from({ length: 600 }, (_, i) => ({
      ...fixture[i % fixture.length]!,
      name: `n${1000 + i}`,
    }));
    for (const n of many) index.upsert(n, 1);
    let yielded = 0;
    const timer = setInterval(() => yielded++, 0);
    try {
      for (const q of [
        '*:*',
        'ROLE:WEB',
        'tags:BLUE AND NOT name:db*',
        'platform:UBU*',
        'memory_total_mb:[0 TO 8192]',
      ]) {
        const expected = searchNodes(many, q, { start: 3, rows: 50 });
        expect(await index.searchAsync(q, { start: 3, rows: 50 }, 0)).to.deep.equal(expected);
        expect(await index.matchNamesAsync(q, 0)).to.deep.equal(names(searchNodes(many, q, { rows: 1000 })));
        expect(index.matchNames(q)).to.deep.equal(await index.matchNamesAsync(q));
      }
    } finally {
      clearInterval(timer);
    }
    expect(yielded, 'the event loop ran during the slices').to.be.greaterThan(0);
  });

  it('re-flattens only when the version changes', () => {
    const index = new NodeSearchIndex();
    const web = makeNode({
      name: 'web09',
      env: 'production',
      runList: [],
      platform: 'ubuntu',
      family: 'debian',
      version: '22.04',
    });
    expect(index.upsert(web, 'v1')).to.equal(true);
    expect(index.upsert({ ...web, chef_environment: 'staging' }, 'v1')).to.equal(false);
    expect(index.search('chef_environment:staging').total).to.equal(0);
    expect(index.upsert({ ...web, chef_environment: 'staging' }, 'v2')).to.equal(true);
    expect(index.search('chef_environment:staging').total).to.equal(1);
    expect(index.version('web09')).to.equal('v2');
    expect(index.upsert({ ...web, chef_environment: 'dev' })).to.equal(true);
    expect(index.search('chef_environment:dev').total).to.equal(1);
  });

  it('keeps name order across upserts and removals', () => {
    const index = new NodeSearchIndex();
    const base = fixture[0];
    if (base === undefined) throw new Error('fixture is empty');
    for (const name of ['m', 'c', 'x']) index.upsert({ ...base, name });
    expect(names(index.search('*:*'))).to.deep.equal(['c', 'm', 'x']);
    index.upsert({ ...base, name: 'a' });
    index.upsert({ ...base, name: 'm', chef_environment: 'dev' });
    expect(names(index.search('*:*'))).to.deep.equal(['a', 'c', 'm', 'x']);
    expect(names(index.search('chef_environment:dev'))).to.deep.equal(['m']);
    expect(index.remove('c')).to.equal(true);
    expect(index.remove('c')).to.equal(false);
    expect(index.has('c')).to.equal(false);
    expect(names(index.search('*:*'))).to.deep.equal(['a', 'm', 'x']);
    index.clear();
    expect(index.search('*:*')).to.deep.equal({ total: 0, start: 0, rows: [] });
  });
});

describe('search: 10,000 nodes', () => {
  const envs = ['production', 'staging', 'dev', 'qa'];
  const roles = ['web', 'db', 'cache', 'lb', 'worker'];
  const big: NodeDocument[] = [];
  for (let i = 0; i < 10_000; i++) {
    big.push(
      makeNode({
        name: `node${String(i).padStart(5, '0')}`,
        env: envs[i % 4] ?? 'dev',
        runList: [`role[${roles[i % 5] ?? 'web'}]`, i % 2 === 0 ? 'recipe[apache2]' : 'recipe[nginx]'],
        platform: i % 3 === 0 ? 'centos' : 'ubuntu',
        family: i % 3 === 0 ? 'rhel' : 'debian',
        version: '22.04',
        tags: i % 7 === 0 ? ['canary'] : ['stable'],
        memoryMb: 1024 * (i % 16),
      }),
    );
  }
  const count = (pred: (i: number) => boolean): number => {
    let n = 0;
    for (let i = 0; i < 10_000; i++) if (pred(i)) n++;
    return n;
  };
  const cases: Array<[string, (i: number) => boolean]> = [
    ['*:*', () => true],
    ['role:web', (i) => i % 5 === 0],
    ['platform:ubuntu AND NOT tags:canary', (i) => i % 3 !== 0 && i % 7 !== 0],
    ['chef_environment:production OR chef_environment:staging', (i) => i % 4 < 2],
    ['name:node00*', (i) => i < 1000],
    ['name:node0?00?', (i) => Math.floor(i / 10) % 100 === 0],
    ['run_list:recipe\\[apache2\\] AND role:db', (i) => i % 2 === 0 && i % 5 === 1],
    ['memory_total_mb:[8192 TO *]', (i) => i % 16 >= 8],
  ];

  it('searchNodes gives the right totals', () => {
    for (const [q, pred] of cases) {
      expect(searchNodes(big, q, { rows: 10 }).total, q).to.equal(count(pred));
    }
  });

  it('NodeSearchIndex gives the same totals and pages', () => {
    const index = new NodeSearchIndex();
    for (const n of big) index.upsert(n, 1);
    for (const [q, pred] of cases) {
      const r = index.search(q, { start: 5, rows: 20 });
      expect(r.total, q).to.equal(count(pred));
      expect(r.rows.length, q).to.equal(Math.min(20, Math.max(0, r.total - 5)));
    }
    const page = index.search('role:web', { start: 100, rows: 3 });
    expect(names(page)).to.deep.equal(['node00500', 'node00505', 'node00510']);
  });
});
