/** Rendering of API objects for people: tables, ages, durations, describe pages. */
import YAML from "yaml";
import type { StoredHardware, StoredJob, StoredMachine, StoredObject, StoredSecret, StoredWorkflow, WorkflowEvent } from "../daemon/core/types.ts";

/** A machine's text must not drive the operator's terminal: control characters (ESC above all) are shown, not sent. */
export const visible = (text: string): string =>
  text.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);

/** Compact age like kubectl: 45s, 12m, 3h, 5d. */
export function age(since: string | undefined, now = Date.now()): string {
  if (!since) return "-";
  const s = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Duration in seconds as `4.2s`, `3m05s`, `1h02m`. */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined) return "-";
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.floor(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** Left-aligned columns separated by three spaces, header first. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("   ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

function hardwareRow(h: StoredHardware): string[] {
  const ifaces = h.spec.interfaces ?? [];
  const macs = ifaces.map((i) => i.dhcp?.mac).filter(Boolean).join(",") || "-";
  const ips = ifaces.map((i) => i.dhcp?.ip?.address).filter(Boolean).join(",") || "-";
  const host = ifaces.find((i) => i.dhcp?.hostname)?.dhcp?.hostname ?? "-";
  const pxe = ifaces.length ? String(ifaces.every((i) => i.netboot?.allowPXE === true)) : "-";
  return [macs, ips, host, pxe];
}

function workflowRow(w: StoredWorkflow): string[] {
  const st = w.status;
  const done = Math.min(st.currentActionIndex, st.totalActions);
  return [w.spec.templateRef ?? "-", w.spec.hardwareRef ?? "-", st.state, `${done}/${st.totalActions}`, st.currentAction ?? "-"];
}

/** A table of objects of one kind; `wide` adds the namespace column. */
export function objectTable(objects: StoredObject[], withNamespace: boolean): string {
  const kind = objects[0]?.kind;
  const ns = (o: StoredObject) => (withNamespace ? [o.metadata.namespace] : []);
  const head = withNamespace ? ["NAMESPACE", "NAME"] : ["NAME"];
  if (kind === "Hardware") {
    return table([...head, "MAC", "IP", "HOSTNAME", "ALLOWPXE", "AGE"], objects.map((o) => [...ns(o), o.metadata.name, ...hardwareRow(o as StoredHardware), age(o.metadata.creationTimestamp)]));
  }
  if (kind === "Workflow") {
    return table([...head, "TEMPLATE", "HARDWARE", "STATE", "ACTIONS", "CURRENT", "AGE"], objects.map((o) => [...ns(o), o.metadata.name, ...workflowRow(o as StoredWorkflow), age(o.metadata.creationTimestamp)]));
  }
  if (kind === "Machine") {
    return table([...head, "HOST", "POWER", "PROVIDER", "POLLED", "ERROR", "AGE"], objects.map((o) => [...ns(o), o.metadata.name, ...machineRow(o as StoredMachine), age(o.metadata.creationTimestamp)]));
  }
  if (kind === "Job") {
    return table([...head, "MACHINE", "STATE", "STEPS", "MESSAGE", "AGE"], objects.map((o) => [...ns(o), o.metadata.name, ...jobRow(o as StoredJob), age(o.metadata.creationTimestamp)]));
  }
  if (kind === "Secret") {
    return table([...head, "TYPE", "KEYS", "AGE"], objects.map((o) => [...ns(o), o.metadata.name, (o as StoredSecret).type ?? "-", (o as StoredSecret).keys.join(",") || "-", age(o.metadata.creationTimestamp)]));
  }
  return table([...head, "AGE"], objects.map((o) => [...ns(o), o.metadata.name, age(o.metadata.creationTimestamp)]));
}

function machineRow(m: StoredMachine): string[] {
  const c = m.spec.connection;
  const host = c?.host ? `${c.host}${c.port ? `:${c.port}` : ""}` : "-";
  const polled = m.status.polledAt ? `${age(m.status.polledAt)} ago` : "never";
  return [visible(host), m.status.powerState, m.status.provider ?? "-", polled, visible(m.status.lastError ?? "-")];
}

function jobRow(j: StoredJob): string[] {
  const st = j.status;
  const done = st.steps.filter((s) => s.state === "Completed").length;
  const machine = j.spec.machineRef?.name ?? "-";
  const running = st.steps.find((s) => s.state === "Running");
  const message = st.message ?? (running ? `${running.action} (attempt ${running.attempt})` : "-");
  return [machine, st.state, `${done}/${st.steps.length}`, visible(message)];
}

/** The object as a manifest document (what `get -o yaml` prints). */
export function toYaml(value: unknown): string {
  return YAML.stringify(value, { lineWidth: 0 });
}

/** A describe page: identity, spec, and for workflows the actions and the event history. */
export function describe(o: StoredObject, events: WorkflowEvent[] = []): string {
  const out = [
    `Name:        ${o.metadata.name}`,
    `Namespace:   ${o.metadata.namespace}`,
    `Kind:        ${o.kind}`,
    `UID:         ${o.metadata.uid}`,
    `Created:     ${o.metadata.creationTimestamp} (${age(o.metadata.creationTimestamp)} ago)`,
  ];
  if (o.kind === "Secret") {
    out.push(`Type:        ${o.type ?? "-"}`, `Keys:        ${o.keys.join(", ") || "-"} (values are never shown)`);
    return out.join("\n");
  }
  if (o.kind === "Job") {
    const st = o.status;
    out.push(
      `Machine:     ${o.spec.machineRef?.namespace ?? o.metadata.namespace}/${o.spec.machineRef?.name ?? "-"}`,
      `State:       ${st.state}${st.message ? ` (${visible(st.message)})` : ""}`,
      `Started:     ${st.startTime ?? "-"}`,
      `Finished:    ${st.completionTime ?? "-"}`,
      ...(st.workflow ? [`Workflow:    ${st.workflow} (${st.purpose ?? "-"})`] : []),
      "Steps:",
      indent(
        table(
          ["#", "ACTION", "STATE", "ATTEMPT", "TIMEOUT", "MESSAGE"],
          st.steps.map((s) => [String(s.index), s.action, s.state, `${s.attempt}/${s.retries + 1}`, `${s.timeout}s`, visible(s.message ?? "")]),
        ),
      ),
    );
    return out.join("\n");
  }
  if (o.kind === "Machine") {
    out.push(
      `Power:       ${o.status.powerState}${o.status.provider ? ` (${o.status.provider})` : ""}`,
      `Polled:      ${o.status.polledAt ?? "never"}`,
      `Last error:  ${visible(o.status.lastError ?? "-")}`,
      "Spec:",
      indent(toYaml(o.spec)),
    );
    return out.join("\n");
  }
  if (o.kind !== "Workflow") {
    out.push("Spec:", indent(toYaml(o.spec)));
    return out.join("\n");
  }
  const st = o.status;
  out.push(
    `Template:    ${o.spec.templateRef ?? "-"}`,
    `Hardware:    ${o.spec.hardwareRef ?? "-"}`,
    `State:       ${st.state}`,
    `Progress:    ${Math.min(st.currentActionIndex, st.totalActions)}/${st.totalActions} actions`,
    `Timeout:     ${st.globalTimeout ? st.globalTimeout + "s (global)" : "none"}`,
    `Started:     ${st.startedAt ?? "-"}`,
    `Finished:    ${st.finishedAt ?? "-"}`,
    "Actions:",
  );
  const rows = st.tasks.flatMap((t) =>
    t.actions.map((a) => [t.name, t.worker, a.name, a.state, duration(a.durationSeconds), a.retries ? `${a.attempt}/${a.retries + 1}` : "-", a.image]),
  );
  out.push(indent(table(["TASK", "WORKER", "ACTION", "STATE", "DURATION", "ATTEMPT", "IMAGE"], rows)));
  out.push("Events:");
  out.push(
    events.length
      ? indent(table(["TIME", "TYPE", "FROM", "TO", "ACTION", "MESSAGE"], events.map((e) => [e.at, e.type, e.from ?? "", e.to ?? "", e.actionName ?? "", e.message ?? ""])))
      : "  <none>",
  );
  return out.join("\n");
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((l) => "  " + l)
    .join("\n");
}
