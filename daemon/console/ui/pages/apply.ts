/** Apply manifests: pasted text and/or files, all or nothing, as `wisp apply -f`. */
import { api, ApiError } from "../api.ts";
import { h, replace } from "../dom.ts";
import { alertBox, type PageFactory } from "../page.ts";

interface ApplyResult {
  objects: { kind: string; namespace: string; name: string; outcome: string }[];
  warnings: { message: string; source?: string; field?: string }[];
}

/** The apply form. */
export const applyPage: PageFactory = (main) => {
  const text = h("textarea", { id: "apply-text", rows: 18, spellcheck: "false", placeholder: "apiVersion: tinkerbell.org/v1alpha1\nkind: Hardware\n..." });
  const files = h("input", { id: "apply-files", type: "file", multiple: true, accept: ".yaml,.yml,.json,text/yaml,application/json" });
  const namespace = h("input", { id: "apply-namespace", type: "text", placeholder: "as written in each manifest", autocomplete: "off" });
  const dryRun = h("input", { id: "apply-dry-run", type: "checkbox" });
  const result = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Apply");

  const onSubmit = async (ev: Event) => {
    ev.preventDefault();
    const sources: { name: string; text: string }[] = [];
    for (const f of files.files ?? []) sources.push({ name: f.name, text: await f.text() });
    if (text.value.trim()) sources.push({ name: "console", text: text.value });
    if (sources.length === 0) {
      replace(result, h("p", { class: "alert", role: "alert" }, "Paste manifests or choose files first."));
      return;
    }
    submit.disabled = true;
    try {
      const ns = namespace.value.trim();
      const out = await api<ApplyResult>(`/apply${ns ? `?namespace=${encodeURIComponent(ns)}` : ""}`, { method: "POST", body: { sources, dryRun: dryRun.checked } });
      replace(
        result,
        h("p", { class: "notice", role: "status" }, dryRun.checked ? "Dry run: nothing was stored." : "Applied."),
        h("ul", { class: "applied" }, out.objects.map((o) => h("li", null, `${o.kind.toLowerCase()}/${o.name} `, h("span", { class: "muted" }, `(${o.namespace})`), ` ${o.outcome}`))),
        out.warnings.length ? h("ul", { class: "warnings", "aria-label": "Warnings" }, out.warnings.map((w) => h("li", null, `warning: ${w.source ? `${w.source}: ` : ""}${w.field ? `${w.field}: ` : ""}${w.message}`))) : null,
      );
    } catch (e) {
      const details = e instanceof ApiError && e.details && e.details.length > 1 ? h("ul", null, e.details.map((d) => h("li", null, d.message ?? ""))) : null;
      replace(result, alertBox(e), details);
    } finally {
      submit.disabled = false;
    }
  };

  replace(
    main,
    h("h1", null, "Apply manifests"),
    h("p", { class: "muted" }, "Tinkerbell manifests: Hardware, Template, Workflow; Machine, Job and Secret for BMCs (YAML or JSON). Everything is applied, or nothing."),
    h(
      "form",
      { class: "apply", onsubmit: (ev: Event) => void onSubmit(ev) },
      h("label", { for: "apply-text" }, "Manifests"),
      text,
      h("label", { for: "apply-files" }, "Or files"),
      files,
      h("label", { for: "apply-namespace" }, "Default namespace (optional)"),
      namespace,
      h("div", { class: "check" }, dryRun, h("label", { for: "apply-dry-run" }, "Dry run (validate only)")),
      h("div", null, submit),
    ),
    result,
  );
  return {};
};
