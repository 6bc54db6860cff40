/** One machine's syslog lines (iPXE, the Hook), read every few seconds while the page is open. */
import { ApiError, apiLines } from "../api.ts";
import { h, replace } from "../dom.ts";
import { errorText, type PageFactory } from "../page.ts";
import type { SyslogLine } from "../types.ts";

/** Syslog lines are kept in memory by wispd and not part of the change feed: polled. */
const POLL_MS = 2_000;
const MAX_SHOWN_LINES = 5_000;

/** A machine's syslog lines: `#/machines/NS/NAME/syslog`. */
export const syslogPage: PageFactory = (main, [namespace = "", name = ""]) => {
  const list = h("ol", { class: "log", "aria-label": `Syslog of ${name}`, tabindex: 0 });
  const status = h("p", { class: "muted", "aria-live": "polite" }, "Loading…");
  replace(main, h("h1", null, `Syslog of ${namespace}/${name}`), status, list);
  let since = 0;
  let shown = 0;
  let stopped = false;
  const poll = async () => {
    try {
      const { items } = await apiLines<SyslogLine>(`/namespaces/${encodeURIComponent(namespace)}/hardware/${encodeURIComponent(name)}/logs${since ? `?since=${since}` : ""}`);
      const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
      for (const l of items) {
        since = Math.max(since, l.seq);
        const source = `${l.hostname ?? l.peer} ${l.app ?? ""}${l.procId ? `[${l.procId}]` : ""}`;
        list.append(
          h(
            "li",
            { class: l.error ? "stream-stderr" : undefined },
            h("time", { datetime: l.receivedAt }, new Date(l.receivedAt).toLocaleTimeString()),
            h("span", { class: "log-action" }, source.trim()),
            h("span", { class: "log-stream" }, l.severity ?? ""),
            h("span", { class: "log-line" }, l.error ? `${l.message} (${l.error})` : l.message),
          ),
        );
        if (++shown > MAX_SHOWN_LINES) {
          list.firstElementChild?.remove();
          shown--;
        }
      }
      if (atBottom) list.scrollTop = list.scrollHeight;
      status.textContent = shown ? `${shown} line${shown === 1 ? "" : "s"}` : "No lines yet.";
    } catch (e) {
      status.textContent = e instanceof ApiError && e.status === 404 ? `No lines: ${e.message}` : errorText(e);
    }
  };
  const loop = async () => {
    while (!stopped) {
      await poll();
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  };
  void loop();
  return {
    dispose: () => {
      stopped = true;
    },
  };
};
