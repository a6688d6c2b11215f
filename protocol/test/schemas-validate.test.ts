import { Type } from '@sinclair/typebox';
import { expect } from 'chai';
import { ValidationError } from '../src/errors.js';
import { MAX_STORED_INTEGER, MAX_TIMER_SECONDS } from '../src/constants.js';
import {
  HttpDateSchema,
  JobIdSchema,
  NodeNameSchema,
  OrgNameSchema,
  StringEnum,
  UuidSchema,
} from '../src/schemas/common.js';
import { MAX_JOB_SEARCH_LENGTH } from '../src/schemas/rest.js';
import {
  JOB_REQUEST_ERRORS,
  checkJobRequest,
  compileValidator,
  getAjv,
  hasDuplicateEnvKey,
  strictBase64DecodedLength,
  validators,
} from '../src/schemas/validate.js';

describe('compileValidator', () => {
  const schema = Type.Object(
    { a: Type.Integer(), b: Type.Optional(Type.String()) },
    { additionalProperties: false },
  );

  it('check, assert and errors agree', () => {
    const v = compileValidator(schema, 'thing');
    expect(v.check({ a: 1 })).to.equal(true);
    expect(v.assert({ a: 1, b: 'x' })).to.deep.equal({ a: 1, b: 'x' });
    expect(v.errors({ a: 1 })).to.deep.equal([]);
    expect(v.check({ a: 'x', c: 1 })).to.equal(false);
    expect(v.errors({ a: 'x', c: 1 })).to.deep.equal([
      "/ must NOT have additional properties 'c'",
      '/a must be integer',
    ]);
    expect(() => v.assert({ a: 'x' }))
      .to.throw(ValidationError, 'invalid thing: /a must be integer')
      .with.property('code', 'PJ_ERR_VALIDATION');
  });

  it('never mutates or coerces the input', () => {
    const v = compileValidator(
      Type.Object({ n: Type.Number(), d: Type.Optional(Type.String({ default: 'x' })) }),
    );
    const input = { n: '1' };
    expect(v.check(input)).to.equal(false);
    expect(input).to.deep.equal({ n: '1' });
    const ok: Record<string, unknown> = { n: 1 };
    expect(v.check(ok)).to.equal(true);
    expect(ok).to.deep.equal({ n: 1 });
  });

  it('compiles once per schema and shares one Ajv instance', () => {
    const a = compileValidator(schema);
    const b = compileValidator(schema);
    a.check({ a: 1 });
    expect(getAjv()).to.equal(getAjv());
    expect(b.check({ a: 2 })).to.equal(true);
    expect(a.schema).to.equal(schema);
  });

  it('applies formats from ajv-formats', () => {
    const v = compileValidator(Type.String({ format: 'uri' }));
    expect(v.check('https://x.example/a')).to.equal(true);
    expect(v.check('not a uri')).to.equal(false);
  });

  it('exposes a validator for every schema', () => {
    expect(Object.keys(validators)).to.include.members([
      'clientMessage',
      'serverMessage',
      'jobCreation',
      'agentConfig',
      'configDocument',
      'job',
      'jobList',
      'nodeState',
      'nodeStateList',
      'serverStatus',
      'authErrorBody',
      'validationErrorBody',
    ]);
  });
});

