/**
 * Stage timings of one provisioning run, read from wispd's JSON log lines (each has `time`) and
 * the VM's serial console (whose stages the harness marks when it sees them: the console has no
 * clock of its own). Every stage is an absolute time; the table shows seconds since qemu started
 * and since the stage before.
 */

type Log = Record<string, unknown>;

/** One stage: a name and when it happened (Date.now() scale). */
export interface StageTime {
  stage: string;
  epochMs: number;
}

/** What identifies the machine in wispd's log. */
export interface Machine {
  mac: string;
  ip: string;
  /** The workflow's action names, in order. */
  actions: string[];
}

const time = (l: Log): number => Date.parse(String(l.time));

/**
 * The stages wispd's log shows for `m` from `sinceMs` on: DHCP, the iPXE script, kernel and
 * initrd, the agent's first call (its first GetAction, answered or not), each action's start
 * and end, the DHCP of the boot after the reboot, and the installed system's metadata calls.
 */
export function wispdStages(logs: Log[], m: Machine, sinceMs: number): StageTime[] {
  const out: StageTime[] = [];
  const after = logs.filter((l) => typeof l.time === "string" && time(l) >= sinceMs);
  const first = (stage: string, match: (l: Log) => boolean, from = sinceMs) => {
    const l = after.find((x) => time(x) >= from && match(x));
    if (l) out.push({ stage, epochMs: time(l) });
    return l === undefined ? undefined : time(l);
  };
  const isMac = (l: Log) => String(l.mac ?? "").toLowerCase() === m.mac;
  const fromVm = (l: Log) => String(l.peer ?? "").split(":")[0] === m.ip || String(l.peer ?? "").startsWith(`${m.ip}:`);
  first("dhcp offer (1st boot)", (l) => l.msg === "dhcp reply" && l.message === "OFFER" && isMac(l));
  first("dhcp ack (1st boot)", (l) => l.msg === "dhcp reply" && l.message === "ACK" && isMac(l));
  first("ipxe script served", (l) => l.msg === "ipxe script served" && isMac(l));
  first("kernel requested", (l) => l.msg === "artifact served" && l.path === "vmlinuz-x86_64" && fromVm(l));
  first("initrd requested", (l) => l.msg === "artifact served" && l.path === "initramfs-x86_64" && fromVm(l));
  const agentCall = (l: Log) => ["action served", "no action for agent", "no runnable action for agent"].includes(String(l.msg)) && String(l.agentId ?? "").toLowerCase() === m.mac;
  first("agent up (first GetAction)", agentCall);
  let rebootAt: number | undefined;
  for (const action of m.actions) {
    const report = (state: string) => (l: Log) => l.msg === "action status reported" && l.action === action && String(l.state).toUpperCase() === state;
    first(`${action}: running`, report("RUNNING"));
    const done = first(`${action}: success`, report("SUCCESS"));
    if (done !== undefined) rebootAt = done;
  }
  if (rebootAt !== undefined) {
    first("dhcp offer (2nd boot)", (l) => l.msg === "dhcp reply" && l.message === "OFFER" && isMac(l), rebootAt);
    first("metadata: instance-id (installed system)", (l) => l.msg === "metadata served" && fromVm(l) && String(l.path).endsWith("/meta-data/instance-id"), rebootAt);
  }
  return out;
}

/** The metadata calls of `ip` for its instance id since `sinceMs` (wispd logs them at debug). */
export function instanceIdCalls(logs: Log[], ip: string, sinceMs: number): Log[] {
  return logs.filter((l) => l.msg === "metadata served" && String(l.peer) === ip && String(l.path).endsWith("/meta-data/instance-id") && time(l) >= sinceMs);
}

/** Aligned table: stage, seconds since `startMs`, seconds since the stage before. */
export function stageTable(stages: StageTime[], startMs: number): string {
  const rows = [...stages].sort((a, b) => a.epochMs - b.epochMs);
  const width = Math.max(5, ...rows.map((r) => r.stage.length));
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const lines = [`  ${"stage".padEnd(width)}  ${"at".padStart(8)}  ${"delta".padStart(8)}`];
  rows.forEach((r, i) => lines.push(`  ${r.stage.padEnd(width)}  ${s(r.epochMs - startMs).padStart(8)}  ${("+" + s(r.epochMs - (rows[i - 1]?.epochMs ?? startMs))).padStart(8)}`));
  return lines.join("\n");
}
