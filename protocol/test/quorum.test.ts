import { expect } from 'chai';
import { ERROR_CODES, InvalidArgumentError } from '../src/errors.js';
import { describeQuorum, formatQuorum, parseQuorum, parseQuorumSpec } from '../src/quorum.js';

function expectQuorumError(fn: () => unknown, message: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).to.be.instanceOf(InvalidArgumentError);
  const err = caught as InvalidArgumentError;
  expect(err.code).to.equal(ERROR_CODES.INVALID_QUORUM);
  expect(err.statusCode).to.equal(400);
  expect(err.message).to.equal(message);
}

const range5 = '(expected a node count from 0 to 5, or a percentage from 0% to 100%)';

describe('parseQuorum', () => {
  const table: [string | number, number, number][] = [
    ['80%', 5, 4],
    ['50%', 3, 2],
    ['50%', 5, 3],
    ['100%', 7, 7],
    ['0%', 4, 0],
    ['1%', 200, 2],
    ['1%', 1, 1],
    ['7%', 100, 7], // knife's float math gives 8 here
    ['0', 3, 0],
    ['8', 10, 8],
    [8, 8, 8],
    [0, 1, 0],
    [' 80% ', 5, 4],
    ['\t3\n', 3, 3],
    ['003', 5, 3],
    ['050%', 4, 2],
  ];
  for (const [spec, nodes, expected] of table) {
    it(`${JSON.stringify(spec)} of ${nodes} nodes is ${expected}`, () => {
      expect(parseQuorum(spec, nodes)).to.equal(expected);
    });
  }

  const bad: [string | number, string][] = [
    ['', `invalid quorum "" ${range5}`],
    ['   ', `invalid quorum "   " ${range5}`],
    ['abc', `invalid quorum "abc" ${range5}`],
    ['abc%', `invalid quorum "abc%" ${range5}`],
    ['%', `invalid quorum "%" ${range5}`],
    ['1e2%', `invalid quorum "1e2%" ${range5}`],
    ['1e2', `invalid quorum "1e2" ${range5}`],
    ['-1', `invalid quorum "-1" ${range5}`],
    [-1, `invalid quorum -1 ${range5}`],
    ['1.5', `invalid quorum "1.5" ${range5}`],
    [1.5, `invalid quorum 1.5 ${range5}`],
    ['12.5%', `invalid quorum "12.5%" ${range5}`],
    ['101%', `invalid quorum "101%" ${range5}`],
    ['-5%', `invalid quorum "-5%" ${range5}`],
    ['80 %', `invalid quorum "80 %" ${range5}`],
    ['+3', `invalid quorum "+3" ${range5}`],
    ['6', `invalid quorum "6" ${range5}`],
    [6, `invalid quorum 6 ${range5}`],
    [Number.NaN, `invalid quorum NaN ${range5}`],
    [Number.POSITIVE_INFINITY, `invalid quorum Infinity ${range5}`],
    ['99999999999999999999', `invalid quorum "99999999999999999999" ${range5}`],
  ];
  for (const [spec, message] of bad) {
    it(`rejects ${JSON.stringify(spec) ?? String(spec)} with 5 nodes`, () => {
      expectQuorumError(() => parseQuorum(spec, 5), message);
    });
  }

  it('rejects a node count that is not an integer >= 1', () => {
    expectQuorumError(() => parseQuorum('50%', 0), 'invalid node count 0 (expected an integer >= 1)');
    expectQuorumError(() => parseQuorum('50%', -2), 'invalid node count -2 (expected an integer >= 1)');
    expectQuorumError(() => parseQuorum('1', 2.5), 'invalid node count 2.5 (expected an integer >= 1)');
    expectQuorumError(
      () => parseQuorum('1', Number.NaN),
      'invalid node count NaN (expected an integer >= 1)',
    );
  });

  it('rejects non-string non-number specs', () => {
    expectQuorumError(
      () => parseQuorum(null as unknown as string, 2),
      'invalid quorum null (expected a node count from 0 to 2, or a percentage from 0% to 100%)',
    );
  });
});

describe('parseQuorumSpec', () => {
  it('parses counts and percentages without a node count', () => {
    expect(parseQuorumSpec('80%')).to.deep.equal({ kind: 'percent', percent: 80 });
    expect(parseQuorumSpec(' 12 ')).to.deep.equal({ kind: 'count', count: 12 });
    expect(parseQuorumSpec(999)).to.deep.equal({ kind: 'count', count: 999 });
  });

  it('rejects malformed specs with the range of a count', () => {
    expectQuorumError(
      () => parseQuorumSpec('x'),
      'invalid quorum "x" (expected a node count a non-negative integer, or a percentage from 0% to 100%)',
    );
    expectQuorumError(
      () => parseQuorumSpec('200%'),
      'invalid quorum "200%" (expected a node count a non-negative integer, or a percentage from 0% to 100%)',
    );
  });
});

describe('formatQuorum', () => {
  it('gives the canonical text of a spec', () => {
    expect(formatQuorum(' 080% ')).to.equal('80%');
    expect(formatQuorum('007')).to.equal('7');
    expect(formatQuorum(3)).to.equal('3');
    expect(formatQuorum({ kind: 'percent', percent: 50 })).to.equal('50%');
    expect(formatQuorum({ kind: 'count', count: 2 })).to.equal('2');
  });

  it('round-trips through parseQuorumSpec', () => {
    for (const spec of ['0%', '100%', '0', '42']) {
      expect(formatQuorum(formatQuorum(spec))).to.equal(spec);
      expect(parseQuorumSpec(formatQuorum(spec))).to.deep.equal(parseQuorumSpec(spec));
    }
  });

  it('rejects malformed specs', () => {
    expect(() => formatQuorum('abc')).to.throw(InvalidArgumentError);
    expect(() => formatQuorum({ kind: 'percent', percent: 1.5 })).to.throw(InvalidArgumentError);
    expect(() => formatQuorum({ kind: 'count', count: -1 })).to.throw(InvalidArgumentError);
  });
});

describe('describeQuorum', () => {
  it('describes a resolved quorum', () => {
    expect(describeQuorum(4, 5)).to.equal('4 of 5 nodes');
    expect(describeQuorum(1, 1)).to.equal('1 of 1 node');
  });
});
