/** One workflow: state, progress, actions with timings, events, rendered tasks and the action logs, all live. */
import { api, apiLines, objectPath } from "../api.ts";
import { h, replace } from "../dom.ts";
import { actionSeconds, actionsOf, badge, duration, isFinished, progressBar, time } from "../format.ts";
import { alertBox, coalesce, errorText, link, type PageFactory } from "../page.ts";
import type { LogEntry, Workflow, WorkflowEvent } from "../types.ts";

/** Lines kept on the page; older ones are dropped from view (the API keeps them). */
const MAX_SHOWN_LINES = 5_000;

function actionsTable(wf: Workflow): HTMLElement {
  return h(
    "table",
    { class: "list", "aria-label": "Actions" },
    h("thead", null, h("tr", null, ...["#", "Task", "Action", "Image", "State", "Attempt", "Started", "Duration", "Message"].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      null,
      actionsOf(wf).map((a, i) =>
        h(
          "tr",
          { "data-action": a.name, "data-state": a.state, class: i === wf.status.currentActionIndex && !isFinished(wf.status.state) ? "current" : undefined },
          h("td", { class: "num" }, i + 1),
          h("td", null, a.taskName),
          h("td", null, a.name),
          h("td", null, h("code", null, a.image)),
          h("td", null, badge(a.state)),
          h("td", { class: "num" }, `${a.attempt}/${a.retries + 1}`),
          h("td", null, time(a.startedAt)),
          h("td", { class: "num", "data-duration": a.state === "RUNNING" ? a.startedAt : undefined }, duration(actionSeconds(a))),
          h("td", null, a.message ?? ""),
        ),
      ),
    ),
  );
}

function eventsTable(events: WorkflowEvent[]): HTMLElement {
  return h(
    "table",
    { class: "list compact", "aria-label": "Events" },
    h("thead", null, h("tr", null, ...["Time", "Event", "Action", "Change", "Message"].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      null,
      events.map((e) =>
        h("tr", null, h("td", null, time(e.at)), h("td", null, e.type), h("td", null, e.actionName ?? ""), h("td", null, e.from || e.to ? `${e.from ?? ""} → ${e.to ?? ""}` : ""), h("td", null, e.message ?? "")),
      ),
    ),
  );
}

function tasksView(wf: Workflow): HTMLElement {
  return h(
    "div",
    { class: "tasks" },
    wf.status.tasks.map((t) =>
      h(
        "section",
        { class: "task" },
        h("h3", null, `Task ${t.name}`, h("span", { class: "muted" }, ` on worker ${t.worker}`)),
        h("ol", null, t.actions.map((a) => h("li", null, h("strong", null, a.name), " ", h("code", null, a.image), h("span", { class: "muted" }, ` timeout ${a.timeout ? `${a.timeout}s` : "none"}, retries ${a.retries}`)))),
      ),
    ),
  );
}

/** One workflow: `#/workflows/NS/NAME`. */
export const workflowPage: PageFactory = (main, [namespace = "", name = ""]) => {
  const path = objectPath("workflows", namespace, name);
  let wf: Workflow | undefined;
  let lastLogId = 0;
  let shownLines = 0;
  const header = h("div", { class: "page-head" });
  // Load errors go to `status` (cleared by the next good load); results of Re-run/Cancel to `notice`.
  const status = h("div", { "aria-live": "polite" });
  const notice = h("div", { "aria-live": "polite" });
  const summary = h("div");
  const actions = h("div");
  const events = h("div");
  const tasks = h("div");
  const logList = h("ol", { class: "log", "aria-label": "Action logs", tabindex: 0 });
  const logStatus = h("p", { class: "muted", "data-log-status": "" }, "No lines yet.");
  // Which action's lines to show ("" = all); the list keeps every line and hides the others.
  const logFilter = h("select", { id: "log-filter", onchange: () => applyFilter() }, h("option", { value: "" }, "all actions"));
  const applyFilter = () => {
    for (const li of logList.children) (li as HTMLElement).hidden = logFilter.value !== "" && (li as HTMLElement).dataset.action !== logFilter.value;
  };
  replace(
    main,
    header,
    status,
    notice,
    summary,
    h("h2", null, "Actions"),
    actions,
    h("h2", null, "Action logs ", h("span", { class: "live-dot", title: "streams live" })),
    h("div", { class: "log-tools" }, h("label", { for: "log-filter" }, "Show lines of"), logFilter, logStatus),
    logList,
    h("h2", null, "Events"),
    events,
    h("h2", null, "Rendered tasks"),
    tasks,
  );

  const clearLogs = () => {
    lastLogId = 0;
    shownLines = 0;
    replace(logList);
    logStatus.textContent = "No lines yet.";
  };

  const act = async (verb: "rerun" | "cancel") => {
    try {
      wf = await api<Workflow>(`${path}/${verb}`, { method: "POST" });
      replace(notice, h("p", { class: "notice", role: "status" }, verb === "rerun" ? "Workflow started again." : "Workflow cancelled."));
      // A re-run starts its logs afresh.
      if (verb === "rerun") clearLogs();
      draw();
      await loadEvents();
    } catch (e) {
      replace(notice, alertBox(e));
    }
  };

  const draw = () => {
    if (!wf) return;
    const finished = isFinished(wf.status.state);
    replace(
      header,
      h("h1", null, `Workflow ${wf.metadata.namespace}/${wf.metadata.name} `, badge(wf.status.state)),
      h(
        "div",
        { class: "actions-bar" },
        h("button", { type: "button", onclick: () => void act("rerun"), disabled: !finished, title: finished ? "Run again from the first action" : "Only a finished workflow can be re-run" }, "Re-run"),
        h("button", { type: "button", class: "danger", onclick: () => void act("cancel"), disabled: finished, title: finished ? "The workflow has finished" : "End it now in FAILED" }, "Cancel"),
      ),
    );
    replace(
      summary,
      progressBar(wf),
      h(
        "dl",
        { class: "facts" },
        h("dt", null, "Template"),
        h("dd", null, wf.spec.templateRef ? link(`#/templates/${encodeURIComponent(wf.metadata.namespace)}/${encodeURIComponent(wf.spec.templateRef)}`, wf.spec.templateRef) : "—"),
        h("dt", null, "Hardware"),
        h("dd", null, wf.spec.hardwareRef ?? "—"),
        h("dt", null, "Started"),
        h("dd", null, time(wf.status.startedAt) || "—"),
        h("dt", null, "Finished"),
        h("dd", null, time(wf.status.finishedAt) || "—"),
        h("dt", null, "Global timeout"),
        h("dd", null, wf.status.globalTimeout ? duration(wf.status.globalTimeout) : "none"),
      ),
    );
    replace(actions, actionsTable(wf));
    const names = [...new Set(actionsOf(wf).map((a) => a.name))];
    if (logFilter.options.length !== names.length + 1) {
      const chosen = logFilter.value;
      replace(logFilter, h("option", { value: "" }, "all actions"), names.map((n) => h("option", { value: n }, n)));
      logFilter.value = names.includes(chosen) ? chosen : "";
    }
    replace(tasks, tasksView(wf));
  };

  const load = async () => {
    try {
      wf = await api<Workflow>(path);
      replace(status);
      draw();
    } catch (e) {
      replace(status, alertBox(e));
    }
  };
  const loadEvents = async () => {
    try {
      replace(events, eventsTable(await api<WorkflowEvent[]>(`${path}/events`)));
    } catch (e) {
      replace(events, alertBox(e));
    }
  };
  const loadLogs = async () => {
    try {
      for (;;) {
        const { items } = await apiLines<LogEntry>(`${path}/logs?since=${lastLogId}`);
        if (items.length === 0) break;
        const atBottom = logList.scrollTop + logList.clientHeight >= logList.scrollHeight - 8;
        for (const l of items) {
          lastLogId = Math.max(lastLogId, l.id);
          logList.append(
            h(
              "li",
              { class: `stream-${l.stream}`, "data-action": l.actionName },
              h("time", { datetime: l.at }, new Date(l.at).toLocaleTimeString()),
              h("span", { class: "log-action" }, `${l.actionName}[${l.attempt ?? 1}]`),
              h("span", { class: "log-stream" }, l.stream),
              h("span", { class: "log-line" }, l.line),
            ),
          );
          const added = logList.lastElementChild as HTMLElement;
          added.hidden = logFilter.value !== "" && l.actionName !== logFilter.value;
          if (++shownLines > MAX_SHOWN_LINES) {
            logList.firstElementChild?.remove();
            shownLines--;
          }
        }
        if (atBottom) logList.scrollTop = logList.scrollHeight;
        logStatus.textContent = `${shownLines} line${shownLines === 1 ? "" : "s"}`;
      }
    } catch (e) {
      logStatus.textContent = errorText(e);
    }
  };

  const refetch = coalesce(async (what) => {
    if (what === "logs") return loadLogs();
    await Promise.all([load(), loadEvents()]);
  });
  const ticker = setInterval(() => {
    for (const cell of actions.querySelectorAll<HTMLElement>("[data-duration]")) {
      const started = cell.dataset.duration;
      if (started) cell.textContent = duration((Date.now() - Date.parse(started)) / 1000);
    }
  }, 1000);

  void Promise.all([load(), loadEvents(), loadLogs()]);
  return {
    change(e) {
      if (e.namespace !== namespace || e.name !== name) return;
      if (e.kind === "ActionLogs") refetch("logs");
      else if (e.kind === "Workflow") {
        if (e.state === "PENDING" && e.op === "state" && wf && isFinished(wf.status.state)) {
          // Re-run from elsewhere (the CLI): the old lines are gone.
          clearLogs();
        }
        refetch("workflow");
        refetch("logs");
      }
    },
    reset() {
      void Promise.all([load(), loadEvents(), loadLogs()]);
    },
    dispose: () => clearInterval(ticker),
  };
};
