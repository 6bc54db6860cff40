/** Small formatting helpers shared by the pages. */
import { h } from "./dom.ts";
import type { ActionStatus, Workflow } from "./types.ts";

/** `1h 02m`, `3m 04s`, `12s`. */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** A time as the operator's clock shows it, with the date when it is not today. */
export function time(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

/** Seconds an action has run: the server's figure once it finished, counted here while it runs. */
export function actionSeconds(a: ActionStatus): number | undefined {
  if (a.state === "RUNNING" && a.startedAt) return (Date.now() - Date.parse(a.startedAt)) / 1000;
  return a.durationSeconds;
}

const TERMINAL = new Set(["SUCCESS", "FAILED", "TIMEOUT"]);
/** True for SUCCESS, FAILED and TIMEOUT. */
export const isFinished = (state: string) => TERMINAL.has(state);

/** A state as a coloured badge (colour is never the only cue: the word is there). */
export function badge(state: string): HTMLElement {
  return h("span", { class: `badge state-${state.toLowerCase()}` }, state);
}

/** All actions of a workflow in run order. */
export const actionsOf = (wf: Workflow): ActionStatus[] => wf.status.tasks.flatMap((t) => t.actions);

/** The progress bar: one segment per action, coloured by its state, titled with its name, state and time. */
export function progressBar(wf: Workflow): HTMLElement {
  const actions = actionsOf(wf);
  const done = actions.filter((a) => a.state === "SUCCESS").length;
  return h(
    "div",
    { class: "progress-wrap" },
    h(
      "div",
      {
        class: "progress",
        role: "progressbar",
        "aria-label": `${wf.metadata.name}: ${done} of ${actions.length} actions done`,
        "aria-valuemin": 0,
        "aria-valuemax": actions.length,
        "aria-valuenow": done,
      },
      actions.map((a) =>
        h("span", {
          class: `segment state-${a.state.toLowerCase()}`,
          title: `${a.name}: ${a.state}${a.startedAt ? ` (${duration(actionSeconds(a))})` : ""}`,
          "data-action": a.name,
          "data-state": a.state,
        }),
      ),
    ),
    h("span", { class: "progress-count" }, `${done}/${actions.length}`),
  );
}
