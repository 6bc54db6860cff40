/** Machines: every Hardware with its addresses, allowPXE (a switch), BMC power state and latest workflow. */
import { api, ApiError, objectPath } from "../api.ts";
import { h, replace } from "../dom.ts";
import { badge, time } from "../format.ts";
import { alertBox, coalesce, keyOf, link, listPage, splitKey, type PageFactory } from "../page.ts";
import type { Hardware, Machine, Workflow } from "../types.ts";
import { workflowHash } from "./workflows.ts";

/** BMC Machines are read again this often (their power state is polled by wispd, not announced). */
const MACHINE_REFRESH_MS = 15_000;

/** allowPXE of a Hardware: true when every interface allows it. */
const allowsPxe = (hw: Hardware) => {
  const ifs = hw.spec.interfaces ?? [];
  return ifs.length > 0 && ifs.every((i) => i.netboot?.allowPXE === true);
};

/** The hash of a machine's syslog page. */
export const syslogHash = (namespace: string, name: string) => `#/machines/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/syslog`;

/** Every Hardware as a machine row. */
export const machinesPage: PageFactory = (main) => {
  const hardware = new Map<string, Hardware>();
  /** Latest workflow per Hardware key. */
  const workflows = new Map<string, Workflow>();
  /** BMC Machines by key; undefined when this wispd has no Machine API. */
  let machines: Map<string, Machine> | undefined;
  const { body, status } = listPage(main, "Machines", ["Name", "Namespace", "MAC", "IP", "Hostname", "Netboot (allowPXE)", "Power", "Workflow", "Logs"]);

  const toggle = async (hw: Hardware, allow: boolean) => {
    const { namespace, name, labels, annotations } = hw.metadata;
    try {
      // The API's PUT takes the whole object: the latest one, so no other change is undone.
      const fresh = await api<Hardware>(objectPath("hardware", namespace, name));
      const spec = { ...fresh.spec, interfaces: (fresh.spec.interfaces ?? []).map((i) => ({ ...i, netboot: { ...i.netboot, allowPXE: allow } })) };
      const updated = await api<Hardware>(objectPath("hardware", namespace, name), {
        method: "PUT",
        body: { apiVersion: fresh.apiVersion, kind: "Hardware", metadata: { name, namespace, labels, annotations }, spec },
      });
      hardware.set(keyOf(namespace, name), updated);
      replace(status, h("p", { class: "notice", role: "status" }, `${name}: netboot ${allow ? "allowed" : "not allowed"}.`));
      draw();
    } catch (e) {
      replace(status, alertBox(e));
    }
  };

  const power = (hw: Hardware) => {
    const ref = hw.spec.bmcRef?.name;
    if (!ref) return h("span", { class: "muted" }, "no BMC");
    if (!machines) return h("span", { class: "muted", title: "this wispd has no BMC Machines API" }, "—");
    const m = machines.get(keyOf(hw.metadata.namespace, ref));
    if (!m) return h("span", { class: "muted", title: `Machine ${ref} not found` }, `${ref}?`);
    const state = m.status?.powerState ?? "unknown";
    return h("span", { class: `power power-${state}`, title: m.status?.lastError ?? (m.status?.polledAt ? `polled ${time(m.status.polledAt)}` : "") }, state);
  };

  const row = (hw: Hardware) => {
    const { namespace, name } = hw.metadata;
    const ifs = hw.spec.interfaces ?? [];
    const allowed = allowsPxe(hw);
    const wf = workflows.get(keyOf(namespace, name));
    return h(
      "tr",
      { "data-hardware": keyOf(namespace, name) },
      h("td", null, name),
      h("td", null, namespace),
      h("td", null, ifs.map((i) => h("div", null, h("code", null, i.dhcp?.mac ?? "")))),
      h("td", null, ifs.map((i) => h("div", null, i.dhcp?.ip?.address ?? ""))),
      h("td", null, ifs[0]?.dhcp?.hostname ?? ""),
      h(
        "td",
        null,
        h(
          "button",
          {
            type: "button",
            role: "switch",
            class: "switch",
            "aria-checked": allowed ? "true" : "false",
            "aria-label": `Netboot ${name}`,
            onclick: () => void toggle(hw, !allowed),
          },
          allowed ? "on" : "off",
        ),
      ),
      h("td", null, power(hw)),
      h("td", null, wf ? [link(workflowHash(wf.metadata.namespace, wf.metadata.name), wf.metadata.name), " ", badge(wf.status.state)] : h("span", { class: "muted" }, "none")),
      h("td", null, link(syslogHash(namespace, name), "syslog")),
    );
  };

  const draw = () => {
    const rows = [...hardware.values()].sort((a, b) => keyOf(a.metadata.namespace, a.metadata.name).localeCompare(keyOf(b.metadata.namespace, b.metadata.name)));
    replace(body, rows.length ? rows.map(row) : h("tr", null, h("td", { colspan: 9, class: "empty" }, "No Hardware yet. Apply some manifests.")));
  };

  const loadWorkflows = async () => {
    const list = await api<Workflow[]>("/workflows");
    workflows.clear();
    // The newest workflow of each Hardware.
    for (const wf of list.sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp))) {
      if (wf.spec.hardwareRef) workflows.set(keyOf(wf.metadata.namespace, wf.spec.hardwareRef), wf);
    }
  };
  const loadMachines = async () => {
    try {
      const list = await api<Machine[]>("/machines");
      machines = new Map(list.map((m) => [keyOf(m.metadata.namespace, m.metadata.name), m]));
    } catch (e) {
      // An older wispd without BMC support: show no power column data.
      if (e instanceof ApiError && (e.status === 400 || e.status === 404)) machines = undefined;
      else throw e;
    }
  };
  const loadAll = async () => {
    try {
      const [list] = await Promise.all([api<Hardware[]>("/hardware"), loadWorkflows(), loadMachines()]);
      hardware.clear();
      for (const hw of list) hardware.set(keyOf(hw.metadata.namespace, hw.metadata.name), hw);
      replace(status);
      draw();
    } catch (e) {
      replace(status, alertBox(e));
    }
  };
  const refetch = coalesce(async (key) => {
    if (key === "workflows") await loadWorkflows();
    else {
      const [ns, name] = splitKey(key);
      try {
        hardware.set(key, await api<Hardware>(objectPath("hardware", ns, name)));
      } catch {
        hardware.delete(key);
      }
    }
    draw();
  }, 500); // every report of every workflow reaches this page: read the list at most twice a second
  const timer = setInterval(() => {
    if (machines) void loadMachines().then(draw, () => {});
  }, MACHINE_REFRESH_MS);
  void loadAll();
  return {
    change(e) {
      if (e.kind === "Hardware") refetch(keyOf(e.namespace, e.name));
      else if (e.kind === "Workflow") refetch("workflows");
    },
    reset: () => void loadAll(),
    dispose: () => clearInterval(timer),
  };
};
