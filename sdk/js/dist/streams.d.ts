/** Line-oriented readers of streaming answers: NDJSON and Server-Sent Events. */
/** The lines of a body (without their `\n` or `\r\n`), read as they arrive. Breaking out cancels the body. */
export declare function lines(body: ReadableStream<Uint8Array> | null): AsyncGenerator<string, void, undefined>;
/** The JSON values of a newline-delimited JSON body, one per non-empty line. */
export declare function ndjson<T>(body: ReadableStream<Uint8Array> | null): AsyncGenerator<T, void, undefined>;
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
export declare function serverSentEvents(body: ReadableStream<Uint8Array> | null): AsyncGenerator<ServerSentEvent, void, undefined>;
