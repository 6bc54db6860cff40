/** What a page is to the shell: built into `main`, told of feed changes, disposed when left. */
import { ApiError } from "./api.ts";
import { h, replace } from "./dom.ts";
import type { FeedEntry } from "./types.ts";

/** A page as the shell drives it. */
export interface Page {
  /** A change from the feed (every kind; the page picks what concerns it). */
  change?(entry: FeedEntry): void;
  /** Changes were missed: read everything again. */
  reset?(): void;
  dispose?(): void;
}

/** Builds a page into `main` from the route's parameters. */
export type PageFactory = (main: HTMLElement, params: string[]) => Page;

/** The message of an error, for an alert. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

/** An alert box (announced by screen readers). */
export function alertBox(e: unknown): HTMLElement {
  return h("p", { class: "alert", role: "alert" }, errorText(e));
}

/**
 * Runs `fetch(key)` for keys asked for in quick succession once each (a report storm becomes one
 * read per object), one at a time per key, and again if asked while it ran.
 */
export function coalesce(fetch: (key: string) => Promise<void>, delayMs = 100): (key: string) => void {
  const pending = new Set<string>();
  const running = new Set<string>();
  const again = new Set<string>();
  const run = async (key: string) => {
    running.add(key);
    try {
      await fetch(key);
    } catch {
      // The page shows its own errors; the next change tries again.
    } finally {
      running.delete(key);
      if (again.delete(key)) schedule(key);
    }
  };
  const schedule = (key: string) => {
    if (running.has(key)) return void again.add(key);
    if (pending.has(key)) return;
    pending.add(key);
    setTimeout(() => {
      pending.delete(key);
      void run(key);
    }, delayMs);
  };
  return schedule;
}

/** `namespace/name`. */
export const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;

/** A link inside the console. */
export function link(hash: string, ...text: (string | HTMLElement)[]): HTMLAnchorElement {
  return h("a", { href: hash }, ...text);
}

/** Splits `namespace/name`. */
export function splitKey(key: string): [string, string] {
  const i = key.indexOf("/");
  return [key.slice(0, i), key.slice(i + 1)];
}

/** Fills `main` as a list page: heading `title`, a live status line, a table with `columns`; returns the table body to fill and the status line. */
export function listPage(main: HTMLElement, title: string, columns: string[]): { body: HTMLTableSectionElement; status: HTMLDivElement } {
  const body = h("tbody");
  const status = h("div", { "aria-live": "polite" });
  const head = h("thead", null, h("tr", null, ...columns.map((c) => h("th", { scope: "col" }, c))));
  replace(main, h("h1", null, title), status, h("table", { class: "list", "aria-label": title }, head, body));
  return { body, status };
}