describe('common schemas', () => {
  it('JobId', () => {
    const v = compileValidator(JobIdSchema);
    expect(v.check('0123456789abcdef0123456789abcdef')).to.equal(true);
    expect(v.check('0123456789ABCDEF0123456789abcdef')).to.equal(false);
    expect(v.check('0123')).to.equal(false);
  });

  it('NodeName follows Chef node name rules', () => {
    const v = compileValidator(NodeNameSchema);
    for (const ok of ['web01', 'web01.example.com', 'a_b-c:d', 'X']) expect(v.check(ok), ok).to.equal(true);
    for (const bad of ['', 'a b', 'a/b', 'é', 'x'.repeat(256)]) expect(v.check(bad), bad).to.equal(false);
    expect(v.check('x'.repeat(255))).to.equal(true);
  });

  it('OrgName', () => {
    const v = compileValidator(OrgNameSchema);
    for (const ok of ['acme', 'my-org_1']) expect(v.check(ok)).to.equal(true);
    for (const bad of ['', 'Acme', 'a.b', 'a b']) expect(v.check(bad)).to.equal(false);
  });

  it('HttpDate accepts RFC 1123 only', () => {
    const v = compileValidator(HttpDateSchema);
    expect(v.check('Tue, 04 Sep 2012 23:01:02 GMT')).to.equal(true);
    expect(v.check('Tuesday, 04-Sep-12 23:01:02 GMT')).to.equal(false);
    expect(v.check('2012-09-04T23:01:02Z')).to.equal(false);
  });

  it('Uuid', () => {
    const v = compileValidator(UuidSchema);
    expect(v.check('6f1c0b7e-3d2a-4c55-9a0e-2b8f4d1e7c90')).to.equal(true);
    expect(v.check('6f1c0b7e3d2a4c559a0e2b8f4d1e7c90')).to.equal(false);
  });

  it('StringEnum', () => {
    const v = compileValidator(StringEnum(['a', 'b'] as const));
    expect(v.check('a')).to.equal(true);
    expect(v.errors('c')).to.deep.equal(['/ must be equal to one of the allowed values: a, b']);
  });
});

