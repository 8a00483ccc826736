/**
 * A table of many rows that renders only those on screen (@tanstack/virtual-core), with sorting
 * headers, row selection and the keyboard: the grid is one tab stop; ↑ ↓ Page Up/Down Home End
 * move the active row, Space selects it, Enter opens it, Ctrl+A selects everything that matches;
 * Tab from the grid reaches the active row's own controls (a cell's disclosure), if it has any.
 * Rows are ARIA grid rows with their position in the whole list (`aria-rowindex`), so a screen
 * reader says "row 1,204 of 20,000" although only thirty exist in the page.
 */
import type { ComponentChild, JSX, TargetedKeyboardEvent } from "preact";
import { useId, useLayoutEffect, useReducer, useRef, useState } from "preact/hooks";
import {
  Virtualizer,
  elementScroll,
  observeElementOffset,
  observeElementRect,
} from "@tanstack/virtual-core";

/** Height of a row and of the header, in CSS pixels: dense, still a comfortable touch target. */
export const ROW_PX = 32;
const HEADER_PX = 34;

/** Where a cell is drawn: what a cell with a control of its own needs to know. */
export interface CellPlace {
  /**
   * Whether the cell's row is the grid's active row (the keyboard's). The grid is one tab stop:
   * a control in a cell stays out of the tab order (`tabIndex={-1}`) except in the active row,
   * where Tab from the grid reaches it.
   */
  readonly active: boolean;
}

/** One column. */
export interface Column<T> {
  readonly id: string;
  readonly header: string;
  /** A CSS grid track: `8rem`, `minmax(6rem, 1fr)`. */
  readonly width: string;
  readonly cell: (row: T, place: CellPlace) => ComponentChild;
  /** Whether the column sorts when its header is pressed. */
  readonly sortable?: boolean;
  readonly align?: "end";
}

/** Sorting: a column and a direction. */
export interface SortOrder {
  readonly column: string;
  readonly descending: boolean;
}

/** Selection of rows, owned by the caller. */
export interface GridSelection<T> {
  isSelected(row: T): boolean;
  toggle(row: T): void;
  /** Selects every row of the list (Ctrl+A, the header's box). */
  selectAll(): void;
  clear(): void;
  /** How many rows are selected. */
  readonly count: number;
  /** The label of a row's checkbox: "Select session 3 (alice) on h1". */
  label(row: T): string;
}

/** Properties of {@link DataGrid}. */
export interface DataGridProps<T> {
  /** The grid's accessible name. */
  readonly label: string;
  readonly rows: readonly T[];
  readonly columns: readonly Column<T>[];
  readonly rowKey: (row: T) => string;
  readonly sort?: SortOrder | undefined;
  readonly onSort?: ((column: string) => void) | undefined;
  readonly selection?: GridSelection<T> | undefined;
  /** Enter or a double click on a row. */
  readonly onOpen?: ((row: T) => void) | undefined;
  /** Whether a row just changed (it is highlighted for a moment). */
  readonly changed?: ((row: T) => boolean) | undefined;
  /** A class for the row (its status). */
  readonly rowClass?: ((row: T) => string | undefined) | undefined;
  /** What the grid says when there are no rows. */
  readonly empty: string;
  /** Height of the scrolling area, a CSS length. @default "calc(100vh - 15rem)" */
  readonly height?: string;
}

/** The smallest width of a grid track, in rem: `8rem` → 8, `minmax(6rem, 1fr)` → 6. */
function minRem(track: string): number {
  const match = /(\d+(?:\.\d+)?)rem/.exec(track);
  return match === null ? 4 : Number(match[1]);
}

/** Binds a Virtualizer to a component (what @tanstack's React adapter does, for Preact). */
function useVirtualizer(
  count: number,
  scroller: { current: HTMLDivElement | null },
): Virtualizer<HTMLDivElement, HTMLDivElement> {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const options = {
    count,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_PX,
    overscan: 8,
    scrollMargin: HEADER_PX,
    scrollPaddingStart: HEADER_PX,
    observeElementRect,
    observeElementOffset,
    scrollToFn: elementScroll,
    onChange: () => rerender(0),
  };
  const [instance] = useState(() => new Virtualizer<HTMLDivElement, HTMLDivElement>(options));
  instance.setOptions({ ...instance.options, ...options });
  useLayoutEffect(() => instance._didMount(), [instance]);
  useLayoutEffect(() => {
    instance._willUpdate();
  });
  return instance;
}

