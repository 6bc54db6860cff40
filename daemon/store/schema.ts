/**
 * The database schema as code. drizzle-kit generates the SQL in `drizzle/` from this file; the
 * same migrations run on embedded PGlite and on PostgreSQL.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  unique,
  uuid,
} from "drizzle-orm/pg-core";
import type { BootMode, HardwareSpec, JobSpec, JobTask, MachineSpec, TemplateSpec, WorkflowSpec } from "../manifest/types.ts";
import type { ActionState, WorkflowState } from "../workflow/definition.ts";

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();
const stamp = (name: string) => timestamp(name, { withTimezone: true });
const labels = () => jsonb("labels").$type<Record<string, string>>();
const annotations = () => jsonb("annotations").$type<Record<string, string>>();
// bigint as a JS number: a resource version will not pass 2^53.
const resourceVersion = () => bigint("resource_version", { mode: "number" }).notNull().default(1);

/** Machines; `macs` mirrors spec.interfaces[].dhcp.mac (normalised) for lookups and uniqueness. */
export const hardware = pgTable(
  "hardware",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    labels: labels(),
    annotations: annotations(),
    spec: jsonb("spec").$type<HardwareSpec>().notNull(),
    macs: text("macs").array().notNull().default(sql`'{}'::text[]`),
    agentId: text("agent_id"),
    resourceVersion: resourceVersion(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("hardware_namespace_name_key").on(t.namespace, t.name),
    index("hardware_macs_idx").using("gin", t.macs),
    index("hardware_agent_id_idx").on(t.agentId),
  ],
);

/** Workflow templates: `data` is the Go-template text, kept verbatim. */
export const templates = pgTable(
  "templates",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    labels: labels(),
    annotations: annotations(),
    data: text("data").notNull(),
    spec: jsonb("spec").$type<TemplateSpec>().notNull(),
    resourceVersion: resourceVersion(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [unique("templates_namespace_name_key").on(t.namespace, t.name)],
);

const WORKFLOW_STATES = "'PREPARING','PENDING','RUNNING','POST','SUCCESS','FAILED','TIMEOUT'";
const ACTION_STATES = "'PENDING','RUNNING','SUCCESS','FAILED','TIMEOUT'";

/** Workflows with their rendered definition and run position. */
export const workflows = pgTable(
  "workflows",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    labels: labels(),
    annotations: annotations(),
    spec: jsonb("spec").$type<WorkflowSpec>().notNull(),
    templateRef: text("template_ref").notNull(),
    hardwareRef: text("hardware_ref"),
    hardwareMap: jsonb("hardware_map").$type<Record<string, string>>().notNull().default({}),
    disabled: boolean("disabled").notNull().default(false),
    toggleAllowNetboot: boolean("toggle_allow_netboot").notNull().default(false),
    bootMode: text("boot_mode").$type<BootMode>(),
    state: text("state").$type<WorkflowState>().notNull(),
    /** The template output (YAML) exactly as rendered at creation. */
    rendered: text("rendered").notNull(),
    globalTimeout: integer("global_timeout").notNull().default(0),
    startedAt: stamp("started_at"),
    finishedAt: stamp("finished_at"),
    currentActionIndex: integer("current_action_index").notNull().default(0),
    totalActions: integer("total_actions").notNull(),
    resourceVersion: resourceVersion(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("workflows_namespace_name_key").on(t.namespace, t.name),
    index("workflows_state_idx").on(t.state),
    index("workflows_hardware_idx").on(t.namespace, t.hardwareRef),
    check("workflows_state_check", sql.raw(`state IN (${WORKFLOW_STATES})`)),
  ],
);

/** Rendered tasks; `worker` is a normalised MAC or an agent id. */
export const workflowTasks = pgTable(
  "workflow_tasks",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workflowId: uuid("workflow_id")
      .notNull()
      .references(() => workflows.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    name: text("name").notNull(),
    worker: text("worker").notNull(),
    volumes: text("volumes").array().notNull(),
    environment: jsonb("environment").$type<Record<string, string>>().notNull(),
  },
  (t) => [
    unique("workflow_tasks_position_key").on(t.workflowId, t.position),
    index("workflow_tasks_worker_idx").on(t.worker),
  ],
);

/** Rendered actions, flattened in run order (`position` across all tasks). */
export const workflowActions = pgTable(
  "workflow_actions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    workflowId: uuid("workflow_id")
      .notNull()
      .references(() => workflows.id, { onDelete: "cascade" }),
    taskId: uuid("task_id")
      .notNull()
      .references(() => workflowTasks.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    name: text("name").notNull(),
    image: text("image").notNull(),
    timeout: integer("timeout").notNull().default(0),
    command: text("command").array().notNull(),
    /** Task environment merged under the action's. */
    environment: jsonb("environment").$type<Record<string, string>>().notNull(),
    /** Task volumes, then the action's. */
    volumes: text("volumes").array().notNull(),
    pid: text("pid").notNull().default(""),
    namespaces: jsonb("namespaces").$type<{ network?: string; pid?: string }>().notNull(),
    onTimeout: text("on_timeout").array().notNull(),
    onFailure: text("on_failure").array().notNull(),
    retries: integer("retries").notNull().default(0),
    state: text("state").$type<ActionState>().notNull().default("PENDING"),
    attempt: integer("attempt").notNull().default(1),
    startedAt: stamp("started_at"),
    finishedAt: stamp("finished_at"),
    message: text("message"),
  },
  (t) => [
    unique("workflow_actions_position_key").on(t.workflowId, t.position),
    index("workflow_actions_running_idx").on(t.state),
    check("workflow_actions_state_check", sql.raw(`state IN (${ACTION_STATES})`)),
  ],
);

/** State history of a workflow and its actions, append-only. */
export const workflowEvents = pgTable(
  "workflow_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    workflowId: uuid("workflow_id")
      .notNull()
      .references(() => workflows.id, { onDelete: "cascade" }),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    type: text("type").notNull(),
    from: text("from_state"),
    to: text("to_state"),
    actionId: uuid("action_id"),
    actionName: text("action_name"),
    message: text("message"),
  },
  (t) => [index("workflow_events_workflow_idx").on(t.workflowId, t.id)],
);

