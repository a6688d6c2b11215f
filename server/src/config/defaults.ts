/**
 * The default value of every server setting and the setting names, as the
 * protocol's `ServerConfigSchema` declares them.
 *
 * @module
 */
import { SERVER_CONFIG_DEFAULTS, SERVER_SETTING_NAMES } from '@push-jobs/protocol/internal';

/** Every setting at its default; frozen (copy it before changing anything). */
export const DEFAULT_SERVER_CONFIG = SERVER_CONFIG_DEFAULTS;

/** The setting names, in the schema's order. */
export { SERVER_SETTING_NAMES };
