/**
 * The API's objects as the console reads them (the fields it uses). Those the core declares
 * whole are its own types (type-only imports: nothing of the daemon reaches the bundle).
 */
import type { ActionStatus, WorkflowEvent, WorkflowLogEntry, WorkflowStatus } from "../../core/types.ts";

export type { ActionStatus, WorkflowEvent };
/** One action log line (GET .../workflows/NAME/logs). */
export type LogEntry = WorkflowLogEntry;

/** Server-set object metadata. */
export interface Meta {
  name: string;
  namespace: string;
  uid: string;
  creationTimestamp: string;
  resourceVersion: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** One interface of a Hardware. */
export interface HardwareInterface {
  dhcp?: { mac?: string; hostname?: string; ip?: { address?: string } };
  netboot?: { allowPXE?: boolean; allowWorkflow?: boolean };
}

/** A Hardware as the API returns it. */
export interface Hardware {
  apiVersion: string;
  kind: "Hardware";
  metadata: Meta;
  spec: { interfaces?: HardwareInterface[]; bmcRef?: { name?: string; kind?: string }; [k: string]: unknown };
}

/** A Template as the API returns it. */
export interface Template {
  kind: "Template";
  metadata: Meta;
  spec: { data?: string };
}

/** A Workflow with its status. */
export interface Workflow {
  kind: "Workflow";
  metadata: Meta;
  spec: { templateRef?: string; hardwareRef?: string };
  status: WorkflowStatus;
}

/** One syslog line (GET .../hardware/NAME/logs). */
export interface SyslogLine {
  seq: number;
  receivedAt: string;
  peer: string;
  hostname?: string;
  app?: string;
  procId?: string;
  severity?: string;
  message: string;
  error?: string;
}

/** A BMC Machine (when this wispd has them) with its polled power state. */
export interface Machine {
  metadata: Meta;
  status?: { powerState?: "on" | "off" | "unknown"; polledAt?: string; lastError?: string };
}

/** One entry of /api/v1/events. */
export interface FeedEntry {
  seq: number;
  at: string;
  kind: "Hardware" | "Template" | "Workflow" | "ActionLogs";
  namespace: string;
  name: string;
  op: "created" | "configured" | "deleted" | "state" | "lines";
  state?: string;
  actionId?: string;
  lines?: number;
}
