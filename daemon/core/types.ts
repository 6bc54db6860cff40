/**
 * What the API, the CLI and (later) the agent service ask of the core. Implemented by
 * `createCore()` in `daemon/core/core.ts` over a drizzle database (PGlite or PostgreSQL).
 */
import type { Diagnostic } from "../lib/errors.ts";
import type { Hardware, Job, JobTask, Kind, Machine, Manifest, ObjectMeta, Template, Workflow } from "../manifest/types.ts";
import type { ActionState, WorkflowState } from "../workflow/definition.ts";

/** Server-set metadata on every stored object. */
export interface StoredMeta extends ObjectMeta {
  uid: string;
  creationTimestamp: string;
  /** Increments on every change; lets clients detect concurrent edits. */
  resourceVersion: string;
}

export interface ActionStatus {
  /** Stable id, unique within the workflow; what the agent protocol calls action_id. */
  id: string;
  taskName: string;
  name: string;
  image: string;
  timeout: number;
  state: ActionState;
  attempt: number;
  retries: number;
  startedAt?: string;
  finishedAt?: string;
  /** Seconds, when started. */
  durationSeconds?: number;
  message?: string;
}

export interface WorkflowStatus {
  state: WorkflowState;
  globalTimeout: number;
  startedAt?: string;
  finishedAt?: string;
  currentTask?: string;
  currentAction?: string;
  /** 0-based index into the flattened action list; equals totalActions when all are done. */
  currentActionIndex: number;
  totalActions: number;
  tasks: { name: string; worker: string; actions: ActionStatus[] }[];
}

export type StoredHardware = Hardware & { metadata: StoredMeta };
export type StoredTemplate = Template & { metadata: StoredMeta };
export type StoredWorkflow = Workflow & { metadata: StoredMeta; status: WorkflowStatus };
export type StoredObject = StoredHardware | StoredTemplate | StoredWorkflow | StoredMachine | StoredJob | StoredSecret;

/** A status condition as Rufio writes them (`Contactable` on a Machine; `Running`, `Completed`, `Failed` on a Job). */
export interface Condition {
  type: string;
  status: "True" | "False";
  message?: string;
  lastUpdateTime?: string;
}

/** What the poller last learnt of a Machine's BMC. */
export interface MachineStatus {
  powerState: "on" | "off" | "unknown";
  /** The provider that last answered: ipmitool or redfish. */
  provider?: string;
  polledAt?: string;
  /** Why the last poll failed (never a credential); absent once a poll succeeds. */
  lastError?: string;
  conditions: Condition[];
}

export type JobState = "Pending" | "Running" | "Completed" | "Failed";

/** One step of a Job as it ran. */
export interface JobStepStatus {
  index: number;
  /** A one-line description: `power off`, `one-time boot pxe (efi)`. */
  action: string;
  task: JobTask;
  state: JobState;
  /** Attempts made so far (0 before the first). */
  attempt: number;
  retries: number;
  /** Seconds one attempt may take. */
  timeout: number;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
}

export interface JobStatus {
  state: JobState;
  message?: string;
  startTime?: string;
  completionTime?: string;
  conditions: Condition[];
  steps: JobStepStatus[];
  /** `namespace/name` of the workflow that made the job, and why (`netboot`, `disk-boot`). */
  workflow?: string;
  purpose?: string;
}

export type StoredMachine = Machine & { metadata: StoredMeta; status: MachineStatus };
export type StoredJob = Job & { metadata: StoredMeta; status: JobStatus };
/** A Secret as the API shows it: which keys it holds, never their values. */
export interface StoredSecret {
  apiVersion: string;
  kind: "Secret";
  metadata: StoredMeta;
  type?: string;
  keys: string[];
}

/** One recorded state change of a workflow or one of its actions. */
export interface WorkflowEvent {
  id: number;
  at: string;
  /** e.g. `workflow.state`, `action.state`, `hardware.allowPXE`. */
  type: string;
  from?: string;
  to?: string;
  actionId?: string;
  actionName?: string;
  message?: string;
}

export type ApplyOutcome = "created" | "configured" | "unchanged";

export interface ApplyResult {
  objects: { kind: Kind; namespace: string; name: string; outcome: ApplyOutcome }[];
  warnings: Diagnostic[];
}

