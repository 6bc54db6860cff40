/** The logger type every component receives; pino JSON lines (no transports: they fail when compiled). */
import pino from "pino";

export type Logger = pino.Logger;

/** Creates the process logger writing JSON lines to stdout. */
export function createLogger(level: string, name = "wispd"): Logger {
  return pino({ name, level, base: { name }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/**
 * The fields that tie a line to one machine, so one filter follows its boot across DHCP, TFTP,
 * HTTP, metadata, gRPC, syslog and the core (`jq 'select(.mac=="1c:69:7a:11:22:33")'`):
 * `mac` (lower-case, colons), `hardware` and `workflow` (both namespace/name).
 */
export interface MachineFields {
  mac?: string;
  hardware?: string;
  workflow?: string;
}

/** The machine fields that are known, ready to spread into a log call (no undefined keys). */
export function machineFields(m: MachineFields): MachineFields {
  const out: MachineFields = {};
  if (m.mac) out.mac = m.mac.toLowerCase();
  if (m.hardware) out.hardware = m.hardware;
  if (m.workflow) out.workflow = m.workflow;
  return out;
}

/** A child logger whose every line carries the machine's fields (for a sequence of lines about one machine). */
export function machineLogger(log: Logger, m: MachineFields): Logger {
  return log.child(machineFields(m));
}

/** A machine as the lookups know it: the hardware index's host, when there is one. */
export interface KnownHost {
  namespace: string;
  hardwareName: string;
  mac: string;
}

/** The fields of a host the hardware index returned (or only the MAC when none). */
export function hostFields(host: KnownHost | undefined, mac?: string): MachineFields {
  return machineFields({ mac: host?.mac ?? mac, hardware: host ? `${host.namespace}/${host.hardwareName}` : undefined });
}

const MAC_SHAPE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** The workflow a line is about, as the core holds it. */
export interface WorkflowRef {
  namespace: string;
  name: string;
  hardwareRef?: string | null;
  /** Template device -> MAC (or name), e.g. { device_1: "1c:69:7a:11:22:33" }. */
  hardwareMap?: Record<string, string>;
}

/**
 * The machine fields of a workflow: `workflow`, the Hardware it references, and the MAC: the
 * agent's id when it is a MAC (Tinkerbell's worker ids are), else the first MAC in its device map.
 */
export function workflowFields(wf: WorkflowRef, agentId?: string): MachineFields {
  const mac = agentId && MAC_SHAPE.test(agentId) ? agentId : Object.values(wf.hardwareMap ?? {}).find((v) => MAC_SHAPE.test(v));
  return machineFields({ mac, hardware: wf.hardwareRef ? `${wf.namespace}/${wf.hardwareRef}` : undefined, workflow: `${wf.namespace}/${wf.name}` });
}
