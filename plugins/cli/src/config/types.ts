/**
 * Connection settings as each source gives them, before they are merged.
 *
 * @module
 */

/** A client key: a file to read, or PEM text given inline (Chef credentials allow both). */
export type KeySetting = { path: string } | { pem: string };

/** The settings one source (flags, environment, a file) provides; every field is optional. */
export interface SourceSettings {
  /** The server URL, with or without `/organizations/ORG`. */
  serverUrl?: string;
  org?: string;
  user?: string;
  key?: KeySetting;
  /** A CA certificate file (PEM) to trust for https. */
  caFile?: string;
  /** Skip TLS verification. */
  insecure?: boolean;
  /** Chef signing protocol version. */
  signVersion?: string;
  /** Request timeout in seconds. */
  requestTimeout?: number;
  /** Seconds a waiting command keeps retrying while the server is unreachable (0: never). */
  reconnectTimeout?: number;
}

/** A source of settings and what it provides: `flag or environment`, a file path, ... */
export interface SettingsSource {
  /** Where the settings come from, for messages: `--server-url`, `~/.chef/credentials [prod]`. */
  name: string;
  settings: SourceSettings;
}
