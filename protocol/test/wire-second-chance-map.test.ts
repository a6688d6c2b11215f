import { expect } from 'chai';
import { InvalidArgumentError } from '../src/errors.js';
import { SecondChanceMap } from '../src/wire/second-chance-map.js';

interface Entry {
  n: number;
  referenced: boolean;
}
const entry = (n: number): Entry => ({ n, referenced: false });

describe('SecondChanceMap', () => {
  it('never holds more than maxSize entries', () => {
    const map = new SecondChanceMap<string, Entry>(3);
    for (let i = 0; i < 100; i++) map.set(`k${i}`, entry(i));
    expect(map.size).to.equal(3);
    expect(map.get('k99')?.n).to.equal(99);
  });

  it('evicts the oldest unreferenced entry, giving referenced ones a second chance', () => {
    const map = new SecondChanceMap<string, Entry>(3);
    map.set('a', entry(1));
    map.set('b', entry(2));
    map.set('c', entry(3));
    map.get('a')!.referenced = true;
    map.set('d', entry(4));
    expect(map.get('a')?.n, 'a was used: kept').to.equal(1);
    expect(map.get('b'), 'b, the oldest unused, goes').to.equal(undefined);
    expect(map.get('a')!.referenced, 'its chance is spent').to.equal(false);
    map.set('e', entry(5));
    expect(map.get('c'), 'then c').to.equal(undefined);
    expect([...['a', 'd', 'e']].map((k) => map.get(k)?.n)).to.deep.equal([1, 4, 5]);
  });

  it('ends an eviction pass when every entry is referenced', () => {
    const map = new SecondChanceMap<string, Entry>(2);
    map.set('a', { n: 1, referenced: true });
    map.set('b', { n: 2, referenced: true });
    map.set('c', entry(3));
    expect(map.size).to.equal(2);
    expect(map.get('a'), 'the first, once its flag is cleared').to.equal(undefined);
  });

  it('replacing a key of a full map evicts nothing', () => {
    const map = new SecondChanceMap<string, Entry>(2);
    map.set('a', entry(1));
    map.set('b', entry(2));
    map.set('a', entry(10));
    expect([map.get('a')?.n, map.get('b')?.n]).to.deep.equal([10, 2]);
  });

  it('forgets by key and wholesale; refuses a size that is not a positive integer', () => {
    const map = new SecondChanceMap<string, Entry>(2);
    map.set('a', entry(1));
    expect(map.delete('a')).to.equal(true);
    expect(map.delete('a')).to.equal(false);
    map.set('b', entry(2));
    map.clear();
    expect(map.size).to.equal(0);
    expect(() => new SecondChanceMap(0)).to.throw(InvalidArgumentError);
    expect(() => new SecondChanceMap(1.5)).to.throw(InvalidArgumentError);
  });
});
