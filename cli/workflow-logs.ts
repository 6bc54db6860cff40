/**
 * `wisp logs workflow NAME`: the action output lines agents pushed for a workflow, printed once
 * or followed until the workflow ends (and its agent's last lines are in).
 */
import type { WorkflowLogEntry } from "../daemon/core/types.ts";
import type { ApiClient } from "./client.ts";
import { visible } from "./format.ts";

/** Lines asked for at once (the API's largest page for workflow logs). */
export const WORKFLOW_LOGS_PAGE = 1_000;
/** Header with the workflow's state (as daemon/api/workflow-log-routes.ts sends it). */
const STATE_HEADER = "x-wisp-workflow-state";
const TERMINAL = new Set(["SUCCESS", "FAILED", "TIMEOUT"]);

/** What `wisp logs workflow` was asked. */
export interface WorkflowLogsOptions {
  namespace: string;
  follow: boolean;
  /** Only this action (name or id). */
  action?: string;
  /** Only lines with a greater id. */
  since?: number;
  output: string;
  intervalMs: number;
}

/** Prints a workflow's lines; with `follow`, polls until the workflow is terminal and a poll after that brings nothing new. Returns 0. */
export async function workflowLogsCommand(client: ApiClient, name: string, opts: WorkflowLogsOptions, print: (line: string) => void): Promise<number> {
  const base = `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/workflows/${encodeURIComponent(name)}/logs`;
  let since = opts.since ?? 0;
  let ended = false;
  for (;;) {
    const q = new URLSearchParams({ since: String(since), limit: String(WORKFLOW_LOGS_PAGE) });
    if (opts.action !== undefined) q.set("action", opts.action);
    const page = await fetchPage(client, `${base}?${q}`);
    for (const l of page.lines) print(opts.output === "json" ? JSON.stringify(l) : formatWorkflowLogLine(l));
    since = page.lines.at(-1)?.id ?? since;
    if (page.lines.length === WORKFLOW_LOGS_PAGE) continue;
    if (!opts.follow) return 0;
    if (TERMINAL.has(page.state)) {
      // The agent ships its last lines right around its final report: one more quiet poll, then done.
      if (ended && page.lines.length === 0) return 0;
      ended = true;
    }
    await Bun.sleep(opts.intervalMs);
  }
}

/** `TIME ACTION[attempt] stream | line`; control characters are shown, not sent to the terminal. */
export function formatWorkflowLogLine(l: WorkflowLogEntry): string {
  const time = l.at.replace(/\.\d+Z$/, "Z");
  return visible(`${time} ${l.actionName}[${l.attempt ?? 1}] ${l.stream} | ${l.line}`);
}

async function fetchPage(client: ApiClient, path: string): Promise<{ state: string; lines: WorkflowLogEntry[] }> {
  const { rows, headers } = await client.jsonLines<WorkflowLogEntry>(path);
  return { state: headers.get(STATE_HEADER) ?? "", lines: rows };
}
