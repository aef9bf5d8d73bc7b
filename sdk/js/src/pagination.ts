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

const PAGING = ['offset', 'page', 'per_page', 'cursor'] as const;

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
export class PagedList<T> implements PromiseLike<Page<T>>, AsyncIterable<T> {
  private readonly fetchPage: PageFetcher<T>;
  private readonly query: Query;
  private first: Promise<Page<T>> | undefined;

  constructor(fetchPage: PageFetcher<T>, query: Query = {}) {
    this.fetchPage = fetchPage;
    this.query = { ...query };
  }

  /** The first page (what `await list(...)` gives). */
  firstPage(): Promise<Page<T>> {
    this.first ??= this.load(this.query);
    return this.first;
  }

  then<R1 = Page<T>, R2 = never>(
    onfulfilled?: ((value: Page<T>) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.firstPage().then(onfulfilled, onrejected);
  }

  /** Like a promise's `catch`, on the first page. */
  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Page<T> | R> {
    return this.firstPage().catch(onrejected);
  }

  /** Every page, from the first, each fetched when the previous one has been consumed. */
  async *pages(): AsyncGenerator<Page<T>, void, undefined> {
    let page = await this.load(this.query);
    for (;;) {
      yield page;
      const next = this.nextQuery(page);
      if (next === null) return;
      page = await this.load(next);
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) {
      yield* page.data;
    }
  }

  /** Every item of every page in one array (at most `max` items when given). */
  async toArray(max = Infinity): Promise<T[]> {
    const out: T[] = [];
    if (max <= 0) return out;
    for await (const item of this) {
      out.push(item);
      if (out.length >= max) break;
    }
    return out;
  }

  private async load(query: Query): Promise<Page<T>> {
    const res = await this.fetchPage(query);
    const data = Array.isArray(res.data) ? res.data : [];
    const pagination: Pagination = res.meta.pagination ?? {
      limit: data.length,
      offset: 0,
      total: data.length,
      has_next: false,
      next_cursor: null,
    };
    return {
      data,
      pagination,
      requestId: res.meta.request_id,
      hasNext: pagination.has_next,
      nextCursor: pagination.next_cursor,
    };
  }

  /** The query of the page after `page`, or null when it was the last. */
  private nextQuery(page: Page<T>): Query | null {
    if (!page.hasNext || page.data.length === 0) return null;
    const next: Query = { ...this.query };
    for (const k of PAGING) delete next[k];
    if (next['limit'] === undefined && this.query['per_page'] !== undefined) next['limit'] = this.query['per_page'];
    if (page.nextCursor) {
      next['cursor'] = page.nextCursor;
    } else {
      // A server that gives no cursor still pages by offset.
      next['offset'] = page.pagination.offset + page.data.length;
      next['limit'] = page.pagination.limit;
    }
    return next;
  }
}
