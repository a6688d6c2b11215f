/**
 * Parsing Server-Sent Events (the job and organization feeds, spec 7) as the WHATWG
 * `EventSource` does: `event:`, `id:`, `data:` and `retry:` fields, comments (`:keepalive`),
 * any of `\r\n`, `\n` or `\r` as line ends, an event dispatched on a blank line. The line
 * and field parsing is `eventsource-parser`'s; this module adds what a feed reader needs on
 * top: the last event id that carries over to later events (for `Last-Event-ID`), the retry
 * and comment counts, and a bound on what one event may buffer.
 *
 * One liberty: at the end of the stream a last event without its blank line is still
 * dispatched ({@link SseParser.end}), because the original push-jobs server never terminated
 * the last event of a finished job (ours always does).
 *
 * @module
 */
import { createParser, type EventSourceParser, type ParseError } from 'eventsource-parser';

/** One event as it arrived: its name, id and data text. */
export interface SseMessage {
  /** The `event:` field; `message` when the event had none. */
  event: string;
  /** The last `id:` seen on the stream (it carries over to later events), if any. */
  id: string | undefined;
  /** The `data:` lines joined with `\n`. */
  data: string;
}

/** One event of a push-jobs feed, its data parsed. */
export interface ParsedFeedEvent<T = unknown> {
  /** The event name: `start`, `quorum_vote`, `run_complete`, `job_complete`, `summary`, ... */
  event: string;
  /** `job-N`, `org-N`, `start_id`, ...; send it back as `Last-Event-ID` to resume. */
  id: string | undefined;
  /** The data parsed as JSON, or the text when it is not JSON. */
  data: T;
  /** The data text as received. */
  rawData: string;
}

/** Turns an {@link SseMessage} into a {@link ParsedFeedEvent}, parsing its data as JSON when it is. */
export function toFeedEvent(message: SseMessage): ParsedFeedEvent {
  let data: unknown = message.data;
  try {
    data = JSON.parse(message.data);
  } catch {
    // Not JSON: keep the text.
  }
  return { event: message.event, id: message.id, data, rawData: message.data };
}

/** What one event may buffer by default (line and data text, in characters): 16 MiB. */
export const DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024;

/** An event (or line) larger than the parser's bound: the stream is not read further. */
export class SseEventTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`an event of the feed is larger than ${limit} characters`);
    this.name = 'SseEventTooLargeError';
  }
}

/**
 * An incremental SSE parser: {@link push} text as it arrives (chunks may split lines and
 * events anywhere), get back the events completed by it; {@link end} at the end of the stream.
 */
export class SseParser {
  readonly #parser: EventSourceParser;
  readonly #maxEventSize: number;
  #out: SseMessage[] = [];
  #tooLarge = false;
  #lastEventId = '';
  #retry: number | undefined;
  #comments = 0;

  /**
   * @param options.maxEventSize - what one event (its unfinished line and data) may buffer, in
   *   characters; past it {@link push} throws {@link SseEventTooLargeError}.
   */
  constructor(options: { maxEventSize?: number | undefined } = {}) {
    this.#maxEventSize = options.maxEventSize ?? DEFAULT_MAX_EVENT_SIZE;
    this.#parser = createParser({
      onEvent: (event) => {
        // The library gives an event the id of its own `id:` field only; EventSource keeps
        // the last one for the events after it.
        if (event.id !== undefined) this.#lastEventId = event.id;
        this.#out.push({ event: event.event ?? 'message', id: this.lastEventId, data: event.data });
      },
      onRetry: (ms) => {
        this.#retry = ms;
      },
      onComment: () => {
        this.#comments++;
      },
      onError: (err: ParseError) => {
        // Unknown fields and bad retry values are ignored, as EventSource does.
        if (err.type === 'max-buffer-size-exceeded') this.#tooLarge = true;
      },
      maxBufferSize: this.#maxEventSize,
    });
  }

  /** The `id` to send as `Last-Event-ID` when reconnecting, or `undefined`. */
  get lastEventId(): string | undefined {
    return this.#lastEventId === '' ? undefined : this.#lastEventId;
  }

  /** The last `retry:` value, in milliseconds. */
  get retry(): number | undefined {
    return this.#retry;
  }

  /** How many comment lines (such as `:keepalive`) were seen. */
  get comments(): number {
    return this.#comments;
  }

  /**
   * Feeds decoded text; returns the events it completed, in order.
   *
   * @throws SseEventTooLargeError when an event outgrows the bound (then, and after, nothing
   *   more is parsed).
   */
  push(text: string): SseMessage[] {
    if (this.#tooLarge) throw new SseEventTooLargeError(this.#maxEventSize);
    this.#parser.feed(text);
    return this.#take();
  }

  /**
   * Ends the stream: a last line without its line end is processed, and an event without its
   * blank line is dispatched (see the module notes).
   */
  end(): SseMessage[] {
    if (this.#tooLarge) return [];
    // A line end closes a last line (or completes a CR split from its LF); a blank line then
    // dispatches what is pending, and is a no-op when nothing is.
    this.#parser.feed('\n\n');
    return this.#take();
  }

  #take(): SseMessage[] {
    const out = this.#out;
    this.#out = [];
    if (this.#tooLarge) throw new SseEventTooLargeError(this.#maxEventSize);
    return out;
  }
}
