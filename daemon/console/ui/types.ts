/** The API's objects as the console reads them (the fields it uses). */

export interface Meta {
  name: string;
  namespace: string;
  uid: string;
  creationTimestamp: string;
  resourceVersion: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface HardwareInterface {
  dhcp?: { mac?: string; hostname?: string; ip?: { address?: string } };
  netboot?: { allowPXE?: boolean; allowWorkflow?: boolean };
}

export interface Hardware {
  apiVersion: string;
  kind: "Hardware";
  metadata: Meta;
  spec: { interfaces?: HardwareInterface[]; bmcRef?: { name?: string; kind?: string }; [k: string]: unknown };
}

export interface Template {
  kind: "Template";
  metadata: Meta;
  spec: { data?: string };
}

export interface ActionStatus {
  id: string;
  taskName: string;
  name: string;
  image: string;
  timeout: number;
  state: string;
  attempt: number;
  retries: number;
  startedAt?: string;
  finishedAt?: string;
  durationSeconds?: number;
  message?: string;
}

export interface Workflow {
  kind: "Workflow";
  metadata: Meta;
  spec: { templateRef?: string; hardwareRef?: string };
  status: {
    state: string;
    globalTimeout: number;
    startedAt?: string;
    finishedAt?: string;
    currentAction?: string;
    currentActionIndex: number;
    totalActions: number;
    tasks: { name: string; worker: string; actions: ActionStatus[] }[];
  };
}

export interface WorkflowEvent {
  id: number;
  at: string;
  type: string;
  from?: string;
  to?: string;
  actionName?: string;
  message?: string;
}

export interface LogEntry {
  id: number;
  at: string;
  actionId: string;
  actionName: string;
  attempt?: number;
  stream: "stdout" | "stderr";
  line: string;
}

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