/** A parsed manifest with where it came from, so errors can name the document. */
export interface SourcedManifest {
  source: string;
  document: number;
  object: Manifest;
}

/**
 * The fields of Tinkerbell's ActionResponse: what an agent is told to run. One shape for the
 * core's assignment, the gRPC message (daemon/grpc/codec.ts) and the agent's action (agent/runner.ts).
 */
export interface ActionResponseFields {
  workflowId: string;
  taskId: string;
  agentId: string;
  actionId: string;
  name: string;
  image: string;
  /** Seconds; 0: no limit. */
  timeout: number;
  command: string[];
  volumes: string[];
  /** Sorted `K=V`. */
  environment: string[];
  pid: string;
  namespaces: { network: string; pid: string };
}

/** The action an agent should run next, and which of its tries this is. */
export interface ActionAssignment extends ActionResponseFields {
  retries: number;
  attempt: number;
}

/** A status report from an agent (fields of Tinkerbell's ActionStatusRequest). */
export interface ActionReport {
  workflowId: string;
  agentId: string;
  taskId?: string;
  actionId: string;
  actionName?: string;
  state: ActionState;
  startedAt?: Date;
  stoppedAt?: Date;
  message?: string;
}

/** One output line of an action as an agent numbered it (wisp.v1.ActionLogs). */
export interface ActionLogLine {
  /** Per action attempt, from 1; a repeated seq is a retried line and stored once. */
  seq: number;
  at: Date;
  stream: "stdout" | "stderr";
  line: string;
}

/** A batch of an action's output from its agent. */
export interface ActionLogReport {
  /** `namespace/name`, as in ActionResponse. */
  workflowId: string;
  agentId: string;
  actionId: string;
  attempt: number;
  lines: ActionLogLine[];
}

/** What a stored batch did: lines new to the store, and the highest seq kept for the attempt. */
export interface ActionLogAck {
  stored: number;
  lastSeq: number;
}

/** One stored line of a workflow's action logs, as the API gives it; `id` is the `since` cursor. */
export interface WorkflowLogEntry {
  id: number;
  at: string;
  actionId: string;
  actionName: string;
  attempt?: number;
  stream: "stdout" | "stderr";
  line: string;
}

/** Lines of a workflow and its state read before them (terminal: no lines will follow but a last flush). */
export interface WorkflowLogPage {
  state: WorkflowState;
  lines: WorkflowLogEntry[];
}

/** The core's operations; every method throws `WispError` for domain errors. */
export interface Core {
  /** Validates and stores all objects in one transaction: all or nothing. */
  apply(objects: SourcedManifest[], opts?: { dryRun?: boolean }): Promise<ApplyResult>;
  list(kind: Kind, namespace?: string): Promise<StoredObject[]>;
  get(kind: Kind, namespace: string, name: string): Promise<StoredObject>;
  create(object: Manifest): Promise<StoredObject>;
  update(object: Manifest): Promise<StoredObject>;
  delete(kind: Kind, namespace: string, name: string): Promise<void>;
  events(namespace: string, name: string): Promise<WorkflowEvent[]>;

  /** Next action for an agent; throws not_found (nothing to do) or invalid_state (not runnable). */
  getAction(agentId: string): Promise<ActionAssignment>;
  /** Applies an agent's report transactionally; repeated reports are idempotent. */
  reportAction(report: ActionReport): Promise<void>;
  /** Stores an agent's output lines for its current (or just finished) action; throws invalid_state for any other action or agent. */
  appendActionLogs(report: ActionLogReport): Promise<ActionLogAck>;
  /** A workflow's action log lines after `since` (an entry id), oldest first; `action` is a name or id. */
  workflowLogs(namespace: string, name: string, opts?: { action?: string; since?: number; limit?: number }): Promise<WorkflowLogPage>;
  /** Ends workflows past their global or action timeout; returns how many changed. */
  sweepTimeouts(now?: Date): Promise<number>;
  /** Resets a terminal workflow (SUCCESS/FAILED/TIMEOUT) to PENDING with every action PENDING. */
  rerunWorkflow(namespace: string, name: string): Promise<StoredWorkflow>;
  /** Ends an unfinished workflow (PREPARING/PENDING/RUNNING) in FAILED, "cancelled by operator"; throws invalid_state when it has finished. */
  cancelWorkflow(namespace: string, name: string): Promise<StoredWorkflow>;

  /** Store reachable (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
