/**
 * The default value of every server setting, the setting names and the log levels, as the
 * protocol's `ServerConfigSchema` declares them.
 *
 * @module
 */
import {
  SERVER_CONFIG_DEFAULTS,
  SERVER_LOG_LEVELS,
  SERVER_SETTING_NAMES,
} from '@push-jobs/protocol/internal';

/** Every setting at its default; frozen (copy it before changing anything). */
export const DEFAULT_SERVER_CONFIG = SERVER_CONFIG_DEFAULTS;

/** The setting names, in the schema's order. */
export { SERVER_SETTING_NAMES };

/** The values `log_level` accepts. */
export const LOG_LEVELS = SERVER_LOG_LEVELS;
