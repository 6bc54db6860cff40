/**
 * The workflow definition a Template renders to (Tinkerbell `version: "0.1"` YAML), after
 * validation. Durations are seconds, as users write them.
 */

export interface ActionDef {
  name: string;
  image: string;
  /** Seconds; 0 = no per-action limit. */
  timeout: number;
  command: string[];
  /** Merged: task environment under the action's. */
  environment: Record<string, string>;
  /** Task volumes first, then the action's (docker -v syntax). */
  volumes: string[];
  pid: string;
  namespaces: { network?: string; pid?: string };
  /** Beyond Tinkerbell: extra attempts after a failure (0 = run once). */
  retries: number;
  onTimeout: string[];
  onFailure: string[];
}

export interface TaskDef {
  name: string;
  /** Rendered worker id: a MAC address or an agent id. */
  worker: string;
  volumes: string[];
  environment: Record<string, string>;
  actions: ActionDef[];
}

export interface WorkflowDefinition {
  version: string;
  name: string;
  /** Seconds from the first action's start; 0 = none. */
  globalTimeout: number;
  tasks: TaskDef[];
}

/** Workflow states (Tinkerbell's, plus PREPARING/POST used by boot options). */
export type WorkflowState = "PREPARING" | "PENDING" | "RUNNING" | "POST" | "SUCCESS" | "FAILED" | "TIMEOUT";

/** Action states, numbered as Tinkerbell's StateType enum on the wire. */
export type ActionState = "PENDING" | "RUNNING" | "SUCCESS" | "FAILED" | "TIMEOUT";

/** States a workflow never leaves (until an explicit re-run). */
export const TERMINAL_STATES: readonly WorkflowState[] = ["SUCCESS", "FAILED", "TIMEOUT"];