describe('checkJobRequest', () => {
  const good = { command: 'chef-client', nodes: ['web01'] };
  const E = JOB_REQUEST_ERRORS;

  it('accepts a minimal and a full body, which also pass the schema', () => {
    const full = {
      command: 'chef-client',
      nodes: ['a', 'b'],
      run_timeout: 0,
      quorum: 999,
      user: 'deploy',
      dir: '/srv',
      env: { A: '1' },
      file: 'base64:aGVsbG8=',
      capture_output: true,
    };
    for (const body of [good, full, { ...good, command: '' }]) {
      const result = checkJobRequest(body, JSON.stringify(body));
      expect(result).to.deep.equal({ ok: true, value: body });
      expect(validators.jobCreation.check(body)).to.equal(true);
    }
  });

  const table: [string, unknown, string][] = [
    ['a non-object body (array)', [], E.notAnObject],
    ['a non-object body (null)', null, E.notAnObject],
    ['a non-object body (string)', 'x', E.notAnObject],
    ['a missing command', { nodes: ['a'] }, E.command],
    ['a null command', { command: null, nodes: ['a'] }, E.command],
    ['a numeric command', { command: 1, nodes: ['a'] }, E.command],
    ['a bad command and an unknown key', { command: 1, nodes: ['a'], bogus: 1 }, E.command],
    ['a bad command and bad nodes', { command: 1, nodes: 'a' }, E.command],
    ['missing nodes', { command: 'x' }, E.nodes],
    ['null nodes', { command: 'x', nodes: null }, E.nodes],
    ['nodes not an array', { command: 'x', nodes: 'a' }, E.nodes],
    ['a non-string node', { command: 'x', nodes: ['a', 1] }, E.nodes],
    ['bad nodes and a bad run_timeout', { command: 'x', nodes: [1], run_timeout: 'x' }, E.nodes],
    ['a string run_timeout', { ...good, run_timeout: '10' }, E.runTimeoutType],
    ['a null run_timeout', { ...good, run_timeout: null }, E.runTimeoutType],
    ['a boolean run_timeout', { ...good, run_timeout: true }, E.runTimeoutType],
    ['an array run_timeout', { ...good, run_timeout: [] }, E.runTimeoutType],
    ['an object run_timeout', { ...good, run_timeout: {} }, E.runTimeoutType],
    ['bad run_timeout and quorum types', { ...good, run_timeout: 'x', quorum: 'y' }, E.runTimeoutType],
    ['a string quorum', { ...good, quorum: '50%' }, E.quorumType],
    ['bad quorum and capture_output types', { ...good, quorum: null, capture_output: 1 }, E.quorumType],
    ['a string capture_output', { ...good, capture_output: 'true' }, E.captureOutputType],
    ['a bad capture_output and a bad user', { ...good, capture_output: 0, user: 1 }, E.captureOutputType],
    ['a numeric user', { ...good, user: 5 }, E.unknown],
    ['a null dir', { ...good, dir: null }, E.unknown],
    ['an array env', { ...good, env: ['A=1'] }, E.unknown],
    ['a string env', { ...good, env: 'A=1' }, E.unknown],
    ['a non-string env value', { ...good, env: { A: 1 } }, E.unknown],
    ['a numeric file', { ...good, file: 5 }, E.unknown],
    ['a bad user and an unknown key', { ...good, user: 5, extra: true }, E.unknown],
    ['an unknown key', { ...good, extra: true }, E.invalidKey],
    ['the v1 "id" key', { ...good, id: 'x' }, E.invalidKey],
    ['an unknown key and empty nodes', { command: 'x', nodes: [], extra: 1 }, E.invalidKey],
    ['empty nodes', { command: 'x', nodes: [] }, E.nodes],
    ['empty nodes and a bad file', { command: 'x', nodes: [], file: 'x' }, E.nodes],
    ['a file without prefix', { ...good, file: 'hello' }, E.filePrefix],
    ['a file with an uppercase prefix', { ...good, file: 'RAW:hello' }, E.filePrefix],
    ['bad base64 (characters)', { ...good, file: 'base64:a$==' }, E.fileBase64],
    ['bad base64 (length)', { ...good, file: 'base64:aGVsbG8' }, E.fileBase64],
    ['bad base64 (whitespace)', { ...good, file: 'base64:aGVs bG8=' }, E.fileBase64],
    ['bad base64 (url-safe alphabet)', { ...good, file: 'base64:-_-_' }, E.fileBase64],
    ['bad base64 (padding in the middle)', { ...good, file: 'base64:aA==aGVs' }, E.fileBase64],
    ['a fractional run_timeout', { ...good, run_timeout: 1.5 }, E.runTimeoutValue],
    ['a negative run_timeout', { ...good, run_timeout: -1 }, E.runTimeoutValue],
    ['a fractional quorum', { ...good, quorum: 0.5 }, E.quorumValue],
    ['a negative quorum', { ...good, quorum: -2 }, E.quorumValue],
    ['a negative quorum and a bad file', { ...good, quorum: -2, file: 'x' }, E.filePrefix],
    // Ours, after every check of the original: what the timers and stores cannot hold.
    [
      'a run_timeout one past the longest timer',
      { ...good, run_timeout: MAX_TIMER_SECONDS + 1 },
      E.runTimeoutMax,
    ],
    ['a run_timeout of 2^31', { ...good, run_timeout: 2 ** 31 }, E.runTimeoutMax],
    ['a quorum of 2^31', { ...good, quorum: 2 ** 31 }, E.quorumMax],
    ['an empty node name', { ...good, nodes: ['a', ''] }, E.nodeName],
    ['a NUL in a node name', { ...good, nodes: ['a\u0000b'] }, E.nodeName],
    ['a NUL in the command', { ...good, command: 'chef-client\u0000' }, E.commandNul],
    ['a NUL in user', { ...good, user: 'ro\u0000ot' }, E.userNul],
    ['a NUL in dir', { ...good, dir: '/tmp\u0000' }, E.dirNul],
    ['a NUL in an env name', { ...good, env: { 'A\u0000': '1' } }, E.envNul],
    ['a NUL in an env value', { ...good, env: { A: '\u0000' } }, E.envNul],
    ['a NUL in a raw: file', { ...good, file: 'raw:a\u0000b' }, E.fileNul],
    ['an empty node name and a bad quorum', { ...good, nodes: [''], quorum: -1 }, E.quorumValue],
  ];
  for (const [what, body, error] of table) {
    it(`${what} gives "${error}"`, () => {
      expect(checkJobRequest(body, JSON.stringify(body))).to.deep.equal({ ok: false, error });
    });
  }

  it('uses the exact spec messages', () => {
    expect(E.command).to.equal('invalid command supplied');
    expect(E.nodes).to.equal('at least one node must be supplied');
    expect(E.runTimeoutType).to.equal('invalid type supplied for run_timeout (expected a number)');
    expect(E.quorumType).to.equal('invalid type supplied for quorum (expected a number)');
    expect(E.captureOutputType).to.equal('invalid type supplied for capture_output (expected a boolean)');
    expect(E.unknown).to.equal('an unknown validation error has occurred');
    expect(E.invalidKey).to.equal('invalid key supplied');
    expect(E.duplicateEnvKey).to.equal('invalid environment value (duplicate key)');
    expect(E.filePrefix).to.equal("invalid file contents (expected 'base64:...' or 'raw:...')");
    expect(E.fileBase64).to.equal("invalid file contents (couldn't decode base64 string)");
    expect(E.fileSize).to.equal('invalid file size (must be <= 100000 bytes)');
  });

  it('detects duplicate env keys from the raw JSON', () => {
    const raw = '{"command":"x","nodes":["a"],"env":{"A":"1","B":"2","A":"3"}}';
    const body: unknown = JSON.parse(raw);
    expect(checkJobRequest(body, raw)).to.deep.equal({ ok: false, error: E.duplicateEnvKey });
    // Without the raw text the duplicate cannot be seen: JSON.parse kept the last value.
    expect(checkJobRequest(body)).to.deep.equal({
      ok: true,
      value: { command: 'x', nodes: ['a'], env: { A: '3', B: '2' } },
    });
  });

  it('duplicate env keys come after empty nodes and before file checks', () => {
    const emptyNodes = '{"command":"x","nodes":[],"env":{"A":"1","A":"1"}}';
    expect(checkJobRequest(JSON.parse(emptyNodes), emptyNodes)).to.deep.equal({ ok: false, error: E.nodes });
    const badFile = '{"command":"x","nodes":["a"],"env":{"A":"1","A":"1"},"file":"zzz"}';
    expect(checkJobRequest(JSON.parse(badFile), badFile)).to.deep.equal({
      ok: false,
      error: E.duplicateEnvKey,
    });
  });

  it('limits file content to 100000 bytes, for raw: and base64:', () => {
    const at = { ...good, file: `raw:${'x'.repeat(100_000)}` };
    const over = { ...good, file: `raw:${'x'.repeat(100_001)}` };
    expect(checkJobRequest(at).ok).to.equal(true);
    expect(checkJobRequest(over)).to.deep.equal({ ok: false, error: E.fileSize });
    const b64At = { ...good, file: `base64:${Buffer.alloc(100_000, 7).toString('base64')}` };
    const b64Over = { ...good, file: `base64:${Buffer.alloc(100_001, 7).toString('base64')}` };
    expect(checkJobRequest(b64At).ok).to.equal(true);
    expect(checkJobRequest(b64Over)).to.deep.equal({ ok: false, error: E.fileSize });
  });

  it('counts raw: content in UTF-8 bytes', () => {
    const multiByte = { ...good, file: `raw:${'é'.repeat(50_001)}` }; // 100,002 bytes
    expect(checkJobRequest(multiByte)).to.deep.equal({ ok: false, error: E.fileSize });
    expect(checkJobRequest({ ...good, file: `raw:${'é'.repeat(50_000)}` }).ok).to.equal(true);
  });

  it('accepts the largest run_timeout and quorum, and the schema agrees on the limits', () => {
    const at = { ...good, run_timeout: MAX_TIMER_SECONDS, quorum: MAX_STORED_INTEGER };
    expect(MAX_TIMER_SECONDS).to.equal(2_147_483);
    expect(checkJobRequest(at).ok).to.equal(true);
    expect(validators.jobCreation.check(at)).to.equal(true);
    for (const bad of [
      { ...good, run_timeout: MAX_TIMER_SECONDS + 1 },
      { ...good, quorum: MAX_STORED_INTEGER + 1 },
      { ...good, nodes: [''] },
      { ...good, nodes: ['a\u0000'] },
      { ...good, command: '\u0000' },
      { ...good, env: { 'A\u0000': '1' } },
      { ...good, env: { A: '\u0000' } },
      { ...good, file: 'raw:\u0000' },
    ]) {
      expect(validators.jobCreation.check(bad), JSON.stringify(bad)).to.equal(false);
    }
    // A NUL inside base64 text cannot occur; a base64 file may carry NUL bytes.
    expect(
      checkJobRequest({ ...good, file: `base64:${Buffer.from('a\u0000b').toString('base64')}` }).ok,
    ).to.equal(true);
  });

  it('accepts empty raw: and base64: payloads', () => {
    expect(checkJobRequest({ ...good, file: 'raw:' }).ok).to.equal(true);
    expect(checkJobRequest({ ...good, file: 'base64:' }).ok).to.equal(true);
  });
});

