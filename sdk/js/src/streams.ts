/** Line-oriented readers of streaming answers: NDJSON and Server-Sent Events. */

/** The lines of a body (without their `\n` or `\r\n`), read as they arrive. Breaking out cancels the body. */
export async function* lines(body: ReadableStream<Uint8Array> | null): AsyncGenerator<string, void, undefined> {
  if (body === null) return;
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  let buffered = '';
  let done = false;
  try {
    while (!done) {
      const chunk = await reader.read();
      done = chunk.done;
      buffered += done ? decoder.decode() : decoder.decode(chunk.value, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        yield line.endsWith('\r') ? line.slice(0, -1) : line;
      }
    }
    if (buffered !== '') yield buffered;
  } finally {
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** The JSON values of a newline-delimited JSON body, one per non-empty line. */
export async function* ndjson<T>(body: ReadableStream<Uint8Array> | null): AsyncGenerator<T, void, undefined> {
  for await (const line of lines(body)) {
    if (line.trim() === '') continue;
    yield JSON.parse(line) as T;
  }
}

/** One Server-Sent Event. */
export interface ServerSentEvent {
  /** The `event:` field (`message` when absent). */
  event: string;
  /** The `id:` field, or the last one seen (SSE's last event id). */
  id: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
}

/** The events of a `text/event-stream` body, by the HTML specification's parsing rules. */
export async function* serverSentEvents(body: ReadableStream<Uint8Array> | null): AsyncGenerator<ServerSentEvent, void, undefined> {
  let event = '';
  let data: string[] = [];
  let lastId = '';
  for await (const line of lines(body)) {
    if (line === '') {
      if (data.length > 0) yield { event: event || 'message', id: lastId, data: data.join('\n') };
      event = '';
      data = [];
      continue;
    }
    if (line.startsWith(':')) continue; // a comment: the server's heartbeat
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id' && !value.includes('\0')) lastId = value;
  }
}
