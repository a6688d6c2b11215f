import { expect } from 'chai';
import { flattenNode, mergeAttributes, parseRunListItem } from '../src/search/index.js';
import type { NodeDocument } from '../src/store/types.js';

function node(overrides: Partial<NodeDocument> = {}): NodeDocument {
  return {
    name: 'web01',
    chef_environment: 'production',
    json_class: 'Chef::Node',
    chef_type: 'node',
    run_list: [],
    normal: {},
    default: {},
    override: {},
    automatic: {},
    ...overrides,
  };
}

describe('search: flattenNode', () => {
  it('indexes the top-level fields', () => {
    const flat = flattenNode(node());
    expect(flat.get('name')).to.deep.equal(['web01']);
    expect(flat.get('chef_environment')).to.deep.equal(['production']);
    expect(flat.get('chef_type')).to.deep.equal(['node']);
  });

  it('joins nested keys with _ and also indexes each leaf key alone', () => {
    const flat = flattenNode(node({ automatic: { kernel: { machine: 'x86_64', os: { release: '6.1' } } } }));
    expect(flat.get('kernel_machine')).to.deep.equal(['x86_64']);
    expect(flat.get('machine')).to.deep.equal(['x86_64']);
    expect(flat.get('kernel_os_release')).to.deep.equal(['6.1']);
    expect(flat.get('release')).to.deep.equal(['6.1']);
    expect(flat.has('kernel')).to.equal(false);
    expect(flat.has('kernel_os')).to.equal(false);
  });

  it('indexes every array element under the same key, and objects inside arrays', () => {
    const flat = flattenNode(
      node({
        normal: { tags: ['blue', 'red', 'blue'], disks: [{ device: 'sda', size: 100 }, { device: 'sdb' }] },
      }),
    );
    expect(flat.get('tags')).to.deep.equal(['blue', 'red']);
    expect(flat.get('disks_device')).to.deep.equal(['sda', 'sdb']);
    expect(flat.get('device')).to.deep.equal(['sda', 'sdb']);
    expect(flat.get('disks_size')).to.deep.equal(['100']);
  });

  it('indexes numbers and booleans as strings and skips null and empty containers', () => {
    const flat = flattenNode(
      node({ automatic: { cpu: { total: 8, load: 0.5 }, virtual: false, gone: null, empty: {}, none: [] } }),
    );
    expect(flat.get('cpu_total')).to.deep.equal(['8']);
    expect(flat.get('load')).to.deep.equal(['0.5']);
    expect(flat.get('virtual')).to.deep.equal(['false']);
    expect(flat.has('gone')).to.equal(false);
    expect(flat.has('empty')).to.equal(false);
    expect(flat.has('none')).to.equal(false);
  });

  it('merges attribute levels: automatic > override > normal > default, objects deep-merged', () => {
    const flat = flattenNode(
      node({
        default: { app: { port: 80, user: 'www', list: ['a', 'b'] }, only_default: 'd' },
        normal: { app: { port: 8080, list: ['c'] }, level: 'normal' },
        override: { app: { user: 'app' }, level: 'override' },
        automatic: { level: 'automatic' },
      }),
    );
    expect(flat.get('app_port')).to.deep.equal(['8080']);
    expect(flat.get('app_user')).to.deep.equal(['app']);
    expect(flat.get('app_list'), 'arrays are replaced, not merged').to.deep.equal(['c']);
    expect(flat.get('only_default')).to.deep.equal(['d']);
    expect(flat.get('level')).to.deep.equal(['automatic']);
  });

  it('lets a higher level replace an object with a scalar and the other way round', () => {
    expect(mergeAttributes({ a: { b: 1 } }, { a: 'flat' })).to.deep.equal({ a: 'flat' });
    expect(mergeAttributes({ a: 'flat' }, { a: { b: 1 } })).to.deep.equal({ a: { b: 1 } });
  });

  it('does not modify the attribute levels', () => {
    const normal = { app: { port: 1 } };
    mergeAttributes(normal, { app: { port: 2 } });
    expect(normal).to.deep.equal({ app: { port: 1 } });
  });

  it('derives run_list, recipe and role from the run list', () => {
    const flat = flattenNode(
      node({
        run_list: ['recipe[apache2]', 'role[web]', 'recipe[mysql::server@1.2.0]', 'ntp', 'role[base]'],
      }),
    );
    expect(flat.get('run_list')).to.deep.equal([
      'recipe[apache2]',
      'role[web]',
      'recipe[mysql::server@1.2.0]',
      'recipe[ntp]',
      'role[base]',
    ]);
    expect(flat.get('recipe')).to.deep.equal(['apache2', 'mysql::server', 'ntp']);
    expect(flat.get('role')).to.deep.equal(['web', 'base']);
  });

  it('keeps expanded recipes and roles from the attributes', () => {
    const flat = flattenNode(
      node({
        run_list: ['role[web]'],
        automatic: { recipes: ['apache2', 'apache2::default'], roles: ['web', 'base'] },
      }),
    );
    expect(flat.get('recipes')).to.deep.equal(['apache2', 'apache2::default']);
    expect(flat.get('roles')).to.deep.equal(['web', 'base']);
    expect(flat.get('role')).to.deep.equal(['web']);
  });

  it('lets top-level fields replace top-level attributes of the same name, as Chef does', () => {
    const flat = flattenNode(node({ normal: { name: 'not-the-name', chef_environment: 'nope' } }));
    expect(flat.get('name')).to.deep.equal(['web01']);
    expect(flat.get('chef_environment')).to.deep.equal(['production']);
  });

  it('adds nested leaf values to a top-level field of that name (Chef leaf-key collision)', () => {
    const flat = flattenNode(node({ automatic: { cloud: { name: 'ec2' } } }));
    expect(flat.get('name')).to.have.members(['web01', 'ec2']);
    expect(flat.get('cloud_name')).to.deep.equal(['ec2']);
  });

  it('lowercases field names but keeps value case', () => {
    const flat = flattenNode(node({ normal: { DataCenter: { Region: 'EU-West' } } }));
    expect(flat.get('datacenter_region')).to.deep.equal(['EU-West']);
    expect(flat.get('region')).to.deep.equal(['EU-West']);
    expect(flat.has('DataCenter_Region')).to.equal(false);
  });

  it('parses run-list items', () => {
    expect(parseRunListItem('recipe[a::b@1.0]')).to.deep.equal({
      type: 'recipe',
      name: 'a::b',
      entry: 'recipe[a::b@1.0]',
    });
    expect(parseRunListItem('role[db]')).to.deep.equal({ type: 'role', name: 'db', entry: 'role[db]' });
    expect(parseRunListItem('apache2')).to.deep.equal({
      type: 'recipe',
      name: 'apache2',
      entry: 'recipe[apache2]',
    });
  });
});