/** The virtualised grid. */
export function DataGrid<T>(props: DataGridProps<T>): JSX.Element {
  const { rows, columns, selection } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer(rows.length, scroller);
  const [active, setActive] = useState(0);
  const id = useId();
  const template = [...(selection ? ["2.5rem"] : []), ...columns.map((c) => c.width)].join(" ");
  // Each row is a grid of its own: the columns line up because no track depends on content,
  // and every row is at least as wide as the sum of the columns' smallest widths.
  const minWidthRem = columns.reduce((sum, c) => sum + minRem(c.width), selection ? 2.5 : 0);
  const activeIndex = Math.min(active, Math.max(0, rows.length - 1));
  const activeRow = rows[activeIndex];

  const move = (to: number) => {
    const index = Math.max(0, Math.min(rows.length - 1, to));
    setActive(index);
    virtualizer.scrollToIndex(index, { align: "auto" });
  };
  const page = Math.max(
    1,
    Math.floor(((scroller.current?.clientHeight ?? 400) - HEADER_PX) / ROW_PX) - 1,
  );

  const onKeyDown = (event: TargetedKeyboardEvent<HTMLDivElement>) => {
    if (event.target !== event.currentTarget) return;
    const keys: Readonly<Record<string, () => void>> = {
      ArrowDown: () => move(activeIndex + 1),
      ArrowUp: () => move(activeIndex - 1),
      PageDown: () => move(activeIndex + page),
      PageUp: () => move(activeIndex - page),
      Home: () => move(0),
      End: () => move(rows.length - 1),
      " ": () => {
        if (selection && activeRow !== undefined) selection.toggle(activeRow);
      },
      Enter: () => {
        if (props.onOpen && activeRow !== undefined) props.onOpen(activeRow);
      },
    };
    const action =
      (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "a"
        ? selection && (() => selection.selectAll())
        : event.ctrlKey || event.metaKey || event.altKey
          ? undefined
          : keys[event.key];
    if (action === undefined) return;
    event.preventDefault();
    action();
  };

  const allSelected = selection !== undefined && rows.length > 0 && selection.count >= rows.length;
  const rowId = (index: number) => `${id}-row-${index}`;
  const items = virtualizer.getVirtualItems();
  const activeRendered = items.some((item) => item.index === activeIndex);

  return (
    <div
      class="grid"
      role="grid"
      aria-label={props.label}
      aria-rowcount={rows.length + 1}
      aria-colcount={columns.length + (selection ? 1 : 0)}
      aria-multiselectable={selection ? "true" : undefined}
      aria-activedescendant={rows.length > 0 && activeRendered ? rowId(activeIndex) : undefined}
      tabIndex={0}
      ref={scroller}
      onKeyDown={onKeyDown}
      style={{
        height: props.height ?? "calc(100vh - 15rem)",
        "--grid-min-width": `${minWidthRem}rem`,
      }}
    >
      <div class="grid-head" role="rowgroup">
        <div
          class="grid-row"
          role="row"
          aria-rowindex={1}
          style={{ gridTemplateColumns: template }}
        >
          {selection && (
            <div role="columnheader" class="grid-check">
              <input
                type="checkbox"
                tabIndex={-1}
                aria-label={`Select all ${rows.length} rows`}
                checked={allSelected}
                disabled={rows.length === 0}
                onChange={() => (allSelected ? selection.clear() : selection.selectAll())}
              />
            </div>
          )}
          {columns.map((column) => {
            const sorted = props.sort?.column === column.id;
            return (
              <div
                key={column.id}
                role="columnheader"
                class={column.align === "end" ? "end" : undefined}
                aria-sort={
                  sorted ? (props.sort?.descending ? "descending" : "ascending") : undefined
                }
              >
                {column.sortable && props.onSort ? (
                  <button type="button" class="sort" onClick={() => props.onSort?.(column.id)}>
                    {column.header}
                    <span aria-hidden="true" class="sort-mark">
                      {sorted ? (props.sort?.descending ? " ▼" : " ▲") : ""}
                    </span>
                  </button>
                ) : (
                  column.header
                )}
              </div>
            );
          })}
        </div>
      </div>
      <div class="grid-body" role="rowgroup" style={{ height: `${virtualizer.getTotalSize()}px` }}>
        {rows.length === 0 && (
          <div class="grid-empty" role="row">
            <div role="gridcell">{props.empty}</div>
          </div>
        )}
        {items.map((item) => {
          const row = rows[item.index];
          if (row === undefined) return null;
          const selected = selection?.isSelected(row) ?? false;
          const place: CellPlace = { active: item.index === activeIndex };
          const classes = [
            "grid-row",
            place.active ? "active" : "",
            selected ? "selected" : "",
            props.changed?.(row) ? "changed" : "",
            props.rowClass?.(row) ?? "",
          ].join(" ");
          return (
            <div
              key={props.rowKey(row)}
              id={rowId(item.index)}
              role="row"
              aria-rowindex={item.index + 2}
              aria-selected={selection ? (selected ? "true" : "false") : undefined}
              class={classes}
              style={{
                gridTemplateColumns: template,
                transform: `translateY(${item.start - HEADER_PX}px)`,
              }}
              onClick={() => setActive(item.index)}
              onDblClick={() => props.onOpen?.(row)}
            >
              {selection && (
                <div role="gridcell" class="grid-check">
                  <input
                    type="checkbox"
                    tabIndex={-1}
                    aria-label={selection.label(row)}
                    checked={selected}
                    onChange={() => selection.toggle(row)}
                  />
                </div>
              )}
              {columns.map((column) => (
                <div
                  key={column.id}
                  role="gridcell"
                  class={column.align === "end" ? "end" : undefined}
                >
                  {column.cell(row, place)}
                </div>
              ))}
            </div>
          );
        })}
      </div>
    </div>
  );
}