describe('checkJobRequest: targeting and rollouts', () => {
  const E = JOB_REQUEST_ERRORS;

  it('accepts a search without nodes, with nodes, and with an empty nodes list (dropped)', () => {
    const bodies = [
      { command: 'chef-client', search: 'role:web AND platform:debian' },
      { command: 'chef-client', nodes: ['a'], search: 'tags:canary', allow_empty_search: true },
      { command: 'x', search: 'role:web', max_concurrency: '10%', max_errors: 0 },
      { command: 'x', nodes: ['a'], max_concurrency: 1, max_errors: '100%' },
      { command: 'x', search: 'a'.repeat(MAX_JOB_SEARCH_LENGTH) },
    ];
    for (const body of bodies) {
      expect(checkJobRequest(body, JSON.stringify(body))).to.deep.equal({ ok: true, value: body });
      expect(validators.jobCreation.check(body), JSON.stringify(body)).to.equal(true);
    }
    const emptyNodes = { command: 'x', nodes: [], search: 'role:web' };
    expect(checkJobRequest(emptyNodes)).to.deep.equal({
      ok: true,
      value: { command: 'x', search: 'role:web' },
    });
    expect(emptyNodes.nodes).to.deep.equal([]);
  });

  it('keeps the original message for a body with neither nodes nor search', () => {
    expect(checkJobRequest({ command: 'x' })).to.deep.equal({ ok: false, error: E.nodes });
    expect(checkJobRequest({ command: 'x', nodes: [] })).to.deep.equal({ ok: false, error: E.nodes });
    expect(checkJobRequest({ command: 'x', allow_empty_search: true })).to.deep.equal({
      ok: false,
      error: E.nodes,
    });
    // nodes of a wrong type stay a nodes error, search or not.
    expect(checkJobRequest({ command: 'x', nodes: 'a', search: 'x:y' })).to.deep.equal({
      ok: false,
      error: E.nodes,
    });
  });

  const table: [string, Record<string, unknown>, string][] = [
    ['a numeric search', { command: 'x', search: 5 }, E.searchType],
    ['a null search', { command: 'x', nodes: ['a'], search: null }, E.searchType],
    ['an empty search', { command: 'x', search: '' }, E.searchEmpty],
    ['a blank search', { command: 'x', search: ' \t ' }, E.searchEmpty],
    [
      'a search one past the limit',
      { command: 'x', search: 'a'.repeat(MAX_JOB_SEARCH_LENGTH + 1) },
      E.searchLength,
    ],
    ['a NUL in the search', { command: 'x', search: 'role:web\u0000' }, E.searchNul],
    [
      'allow_empty_search as a string',
      { command: 'x', search: 'a:b', allow_empty_search: 'yes' },
      E.allowEmptySearchType,
    ],
    ['max_concurrency 0', { command: 'x', nodes: ['a'], max_concurrency: 0 }, E.maxConcurrency],
    ['max_concurrency 1.5', { command: 'x', nodes: ['a'], max_concurrency: 1.5 }, E.maxConcurrency],
    ['max_concurrency "0%"', { command: 'x', nodes: ['a'], max_concurrency: '0%' }, E.maxConcurrency],
    ['max_concurrency "101%"', { command: 'x', nodes: ['a'], max_concurrency: '101%' }, E.maxConcurrency],
    ['max_concurrency "5"', { command: 'x', nodes: ['a'], max_concurrency: '5' }, E.maxConcurrency],
    ['max_concurrency 2^31', { command: 'x', nodes: ['a'], max_concurrency: 2 ** 31 }, E.maxConcurrency],
    ['max_errors -1', { command: 'x', nodes: ['a'], max_errors: -1 }, E.maxErrors],
    ['max_errors "05%"', { command: 'x', nodes: ['a'], max_errors: '05%' }, E.maxErrors],
    ['max_errors true', { command: 'x', nodes: ['a'], max_errors: true }, E.maxErrors],
  ];
  for (const [what, body, error] of table) {
    it(`${what} gives "${error}"`, () => {
      expect(checkJobRequest(body, JSON.stringify(body))).to.deep.equal({ ok: false, error });
      // The schema has no rule for a blank query; the rest it refuses too.
      if (error !== E.searchEmpty || body.search === '')
        expect(validators.jobCreation.check(body)).to.equal(false);
    });
  }

  it('accepts the rollout bounds the schema accepts', () => {
    for (const [max_concurrency, max_errors] of [
      [1, 0],
      [MAX_STORED_INTEGER, MAX_STORED_INTEGER],
      ['1%', '0%'],
      ['100%', '100%'],
      ['99%', '9%'],
    ] as const) {
      const body = { command: 'x', nodes: ['a'], max_concurrency, max_errors };
      expect(checkJobRequest(body).ok, JSON.stringify(body)).to.equal(true);
      expect(validators.jobCreation.check(body), JSON.stringify(body)).to.equal(true);
    }
  });

  it('names the field and the accepted forms in its messages', () => {
    expect(E.maxConcurrency).to.equal(
      'invalid value for max_concurrency (expected a count from 1 to 2147483647, or a percentage "1%" to "100%")',
    );
    expect(E.maxErrors).to.contain('max_errors').and.contain('"0%" to "100%"');
    expect(E.searchLength).to.contain(String(MAX_JOB_SEARCH_LENGTH));
  });
});

