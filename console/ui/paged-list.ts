/**
 * A list the console's API gives a page at a time, newest first (the audit trail, a timeline, a
 * host's events), read from its first page to the oldest one asked for. A
 * {@link PagedListReader} is one reading of one list (one filter, one host): it reads one page at
 * a time, keeps the items, the cursor of the next, older page, whether a page is being read and
 * what went wrong, and once closed it never reports again, so the answer to a page asked for a
 * list the user has since left can never reach the list that replaced it. It knows nothing of
 * Preact, so its rules are tested outside a browser; `usePagedList` (hooks.ts) runs one per set
 * of dependencies.
 */

/** One page as the list's reader sees it: its items, newest first, and the next cursor. */
export interface Page<T, C> {
  /** The page's items, newest first. */
  readonly items: readonly T[];
  /** The cursor that reads the next, older page; `undefined` when this page was the oldest. */
  readonly next: C | undefined;
}

/**
 * Reads one page: the first (newest) when `before` is `undefined`, else the page older than the
 * cursor `before`. `signal` aborts when the reading is closed (the list restarted or the view
 * went away).
 */
export type FetchPage<T, C> = (before: C | undefined, signal: AbortSignal) => Promise<Page<T, C>>;

/** What a list shows. */
export interface PagedListState<T, C> {
  /** The items read so far, newest first, at most `maxItems`. */
  readonly items: readonly T[];
  /**
   * The cursor of the next, older page; `undefined` when there is none, or none is offered
   * because the list holds `maxItems`.
   */
  readonly next: C | undefined;
  /** A page is being read. */
  readonly loading: boolean;
  /** Why the last page could not be read; `undefined` while a page is being read and after one was. */
  readonly problem: unknown;
  /**
   * When the list's first page was asked for (`Date.now()`, ms), once it is in: what happened
   * after that is not in the list (a view that merges a live stream takes it from there).
   */
  readonly askedAtMs: number | undefined;
}

/** Options of a {@link PagedListReader}. */
export interface PagedListOptions {
  /**
   * Items the list keeps at most: past them no older page is offered. Unbounded when not set:
   * the user asks for each page, and a list's owner that can grow past a screenful sets one.
   */
  readonly maxItems?: number | undefined;
  /**
   * The clock of {@link PagedListState.askedAtMs}.
   * @default Date.now
   */
  readonly now?: () => number;
}

/** The state of a list before its first page is in: empty, being read. */
export function loadingList<T, C>(): PagedListState<T, C> {
  return { items: [], next: undefined, loading: true, problem: undefined, askedAtMs: undefined };
}

/** One reading of a list, from its first page on; see the module's comment. */
export class PagedListReader<T, C> {
  readonly #fetchPage: FetchPage<T, C>;
  readonly #onChange: (state: PagedListState<T, C>) => void;
  readonly #maxItems: number;
  readonly #now: () => number;
  readonly #controller = new AbortController();
  #state: PagedListState<T, C> = loadingList();
  #reading = false;

  /**
   * @param fetchPage reads one page.
   * @param onChange called with the whole new state after each change, never after {@link close}.
   */
  constructor(
    fetchPage: FetchPage<T, C>,
    onChange: (state: PagedListState<T, C>) => void,
    options: PagedListOptions = {},
  ) {
    const maxItems = options.maxItems ?? Number.POSITIVE_INFINITY;
    if (!(maxItems >= 1)) throw new TypeError(`maxItems: ${maxItems} is not a number of items`);
    this.#fetchPage = fetchPage;
    this.#onChange = onChange;
    this.#maxItems = maxItems;
    this.#now = options.now ?? Date.now;
  }

  /** What the list shows now. */
  get state(): PagedListState<T, C> {
    return this.#state;
  }

  /** Reads the first page (call once). */
  start(): void {
    void this.#read(undefined);
  }

  /**
   * Reads the next, older page and appends it. Does nothing while a page is being read (one
   * press, one page), when there is no older page, or after {@link close}.
   */
  older(): void {
    const next = this.#state.next;
    if (next !== undefined) void this.#read(next);
  }

  /** Aborts the page being read, if any; the reader changes nothing and reports nothing after. */
  close(): void {
    this.#controller.abort();
  }

  get #closed(): boolean {
    return this.#controller.signal.aborted;
  }

  async #read(before: C | undefined): Promise<void> {
    if (this.#reading || this.#closed) return;
    this.#reading = true;
    const askedAtMs = this.#now();
    this.#change(
      before === undefined ? loadingList() : { ...this.#state, loading: true, problem: undefined },
    );
    try {
      const page = await this.#fetchPage(before, this.#controller.signal);
      const items = [...(before === undefined ? [] : this.#state.items), ...page.items].slice(
        0,
        this.#maxItems,
      );
      this.#change({
        items,
        next: items.length < this.#maxItems ? page.next : undefined,
        loading: false,
        problem: undefined,
        askedAtMs: before === undefined ? askedAtMs : this.#state.askedAtMs,
      });
    } catch (error) {
      this.#change({ ...this.#state, loading: false, problem: error });
    } finally {
      this.#reading = false;
    }
  }

  #change(state: PagedListState<T, C>): void {
    if (this.#closed) return;
    this.#state = state;
    this.#onChange(state);
  }
}