/** Container output of actions, bounded per action (see store/logs.ts). */
export const actionLogs = pgTable(
  "action_logs",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    workflowId: uuid("workflow_id")
      .notNull()
      .references(() => workflows.id, { onDelete: "cascade" }),
    actionId: uuid("action_id")
      .notNull()
      .references(() => workflowActions.id, { onDelete: "cascade" }),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    stream: text("stream").$type<"stdout" | "stderr">().notNull(),
    line: text("line").notNull(),
    /** Attempt and per-attempt sequence number an agent gave the line (wisp.v1.ActionLogs); a retried batch repeats them. */
    attempt: integer("attempt"),
    seq: bigint("seq", { mode: "number" }),
  },
  (t) => [
    index("action_logs_action_idx").on(t.actionId, t.id),
    unique("action_logs_seq_key").on(t.actionId, t.attempt, t.seq),
    index("action_logs_workflow_idx").on(t.workflowId, t.id),
    check("action_logs_stream_check", sql`${t.stream} IN ('stdout','stderr')`),
  ],
);

const BMC_JOB_STATES = "'Pending','Running','Completed','Failed'";

/** Secrets (v1): BMC credentials. `data` holds the decoded values; the API never returns them. */
export const secrets = pgTable(
  "secrets",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    labels: labels(),
    annotations: annotations(),
    type: text("type"),
    data: jsonb("data").$type<Record<string, string>>().notNull(),
    resourceVersion: resourceVersion(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [unique("secrets_namespace_name_key").on(t.namespace, t.name)],
);

/** BMC Machines (bmc.tinkerbell.org Machine) with the power state the poller last saw. */
export const machines = pgTable(
  "machines",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    labels: labels(),
    annotations: annotations(),
    spec: jsonb("spec").$type<MachineSpec>().notNull(),
    powerState: text("power_state").$type<"on" | "off" | "unknown">().notNull().default("unknown"),
    /** The provider that last answered (ipmitool, redfish). */
    provider: text("provider"),
    polledAt: stamp("polled_at"),
    /** Last poll or step error (never holds a credential); null once a poll succeeds. */
    lastError: text("last_error"),
    failures: integer("failures").notNull().default(0),
    resourceVersion: resourceVersion(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [unique("machines_namespace_name_key").on(t.namespace, t.name)],
);

/** BMC Jobs: an ordered list of steps against one Machine; `workflowId` when a workflow made it. */
export const jobs = pgTable(
  "jobs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    namespace: text("namespace").notNull(),
    name: text("name").notNull(),
    labels: labels(),
    annotations: annotations(),
    spec: jsonb("spec").$type<JobSpec>().notNull(),
    machineNamespace: text("machine_namespace").notNull(),
    machineName: text("machine_name").notNull(),
    state: text("state").$type<"Pending" | "Running" | "Completed" | "Failed">().notNull().default("Pending"),
    message: text("message"),
    startedAt: stamp("started_at"),
    finishedAt: stamp("finished_at"),
    workflowId: uuid("workflow_id").references(() => workflows.id, { onDelete: "set null" }),
    /** Why a workflow made the job: `netboot` (PREPARING) or `disk-boot` (after SUCCESS). */
    purpose: text("purpose"),
    resourceVersion: resourceVersion(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("jobs_namespace_name_key").on(t.namespace, t.name),
    index("jobs_state_idx").on(t.state),
    index("jobs_machine_idx").on(t.machineNamespace, t.machineName),
    check("jobs_state_check", sql.raw(`state IN (${BMC_JOB_STATES})`)),
  ],
);

/** The steps of a job, in order, with their own state, attempts and times. */
export const jobSteps = pgTable(
  "job_steps",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    jobId: uuid("job_id")
      .notNull()
      .references(() => jobs.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    task: jsonb("task").$type<JobTask>().notNull(),
    state: text("state").$type<"Pending" | "Running" | "Completed" | "Failed">().notNull().default("Pending"),
    attempt: integer("attempt").notNull().default(0),
    retries: integer("retries").notNull(),
    timeout: integer("timeout").notNull(),
    startedAt: stamp("started_at"),
    finishedAt: stamp("finished_at"),
    message: text("message"),
  },
  (t) => [
    unique("job_steps_position_key").on(t.jobId, t.position),
    check("job_steps_state_check", sql.raw(`state IN (${BMC_JOB_STATES})`)),
  ],
);
