/**
 * Flag definitions shared by the commands: the connection flags every command has, and typed
 * custom flags.
 *
 * @module
 */
import { Errors, Flags } from '@oclif/core';
import { SIGNING_VERSIONS } from '@push-jobs/protocol';

/**
 * A number of seconds; fractions allowed, `min` inclusive. Anything else is a usage error
 * (exit 2), worded as oclif words its integer flags.
 */
export const secondsFlag = Flags.custom<number, { min?: number }>({
  parse: async (input, _ctx, opts) => {
    const value = Number(input);
    const min = opts.min ?? 0;
    if (input.trim() === '' || !Number.isFinite(value) || value < min) {
      throw new Errors.CLIError(`Expected a number of seconds >= ${min} but received: ${input}`);
    }
    return value;
  },
});

const CONNECTION = 'CONNECTION';

/**
 * `--reconnect-timeout` of the commands that wait on a job or feed (`push jobs start`,
 * `push jobs watch`): how long to ride out a server that went away before giving up.
 */
export const reconnectFlags = {
  'reconnect-timeout': secondsFlag({
    env: 'PUSH_JOBS_RECONNECT_TIMEOUT',
    min: 0,
    summary:
      'Seconds to keep retrying while waiting if the server is unreachable (a restart); 0: fail at once. [default: 60]',
    description:
      'While waiting, connection errors (refused, reset, socket hang up, timed out, 502/503/504, a feed the server closed) are retried with backoff; one line on stderr says so and one says when the server is back, then the job is read again. When the server stays unreachable this long, the command fails (exit 6) naming the job. Also PUSH_JOBS_RECONNECT_TIMEOUT, or reconnect_timeout in ~/.push-jobs/config.json.',
  }),
};

/** The connection flags (each with its `PUSH_JOBS_*` environment variable) and `--debug`. */
export const connectionFlags = {
  'server-url': Flags.string({
    env: 'PUSH_JOBS_SERVER_URL',
    helpGroup: CONNECTION,
    summary: 'Push jobs server URL (may end in /organizations/ORG, like chef_server_url).',
  }),
  org: Flags.string({ env: 'PUSH_JOBS_ORG', helpGroup: CONNECTION, summary: 'Organization.' }),
  user: Flags.string({
    env: 'PUSH_JOBS_USER',
    helpGroup: CONNECTION,
    summary: 'User or client name to sign requests as (node_name/client_name).',
  }),
  key: Flags.string({
    env: 'PUSH_JOBS_KEY',
    helpGroup: CONNECTION,
    summary: "Path to that user's RSA private key (client_key).",
  }),
  profile: Flags.string({
    env: 'PUSH_JOBS_PROFILE',
    helpGroup: CONNECTION,
    summary: 'Profile of ~/.chef/credentials to use.',
  }),
  'ca-file': Flags.string({
    env: 'PUSH_JOBS_CA_FILE',
    helpGroup: CONNECTION,
    summary: 'CA certificate (PEM) to trust for https.',
  }),
  insecure: Flags.boolean({
    allowNo: true,
    env: 'PUSH_JOBS_INSECURE',
    helpGroup: CONNECTION,
    summary: 'Do not verify the TLS certificate (labs only).',
  }),
  'sign-version': Flags.string({
    env: 'PUSH_JOBS_SIGN_VERSION',
    helpGroup: CONNECTION,
    options: [...SIGNING_VERSIONS],
    summary: 'Chef request signing version. [default: 1.3]',
  }),
  'request-timeout': secondsFlag({
    env: 'PUSH_JOBS_REQUEST_TIMEOUT',
    helpGroup: CONNECTION,
    min: 0.001,
    summary: 'Seconds to wait for each answer of the server. [default: 30]',
  }),
  debug: Flags.boolean({
    env: 'PUSH_JOBS_DEBUG',
    helpGroup: 'GLOBAL',
    summary: 'Print where each setting came from, and stack traces of errors.',
  }),
};
