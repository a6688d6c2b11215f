/**
 * Flags shared by `push-jobs-server` commands. Every setting is a flag in kebab-case
 * (`--api-port`) and, hidden from the help, in snake-case (`--api_port`), as before.
 *
 * @module
 */
import { Flags } from '@oclif/core';
import { DEFAULT_SERVER_CONFIG, SERVER_SETTING_NAMES } from '../config/defaults.js';
import { CONFIG_ENV } from './context.js';

/** A flag that also has a hidden snake-case spelling. */
function withSnakeSpelling<T>(kebab: string, make: (hidden: boolean) => T): Record<string, T> {
  const snake = kebab.replace(/-/g, '_');
  return snake === kebab ? { [kebab]: make(false) } : { [kebab]: make(false), [snake]: make(true) };
}

/** `--config FILE`. */
export const configFlag = {
  config: Flags.string({
    description: `JSON config file (default: $${CONFIG_ENV}, if set).`,
    helpValue: 'FILE',
  }),
};

/** Where the store is: `--config`, `--data-dir`, `--database-url`. */
export const storeFlags = {
  ...configFlag,
  ...withSnakeSpelling('data-dir', (hidden) =>
    Flags.string({
      description: `Data directory (default: ${DEFAULT_SERVER_CONFIG.data_dir}); also PUSH_JOBS_DATA_DIR.`,
      helpValue: 'DIR',
      hidden,
    }),
  ),
  ...withSnakeSpelling('database-url', (hidden) =>
    Flags.string({
      description:
        'SQLite path (relative to the data dir) or postgres://... URL; also PUSH_JOBS_DATABASE_URL.',
      helpValue: 'URL',
      hidden,
    }),
  ),
};

/** Every setting as a flag, `--api-port` shown and `--api_port` hidden. */
export function settingFlags(): Record<string, ReturnType<typeof Flags.string>> {
  const flags: Record<string, ReturnType<typeof Flags.string>> = {};
  for (const name of SERVER_SETTING_NAMES) {
    const kebab = name.replace(/_/g, '-');
    const fallback = DEFAULT_SERVER_CONFIG[name];
    Object.assign(
      flags,
      withSnakeSpelling(kebab, (hidden) =>
        Flags.string({
          description: `Setting ${name} (default: ${fallback === null ? 'none' : String(fallback)}).`,
          helpValue: 'VALUE',
          hidden,
        }),
      ),
    );
  }
  return flags;
}

/** `--key-out FILE | --public-key FILE` of the `create` commands. */
export const keyFlags = {
  'key-out': Flags.string({
    description: 'Where to write the generated private key (default: <data_dir>/keys/NAME.pem).',
    helpValue: 'FILE',
  }),
  'public-key': Flags.string({
    description: 'Use this PEM public key instead of generating a pair.',
    helpValue: 'FILE',
  }),
};

/** `--yes`, which a delete needs. */
export const yesFlag = {
  yes: Flags.boolean({ description: 'Confirm the deletion (required).' }),
};
