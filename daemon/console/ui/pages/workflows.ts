/** Workflows: one row each with its progress bar, kept live from the feed. */
import { api, objectPath } from "../api.ts";
import { h, replace } from "../dom.ts";
import { badge, duration, progressBar, time } from "../format.ts";
import { alertBox, coalesce, keyOf, link, listPage, splitKey, type PageFactory } from "../page.ts";
import type { Workflow } from "../types.ts";

/** The hash of a workflow's page. */
export const workflowHash = (namespace: string, name: string) => `#/workflows/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;

function elapsed(wf: Workflow): string {
  const { startedAt, finishedAt } = wf.status;
  if (!startedAt) return "";
  const end = finishedAt ? Date.parse(finishedAt) : Date.now();
  return duration((end - Date.parse(startedAt)) / 1000);
}

function row(wf: Workflow): HTMLTableRowElement {
  const { namespace, name } = wf.metadata;
  return h(
    "tr",
    { "data-workflow": keyOf(namespace, name), "data-state": wf.status.state },
    h("td", null, link(workflowHash(namespace, name), name)),
    h("td", null, namespace),
    h("td", null, wf.spec.hardwareRef ?? ""),
    h("td", null, badge(wf.status.state)),
    h("td", { class: "wide" }, progressBar(wf)),
    h("td", null, wf.status.currentAction && wf.status.state !== "SUCCESS" ? wf.status.currentAction : ""),
    h("td", null, time(wf.status.startedAt)),
    h("td", { class: "num", "data-elapsed": "" }, elapsed(wf)),
  );
}

/** The workflows list with live progress bars. */
export const workflowsPage: PageFactory = (main) => {
  const byKey = new Map<string, Workflow>();
  const { body, status } = listPage(main, "Workflows", ["Name", "Namespace", "Hardware", "State", "Progress", "Current action", "Started", "Elapsed"]);
  const draw = () => {
    const rows = [...byKey.values()].sort((a, b) => keyOf(a.metadata.namespace, a.metadata.name).localeCompare(keyOf(b.metadata.namespace, b.metadata.name)));
    replace(body, rows.length ? rows.map(row) : h("tr", null, h("td", { colspan: 8, class: "empty" }, "No workflows yet. Apply some manifests.")));
  };
  const loadAll = async () => {
    try {
      const list = await api<Workflow[]>("/workflows");
      byKey.clear();
      for (const wf of list) byKey.set(keyOf(wf.metadata.namespace, wf.metadata.name), wf);
      replace(status);
      draw();
    } catch (e) {
      replace(status, alertBox(e));
    }
  };
  const refetch = coalesce(async (key) => {
    const [ns, name] = splitKey(key);
    try {
      byKey.set(key, await api<Workflow>(objectPath("workflows", ns, name)));
    } catch {
      byKey.delete(key); // deleted meanwhile
    }
    draw();
  });
  // Running workflows' elapsed time moves without any change.
  const ticker = setInterval(() => {
    for (const tr of body.querySelectorAll<HTMLTableRowElement>("tr[data-state=RUNNING]")) {
      const wf = byKey.get(tr.dataset.workflow ?? "");
      const cell = tr.querySelector("[data-elapsed]");
      if (wf && cell) cell.textContent = elapsed(wf);
    }
  }, 1000);
  void loadAll();
  return {
    change(e) {
      if (e.kind !== "Workflow") return;
      const key = keyOf(e.namespace, e.name);
      if (e.op === "deleted") {
        byKey.delete(key);
        draw();
      } else refetch(key);
    },
    reset: () => void loadAll(),
    dispose: () => clearInterval(ticker),
  };
};
