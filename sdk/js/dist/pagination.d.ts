import type { APIResponse, Query } from './http.js';
import type { Pagination } from './types.js';
/** One page of a list. */
export interface Page<T> {
    /** The items of this page. */
    data: T[];
    /** The server's `meta.pagination`. */
    pagination: Pagination;
    /** `meta.request_id` of the request that fetched this page. */
    requestId: string;
    /** Whether another page follows. */
    hasNext: boolean;
    /** The cursor of the next page (`pagination.next_cursor`), or null on the last page. */
    nextCursor: string | null;
}
/** Fetches one page of a list for a query. */
export type PageFetcher<T> = (query: Query) => Promise<APIResponse<T[]>>;
/**
 * The result of a `list(...)` call: await it for the first page, or iterate it with
 * `for await` for every item of every page, fetched lazily one page at a time by cursor.
 *
 * ```ts
 * const first = await cv.apiKeys.list({ limit: 20 });     // Page<APIKey>
 * for await (const key of cv.apiKeys.list({ status: 'active' })) console.log(key.name);
 * for await (const page of cv.apiKeys.list().pages()) console.log(page.data.length);
 * const all = await cv.apiKeys.list().toArray();
 * ```
 *
 * Nothing is requested until the list is awaited or iterated; each iteration starts again
 * from the first page. Iterating asks for the next page with the previous page's
 * `next_cursor`, keeping the filters and sort, so items added or removed meanwhile do not
 * shift the pages.
 */
export declare class PagedList<T> implements PromiseLike<Page<T>>, AsyncIterable<T> {
    private readonly fetchPage;
    private readonly query;
    private first;
    constructor(fetchPage: PageFetcher<T>, query?: Query);
    /** The first page (what `await list(...)` gives). */
    firstPage(): Promise<Page<T>>;
    then<R1 = Page<T>, R2 = never>(onfulfilled?: ((value: Page<T>) => R1 | PromiseLike<R1>) | null, onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2>;
    /** Like a promise's `catch`, on the first page. */
    catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Page<T> | R>;
    /** Every page, from the first, each fetched when the previous one has been consumed. */
    pages(): AsyncGenerator<Page<T>, void, undefined>;
    [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined>;
    /** Every item of every page in one array (at most `max` items when given). */
    toArray(max?: number): Promise<T[]>;
    private load;
    /** The query of the page after `page`, or null when it was the last. */
    private nextQuery;
}