describe('strictBase64DecodedLength', () => {
  it('decodes canonical padded base64 only', () => {
    expect(strictBase64DecodedLength('')).to.equal(0);
    expect(strictBase64DecodedLength('aGVsbG8=')).to.equal(5);
    expect(strictBase64DecodedLength('aGVsbG8h')).to.equal(6);
    expect(strictBase64DecodedLength('aGk=')).to.equal(2);
    expect(strictBase64DecodedLength('+/+/')).to.equal(3);
    expect(strictBase64DecodedLength('aGk')).to.equal(undefined);
    expect(strictBase64DecodedLength('aGl=')).to.equal(undefined); // non-zero unused bits
    expect(strictBase64DecodedLength('a===')).to.equal(undefined);
    expect(strictBase64DecodedLength('aGVs\nbG8=')).to.equal(undefined);
  });
});

describe('hasDuplicateEnvKey', () => {
  it('finds duplicates in the top-level env object only', () => {
    expect(hasDuplicateEnvKey('{"env":{"A":"1","A":"2"}}')).to.equal(true);
    expect(hasDuplicateEnvKey('{"env":{"A":"1","\\u0041":"2"}}')).to.equal(true);
    expect(hasDuplicateEnvKey(' { "env" : { "A" : "1" , "B" : "2" } } ')).to.equal(false);
    expect(hasDuplicateEnvKey('{"command":"x","command":"y","env":{}}')).to.equal(false);
    expect(hasDuplicateEnvKey('{"x":{"env":{"A":"1","A":"2"}},"env":{"A":"1"}}')).to.equal(false);
    expect(hasDuplicateEnvKey('{"env":{"A":"1"},"env":{"A":"1","A":"1"}}')).to.equal(true);
    expect(
      hasDuplicateEnvKey('{"nodes":["a",{"b":[1,-2.5e3,true,false,null]}],"env":{"a":"\\"}","A":"x"}}'),
    ).to.equal(false);
  });

  it('returns false for malformed text', () => {
    expect(hasDuplicateEnvKey('')).to.equal(false);
    expect(hasDuplicateEnvKey('[]')).to.equal(false);
    expect(hasDuplicateEnvKey('{"env":{"A":"1","A":"2"}')).to.equal(false);
    expect(hasDuplicateEnvKey('{"env":{"A":"1","A":"2"}} x')).to.equal(false);
  });
});
