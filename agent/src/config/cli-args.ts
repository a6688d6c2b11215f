/**
 * Command-line parsing of `push-jobs-client` (client spec A.2).
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { isLogLevel, LOG_LEVELS, UsageError } from '@push-jobs/protocol/lite';
import type { AgentOptions } from './options.js';

// A bad command line is the protocol's UsageError (exit code 2), as for every binary.
export { UsageError };

/** The result of {@link parseAgentArgs}. */
export interface ParsedAgentArgs {
  /** `-h`/`--help` was given: print {@link AGENT_USAGE} and exit 0. */
  help: boolean;
  /** `-v`/`--version` was given: print `Push Client: <VERSION>` and exit 0. */
  version: boolean;
  /** The explicit flags, under their config key names (they override the config file). */
  flags: AgentOptions;
}

/** Usage text of `push-jobs-client`, explaining every option. */
export const AGENT_USAGE = `Usage: push-jobs-client (options)
    -c, --config CONFIG              The configuration file to use (default: the first of
                                     chef-push-client.rb, push-jobs-client.rb, client.rb that exists,
                                     each in /etc/chef then /etc/push-jobs; a .json file is read as JSON)
    -h, --help                       Show this message and exit
    -k, --client_key KEY_FILE        The node's RSA private key (PEM) (also --client-key)
    -l, --log_level LEVEL            Log level: ${LOG_LEVELS.join(', ')} (default: info)
    -L, --logfile LOGLOCATION        Where to log: a file path, STDOUT or STDERR (default: STDOUT)
    -N, --node-name NODE_NAME        The node name (default: the host's FQDN, then its host name)
    -S, --server CHEFSERVERURL       The Chef server URL, ending in /organizations/ORG_NAME
        --chef-server-urls URL       One of several server URLs, tried in the order given (repeat the
                                     flag; each ends in the same /organizations/ORG_NAME); also
                                     --chef_server_urls
    -v, --version                    Show the push jobs client version and exit
    -d, --file_dir DIR               Directory for files sent with jobs (default: /tmp/chef-push)
    -M, --max-body-size BYTES        Largest message the client sends, in bytes (default: 63000)
        --allow_unencrypted          Allow the unencrypted 1.x protocol when the server sends no key
`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
  client_key: { type: 'string', short: 'k' },
  'client-key': { type: 'string' },
  log_level: { type: 'string', short: 'l' },
  logfile: { type: 'string', short: 'L' },
  'node-name': { type: 'string', short: 'N' },
  server: { type: 'string', short: 'S' },
  'chef-server-urls': { type: 'string', multiple: true },
  chef_server_urls: { type: 'string', multiple: true },
  version: { type: 'boolean', short: 'v' },
  file_dir: { type: 'string', short: 'd' },
  'max-body-size': { type: 'string', short: 'M' },
  allow_unencrypted: { type: 'boolean' },
} as const;

type OptionName = keyof typeof OPTIONS;

function isOptionName(name: string): name is OptionName {
  return Object.hasOwn(OPTIONS, name);
}

/**
 * Parses `push-jobs-client`'s arguments (without the node and script paths). A flag given
 * twice (or under two spellings) keeps its last value, except `--chef-server-urls`, whose values
 * add up to a list in the order given.
 *
 * @throws UsageError for an unknown flag, a missing value, a positional argument or a bad
 *   log level.
 */
export function parseAgentArgs(argv: readonly string[]): ParsedAgentArgs {
  let tokens;
  try {
    ({ tokens } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      strict: true,
      allowPositionals: false,
      tokens: true,
    }));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/su, ''), { cause: err });
  }
  const result: ParsedAgentArgs = { help: false, version: false, flags: {} };
  const flags = result.flags;
  for (const token of tokens) {
    if (token.kind !== 'option' || !isOptionName(token.name)) continue;
    const value = token.value ?? '';
    switch (token.name) {
      case 'help':
        result.help = true;
        break;
      case 'version':
        result.version = true;
        break;
      case 'config':
        flags.config_file = value;
        break;
      case 'client_key':
      case 'client-key':
        flags.client_key = value;
        break;
      case 'log_level': {
        const level = value.toLowerCase();
        if (!isLogLevel(level)) {
          throw new UsageError(
            `invalid log level '${value}' for ${token.rawName} (use ${LOG_LEVELS.join(', ')})`,
          );
        }
        flags.log_level = level;
        break;
      }
      case 'logfile':
        flags.log_location = value;
        break;
      case 'node-name':
        flags.node_name = value;
        break;
      case 'server':
        flags.chef_server_url = value;
        break;
      case 'chef-server-urls':
      case 'chef_server_urls':
        (flags.chef_server_urls ??= []).push(value);
        break;
      case 'file_dir':
        flags.file_dir = value;
        break;
      case 'max-body-size':
        flags.max_body_size = value;
        break;
      case 'allow_unencrypted':
        flags.allow_unencrypted = true;
        break;
    }
  }
  return result;
}
