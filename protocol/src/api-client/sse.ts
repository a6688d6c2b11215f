/**
 * Parsing Server-Sent Events (the job and organization feeds, spec 7) as the WHATWG
 * `EventSource` does: `event:`, `id:`, `data:` and `retry:` fields, comments (`:keepalive`),
 * any of `\r\n`, `\n` or `\r` as line ends, an event dispatched on a blank line.
 *
 * One liberty: at the end of the stream a last event without its blank line is still
 * dispatched ({@link SseParser.end}), because the original push-jobs server never terminated
 * the last event of a finished job (ours always does).
 *
 * @module
 */

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

/**
 * An incremental SSE parser: {@link push} text as it arrives (chunks may split lines and
 * events anywhere), get back the events completed by it; {@link end} at the end of the stream.
 */
export class SseParser {
  #partial = '';
  #skipLeadingLf = false;
  #eventType = '';
  #data: string[] = [];
  #lastEventId = '';
  #retry: number | undefined;
  #comments = 0;

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

  /** Feeds decoded text; returns the events it completed, in order. */
  push(text: string): SseMessage[] {
    const out: SseMessage[] = [];
    let chunk = text;
    if (this.#skipLeadingLf) {
      if (chunk.startsWith('\n')) chunk = chunk.slice(1);
      if (chunk.length > 0) this.#skipLeadingLf = false;
    }
    let buffer = this.#partial + chunk;
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.#line(buffer.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < buffer.length) {
          if (buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.#skipLeadingLf = true;
        }
      }
      start = i + 1;
    }
    buffer = buffer.slice(start);
    this.#partial = buffer;
    return out;
  }

  /**
   * Ends the stream: a last line without its line end is processed, and an event without its
   * blank line is dispatched (see the module notes).
   */
  end(): SseMessage[] {
    const out: SseMessage[] = [];
    if (this.#partial !== '') {
      this.#line(this.#partial, out);
      this.#partial = '';
    }
    this.#line('', out);
    return out;
  }

  #line(line: string, out: SseMessage[]): void {
    if (line === '') {
      this.#dispatch(out);
      return;
    }
    if (line.startsWith(':')) {
      this.#comments++;
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.#eventType = value;
        break;
      case 'data':
        this.#data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.#lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.#retry = Number(value);
        break;
      default:
        break;
    }
  }

  #dispatch(out: SseMessage[]): void {
    const type = this.#eventType;
    this.#eventType = '';
    if (this.#data.length === 0) return;
    const data = this.#data.join('\n');
    this.#data = [];
    out.push({ event: type === '' ? 'message' : type, id: this.lastEventId, data });
  }
}
