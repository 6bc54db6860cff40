/** `wisp workflow watch`: action-by-action progress until the workflow ends; the exit code says how. */
import type { StoredWorkflow } from "../daemon/core/types.ts";
import { type ApiClient, CliError } from "./client.ts";
import { duration } from "./format.ts";

/** How often watch polls the API. */
export const WATCH_INTERVAL_MS = 1_000;
/** Exit codes of `workflow watch` per terminal state (errors reaching the server exit 1). */
export const WATCH_EXIT = { SUCCESS: 0, FAILED: 3, TIMEOUT: 4 } as const;

type Print = (line: string) => void;

/** Polls until a terminal state, printing each change once; returns the exit code. */
export async function watchWorkflow(client: ApiClient, ns: string, name: string, print: Print, intervalMs = WATCH_INTERVAL_MS): Promise<number> {
  const seen = new Map<string, string>();
  let lastState = "";
  const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/workflows/${encodeURIComponent(name)}`;
  for (;;) {
    const wf = await client.request<StoredWorkflow>("GET", path);
    const st = wf.status;
    if (st.state !== lastState) {
      print(`${stamp()} workflow ${ns}/${name} ${st.state} (${Math.min(st.currentActionIndex, st.totalActions)}/${st.totalActions} actions)`);
      lastState = st.state;
    }
    let n = 0;
    for (const task of st.tasks) {
      for (const a of task.actions) {
        n++;
        const key = `${a.id}`;
        const mark = `${a.state}#${a.attempt}`;
        if (seen.get(key) === mark) continue;
        const first = !seen.has(key);
        seen.set(key, mark);
        if (first && a.state === "PENDING") continue;
        const took = a.state === "RUNNING" ? "" : ` in ${duration(a.durationSeconds)}`;
        const attempt = a.retries ? ` attempt ${a.attempt}/${a.retries + 1}` : "";
        const msg = a.message && a.state !== "RUNNING" ? `: ${a.message}` : "";
        print(`${stamp()}   [${n}/${st.totalActions}] ${task.name}/${a.name} ${a.state}${attempt}${took}${msg}`);
      }
    }
    if (st.state in WATCH_EXIT) {
      const total = st.startedAt && st.finishedAt ? ` in ${duration((Date.parse(st.finishedAt) - Date.parse(st.startedAt)) / 1000)}` : "";
      print(`${stamp()} workflow ${ns}/${name} ended ${st.state}${total}`);
      return WATCH_EXIT[st.state as keyof typeof WATCH_EXIT];
    }
    if (intervalMs <= 0) throw new CliError("workflow has not ended");
    await Bun.sleep(intervalMs);
  }
}

function stamp(): string {
  return new Date().toISOString().slice(11, 19);
}
