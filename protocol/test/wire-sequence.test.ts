import { expect } from 'chai';
import { InvalidArgumentError } from '../src/errors.js';
import { SequenceTracker } from '../src/wire/index.js';

describe('wire sequence', () => {
  describe('SequenceTracker', () => {
    it('accepts the first message of a peer, whatever its sequence', () => {
      const t = new SequenceTracker();
      expect(t.check('acme/web01', 'inc-a', 0)).to.equal('ok');
      expect(t.check('acme/web02', 'inc-b', 812)).to.equal('ok');
      expect(t.size).to.equal(2);
    });

    it('accepts increasing sequences, including gaps', () => {
      const t = new SequenceTracker();
      for (const seq of [1, 2, 3, 10, 11]) expect(t.check('p', 'i', seq)).to.equal('ok');
      expect(t.peek('p')).to.deep.equal({ incarnationId: 'i', sequence: 11 });
    });

    it('rejects a repeated sequence as replay', () => {
      const t = new SequenceTracker();
      t.check('p', 'i', 5);
      expect(t.check('p', 'i', 5)).to.equal('replay');
    });

    it('rejects a sequence that goes backwards within one incarnation, and keeps the high-water mark', () => {
      const t = new SequenceTracker();
      t.check('p', 'i', 5);
      expect(t.check('p', 'i', 4)).to.equal('replay');
      expect(t.check('p', 'i', 0)).to.equal('replay');
      expect(t.peek('p')?.sequence).to.equal(5);
      expect(t.check('p', 'i', 6)).to.equal('ok');
    });

    it('resets on a new incarnation', () => {
      const t = new SequenceTracker();
      t.check('p', 'old', 100);
      expect(t.check('p', 'new', 1)).to.equal('ok');
      expect(t.check('p', 'new', 2)).to.equal('ok');
      expect(t.check('p', 'new', 2)).to.equal('replay');
    });

    it('refuses a replay from the incarnation the peer just left', () => {
      const t = new SequenceTracker();
      t.check('p', 'old', 100);
      t.check('p', 'new', 1);
      expect(t.check('p', 'old', 101)).to.equal('replay');
      expect(t.peek('p')).to.deep.equal({ incarnationId: 'new', sequence: 1 });
    });

    it('keeps peers apart', () => {
      const t = new SequenceTracker();
      t.check('acme/a', 'i', 10);
      expect(t.check('acme/b', 'i', 1)).to.equal('ok');
      expect(t.check('other/a', 'i', 1)).to.equal('ok');
    });

    it('rejects non-integer, negative, unsafe and non-number sequences as bad_sequence without recording', () => {
      const t = new SequenceTracker();
      for (const seq of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '3', null, undefined]) {
        expect(t.check('p', 'i', seq as number), String(seq)).to.equal('bad_sequence');
      }
      expect(t.size).to.equal(0);
    });

    it('rejects non-string peers or incarnations as bad_sequence', () => {
      const t = new SequenceTracker();
      expect(t.check(undefined as unknown as string, 'i', 1)).to.equal('bad_sequence');
      expect(t.check('p', null as unknown as string, 1)).to.equal('bad_sequence');
    });

    it('forget(peer) makes the next message of that peer new again', () => {
      const t = new SequenceTracker();
      t.check('p', 'i', 10);
      expect(t.forget('p')).to.equal(true);
      expect(t.forget('p')).to.equal(false);
      expect(t.peek('p')).to.equal(undefined);
      expect(t.check('p', 'i', 1)).to.equal('ok');
    });

    it('clear() forgets every peer', () => {
      const t = new SequenceTracker();
      t.check('a', 'i', 1);
      t.check('b', 'i', 1);
      t.clear();
      expect(t.size).to.equal(0);
    });

    it('never holds more than maxPeers peers', () => {
      const t = new SequenceTracker({ maxPeers: 100 });
      for (let i = 0; i < 1000; i++) expect(t.check(`p${i}`, 'i', 1)).to.equal('ok');
      expect(t.size).to.equal(100);
    });

    it('evicts the oldest idle peer first', () => {
      const t = new SequenceTracker({ maxPeers: 3 });
      t.check('a', 'i', 1);
      t.check('b', 'i', 1);
      t.check('c', 'i', 1);
      t.check('d', 'i', 1);
      expect(t.peek('a')).to.equal(undefined);
      expect(['b', 'c', 'd'].map((p) => t.peek(p) !== undefined)).to.deep.equal([true, true, true]);
    });

    it('gives recently active peers a second chance over idle ones (LRU-ish)', () => {
      const t = new SequenceTracker({ maxPeers: 3 });
      t.check('a', 'i', 1);
      t.check('b', 'i', 1);
      t.check('c', 'i', 1);
      t.check('a', 'i', 2); // a is active again
      t.check('d', 'i', 1); // evicts b, the oldest idle peer
      expect(t.peek('a')?.sequence).to.equal(2);
      expect(t.peek('b')).to.equal(undefined);
      expect(t.check('a', 'i', 2)).to.equal('replay');
    });

    it('still evicts when every peer is active', () => {
      const t = new SequenceTracker({ maxPeers: 3 });
      for (const p of ['a', 'b', 'c']) t.check(p, 'i', 1);
      for (const p of ['a', 'b', 'c']) t.check(p, 'i', 2);
      expect(t.check('d', 'i', 1)).to.equal('ok');
      expect(t.size).to.equal(3);
      expect(t.peek('d')).to.not.equal(undefined);
    });

    it('throws InvalidArgumentError for a bad maxPeers', () => {
      for (const maxPeers of [0, -1, 1.5, Number.NaN]) {
        expect(() => new SequenceTracker({ maxPeers })).to.throw(InvalidArgumentError, 'maxPeers');
      }
    });

    it('is cheap on the hot path', () => {
      const t = new SequenceTracker();
      const start = process.hrtime.bigint();
      for (let i = 1; i <= 200_000; i++) t.check('acme/web01', 'i', i);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      expect(ms).to.be.lessThan(1000);
    });
  });
});
