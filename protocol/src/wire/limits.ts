/**
 * Size, time and memory limits of the ZeroMQ message codec (server-protocol.md 5.1, 6).
 *
 * @module
 */

/** A header frame larger than this many bytes is rejected (`pushy_messaging.hrl`). */
export const MAX_HEADER_BYTES = 2048;

/** Default largest JSON body frame, in bytes (`max_body_size`, also sent in the config response). */
export const DEFAULT_MAX_BODY_BYTES = 65_536;

/** Default largest allowed distance between a message's `timestamp` and the receiver's clock, in seconds (`max_time_skew`). */
export const DEFAULT_MAX_MESSAGE_SKEW_SECONDS = 300;

/** Length of an HMAC session key, in bytes. */
export const SESSION_KEY_BYTES = 32;

/** Length of an HMAC-SHA256 digest, in bytes. */
export const HMAC_SHA256_BYTES = 32;

/** Default number of peers a {@link SequenceTracker} remembers before it evicts the least recently used. */
export const DEFAULT_MAX_SEQUENCE_PEERS = 100_000;
