/** Templates: the list, and one Template's data with the workflows rendered from it. */
import { api, objectPath } from "../api.ts";
import { h, replace } from "../dom.ts";
import { badge, time } from "../format.ts";
import { alertBox, coalesce, keyOf, link, listPage, type PageFactory } from "../page.ts";
import type { Template, Workflow } from "../types.ts";
import { workflowHash } from "./workflows.ts";

/** The hash of a template's page. */
export const templateHash = (namespace: string, name: string) => `#/templates/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;

/** The templates list. */
export const templatesPage: PageFactory = (main) => {
  const { body, status } = listPage(main, "Templates", ["Name", "Namespace", "Created", "Workflows"]);
  const load = async () => {
    try {
      const [templates, workflows] = await Promise.all([api<Template[]>("/templates"), api<Workflow[]>("/workflows")]);
      const uses = new Map<string, number>();
      for (const wf of workflows) if (wf.spec.templateRef) uses.set(keyOf(wf.metadata.namespace, wf.spec.templateRef), (uses.get(keyOf(wf.metadata.namespace, wf.spec.templateRef)) ?? 0) + 1);
      replace(
        body,
        templates.length
          ? templates.map((t) =>
              h(
                "tr",
                null,
                h("td", null, link(templateHash(t.metadata.namespace, t.metadata.name), t.metadata.name)),
                h("td", null, t.metadata.namespace),
                h("td", null, time(t.metadata.creationTimestamp)),
                h("td", { class: "num" }, uses.get(keyOf(t.metadata.namespace, t.metadata.name)) ?? 0),
              ),
            )
          : h("tr", null, h("td", { colspan: 4, class: "empty" }, "No templates yet.")),
      );
      replace(status);
    } catch (e) {
      replace(status, alertBox(e));
    }
  };
  const again = coalesce(load, 300);
  void load();
  return {
    change: (e) => void ((e.kind === "Template" || (e.kind === "Workflow" && e.op !== "state")) && again("all")),
    reset: () => void load(),
  };
};

/** One template: `#/templates/NS/NAME`. */
export const templatePage: PageFactory = (main, [namespace = "", name = ""]) => {
  const view = h("div");
  replace(main, h("h1", null, `Template ${namespace}/${name}`), view);
  const load = async () => {
    try {
      const [t, workflows] = await Promise.all([api<Template>(objectPath("templates", namespace, name)), api<Workflow[]>(`/namespaces/${encodeURIComponent(namespace)}/workflows`)]);
      const users = workflows.filter((w) => w.spec.templateRef === name);
      replace(
        view,
        h("h2", null, "Data"),
        h("pre", { class: "code", tabindex: 0, "aria-label": "Template data" }, t.spec.data ?? ""),
        h("h2", null, "Workflows rendered from it"),
        users.length
          ? users.map((w) =>
              h(
                "section",
                { class: "task" },
                h("h3", null, link(workflowHash(w.metadata.namespace, w.metadata.name), w.metadata.name), " ", badge(w.status.state), h("span", { class: "muted" }, ` Hardware ${w.spec.hardwareRef ?? "none"}`)),
                w.status.tasks.map((task) =>
                  h(
                    "div",
                    null,
                    h("p", null, `Task ${task.name} on worker `, h("code", null, task.worker)),
                    h("ol", null, task.actions.map((a) => h("li", null, h("strong", null, a.name), " ", h("code", null, a.image), h("span", { class: "muted" }, ` timeout ${a.timeout ? `${a.timeout}s` : "none"}`)))),
                  ),
                ),
              ),
            )
          : h("p", { class: "muted" }, "None yet."),
      );
    } catch (e) {
      replace(view, alertBox(e));
    }
  };
  const again = coalesce(load, 300);
  void load();
  return {
    change: (e) => void (e.namespace === namespace && (e.kind === "Template" || e.kind === "Workflow") && again("one")),
    reset: () => void load(),
  };
};
