import { expect } from 'chai';
import { Errors } from '@oclif/core';
import {
  ApiConflictError,
  ApiForbiddenError,
  ApiHttpError,
  ApiNotFoundError,
  ApiResponseError,
  ApiServerError,
  ApiTimeoutError,
  ApiTlsError,
  ApiUnauthorizedError,
  ApiUnreachableError,
  ApiValidationError,
  InvalidArgumentError,
  parseQuorum,
  type PushApiError,
} from '@push-jobs/protocol';
import { CliError, EXIT_CODES, toCliError } from '../src/errors.js';

const ctx = { method: 'GET', url: 'http://h/organizations/acme/pushy/jobs/x', serverMessage: 'why' };

describe('exit codes per class of failure', () => {
  const table: [string, PushApiError, number, string, string][] = [
    [
      'unreachable',
      new ApiUnreachableError('cannot reach http://h: refused', ctx),
      6,
      'PJ_ERR_UNREACHABLE',
      'cannot reach http://h: refused; check --server-url and that the push jobs server is running',
    ],
    [
      'TLS',
      new ApiTlsError('TLS connection to https://h failed: x', ctx),
      6,
      'PJ_ERR_TLS',
      "TLS connection to https://h failed: x; pass --ca-file with the server's CA certificate (or --insecure in a lab)",
    ],
    [
      'timeout',
      new ApiTimeoutError('GET u: no answer within 5 ms', { ...ctx, timeoutMs: 5 }),
      6,
      'PJ_ERR_TIMEOUT',
      'GET u: no answer within 5 ms; check that the server is healthy, or raise --request-timeout',
    ],
    [
      '5xx',
      new ApiServerError('m', { ...ctx, status: 502 }),
      6,
      'PJ_ERR_SERVER',
      'the server failed (502): why; try again, or check the server log',
    ],
    [
      'a bad answer',
      new ApiResponseError('GET u: the answer (200) is not JSON', ctx),
      6,
      'PJ_ERR_BAD_RESPONSE',
      'GET u: the answer (200) is not JSON; check --server-url',
    ],
    [
      '405',
      new ApiHttpError('m', { ...ctx, status: 405 }),
      6,
      'PJ_ERR_HTTP',
      'unexpected answer 405 from GET http://h/organizations/acme/pushy/jobs/x: why; check --server-url',
    ],
    [
      '413',
      new ApiHttpError('m', { ...ctx, status: 413 }),
      2,
      'PJ_ERR_HTTP',
      'unexpected answer 413 from GET http://h/organizations/acme/pushy/jobs/x: why; check --server-url',
    ],
    [
      '401',
      new ApiUnauthorizedError('m', { ...ctx, status: 401 }),
      5,
      'PJ_ERR_AUTHENTICATION',
      "authentication as 'alice' failed (401): why; check --user and --key (the key must be that user's or client's private key) and the clock",
    ],
    [
      '403',
      new ApiForbiddenError('m', { ...ctx, status: 403 }),
      5,
      'PJ_ERR_FORBIDDEN',
      "permission denied as 'alice' (403): why; ask an organization admin for access (groups pushy_job_readers/pushy_job_writers or admins)",
    ],
    ['404', new ApiNotFoundError('m', { ...ctx, status: 404 }), 4, 'PJ_ERR_NOT_FOUND', 'why; try again'],
    [
      '400',
      new ApiValidationError('m', { ...ctx, status: 400 }),
      2,
      'PJ_ERR_VALIDATION',
      'the server rejected the request (400): why',
    ],
    [
      '409',
      new ApiConflictError('m', { ...ctx, status: 409 }),
      7,
      'PJ_ERR_CONFLICT',
      'the request conflicts with the current state (409): why',
    ],
  ];
  for (const [what, err, exitCode, code, message] of table) {
    it(`${what}: exit ${exitCode}`, () => {
      const out = toCliError(err, { user: 'alice', notFoundHint: 'try again' });
      expect(out).to.be.instanceOf(CliError);
      expect({ code: out.code, exitCode: out.exitCode, message: out.message }).to.deep.equal({
        code,
        exitCode,
        message,
      });
      expect(out.cause).to.equal(err);
    });
  }

  it('a 404 without a server message names the subject', () => {
    const err = new ApiNotFoundError('m', { method: 'GET', url: 'u', status: 404 });
    expect(toCliError(err, { subject: "job 'x'" }).message).to.equal("job 'x' was not found");
  });

  it('protocol argument errors (quorum) and oclif parse errors are usage errors (2)', () => {
    let quorum: unknown;
    try {
      parseQuorum('abc', 2);
    } catch (e) {
      quorum = e;
    }
    expect(toCliError(quorum)).to.deep.include({ code: 'PJ_ERR_INVALID_QUORUM', exitCode: 2 });
    expect(toCliError(new InvalidArgumentError('bad'))).to.deep.include({
      code: 'PJ_ERR_INVALID_ARGUMENT',
      exitCode: 2,
    });
    expect(toCliError(new Errors.CLIError('Unexpected\nthing', { exit: 2 }))).to.deep.include({
      code: 'PJ_ERR_USAGE',
      message: 'Unexpected thing',
      exitCode: 2,
    });
  });

  it('anything else is an internal error (70) that asks for --debug', () => {
    expect(toCliError(new TypeError('x is undefined'))).to.deep.include({
      code: 'PJ_ERR_INTERNAL',
      exitCode: 70,
      message: 'internal error: x is undefined (run with --debug for details, and please report it)',
    });
  });

  it('the documented table', () => {
    expect(EXIT_CODES).to.deep.equal({
      JOB_FAILED: 1,
      USAGE: 2,
      CONFIG: 3,
      NOT_FOUND: 4,
      AUTH: 5,
      SERVER: 6,
      CONFLICT: 7,
      INTERNAL: 70,
      INTERRUPTED: 130,
    });
  });
});
