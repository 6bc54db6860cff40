/**
 * `wisp logs SUBJECT NAME`: lines wispd keeps for an object, printed once or followed. Subjects
 * are a table: `hardware` (syslog from the machine) and `workflow` (action output pushed by the
 * agents, cli/workflow-logs.ts).
 */
import { SYSLOG_LAST_SEQ_HEADER, type SyslogLine } from "../daemon/syslog/line.ts";
import { type ApiClient, CliError } from "./client.ts";
import { visible } from "./format.ts";
import { workflowLogsCommand } from "./workflow-logs.ts";

/** How often --follow asks for new lines. */
export const FOLLOW_INTERVAL_MS = 1_000;
/** Lines asked for at once (the API's largest page). */
export const LOGS_PAGE = 10_000;

/** One thing `wisp logs` can show. */
interface Subject {
  /** API path of the lines, or why the subject cannot be shown yet. */
  path: (ns: string, name: string) => string;
  unavailable?: string;
  /** A subject with its own reader (instead of the syslog one below). */
  run?: (client: ApiClient, name: string, opts: LogsOptions, print: Print) => Promise<number>;
}

const hardware: Subject = { path: (ns, name) => `/api/v1/namespaces/${encodeURIComponent(ns)}/hardware/${encodeURIComponent(name)}/logs` };
const workflow: Subject = {
  path: (ns, name) => `/api/v1/namespaces/${encodeURIComponent(ns)}/workflows/${encodeURIComponent(name)}/logs`,
  run: (client, name, opts, print) =>
    workflowLogsCommand(client, name, { ...opts, intervalMs: opts.intervalMs ?? FOLLOW_INTERVAL_MS }, print),
};
const SUBJECTS: Record<string, Subject> = { hardware, hw: hardware, workflow, wf: workflow };

/** Usage line of the command. */
export const LOGS_USAGE = "usage: wisp logs hardware NAME [-n NS] [--follow] [--since SEQ] [-o json] | wisp logs workflow NAME [-n NS] [--action NAME] [--follow] [--since ID] [-o json]";

/** What `wisp logs` was asked. */
export interface LogsOptions {
  namespace: string;
  follow: boolean;
  /** Only lines with a greater seq (a workflow's: a greater id). */
  since?: number;
  /** Workflow logs only: one action (name or id). */
  action?: string;
  /** "json": each line as the API's JSON; otherwise `TIME HOST APP[PID]: SEVERITY message`. */
  output: string;
  intervalMs?: number;
  /** Notes for the operator (stderr). */
  warn?: (line: string) => void;
}

type Print = (line: string) => void;

/** Parses `--since`: a seq from an earlier `-o json` line (0: everything kept). */
export function parseSince(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new CliError(`--since: expected a sequence number (seq) like 120, got "${text}"`);
  return Number(text);
}

/** Runs `wisp logs` with its positional arguments; returns the exit code (following ends with Ctrl-C, exit 0). */
export async function logsCommand(client: ApiClient, args: string[], opts: LogsOptions, print: Print): Promise<number> {
  const [word, name, extra] = args;
  if (!word || !name || extra !== undefined) throw new CliError(LOGS_USAGE);
  const subject = SUBJECTS[word];
  if (!subject) throw new CliError(`logs: unknown subject "${word}": expected hardware or workflow (${LOGS_USAGE})`);
  if (subject.unavailable) throw new CliError(`logs ${word}: ${subject.unavailable}`);
  if (subject.run) return subject.run(client, name, opts, print);
  if (opts.action !== undefined) throw new CliError(`logs ${word}: --action is for workflow logs`);
  const path = subject.path(opts.namespace, name);
  const interrupted = () => process.exit(0);
  if (opts.follow) process.once("SIGINT", interrupted);
  try {
    let since = opts.since;
    let following = false;
    for (;;) {
      const page = await fetchLines(client, path + (since === undefined ? "" : `?since=${since}&limit=${LOGS_PAGE}`));
      // Below the place we reached: wispd restarted (its store is in memory) and numbers from 1 again.
      if (following && page.lastSeq < since!) {
        (opts.warn ?? console.error)("wisp: wispd restarted; its earlier lines are gone");
        since = 0;
        continue;
      }
      for (const l of page.lines) print(opts.output === "json" ? JSON.stringify(l) : formatLogLine(l));
      if (!opts.follow) return 0;
      // Every line of this subject still to come has a greater seq than any given so far.
      since = Math.max(page.lastSeq, page.lines.at(-1)?.seq ?? 0);
      following = true;
      if (page.lines.length < LOGS_PAGE) await Bun.sleep(opts.intervalMs ?? FOLLOW_INTERVAL_MS);
    }
  } finally {
    process.off("SIGINT", interrupted);
  }
}

/** `TIME HOST APP[PID]: SEVERITY message`; the time is wispd's (booting machines' clocks are often wrong). */
export function formatLogLine(l: SyslogLine): string {
  const time = l.receivedAt.replace(/\.\d+Z$/, "Z");
  const app = `${l.app ?? "-"}${l.procId === undefined ? "" : `[${l.procId}]`}`;
  const level = l.format === "malformed" ? "MALFORMED" : (l.severity ?? "-").toUpperCase();
  return visible(`${time} ${l.hostname ?? l.peer} ${app}: ${level} ${l.message}${l.truncated ? " [truncated]" : ""}`);
}

/** GETs JSON lines and the store's last seq; errors are worded by the API client. */
async function fetchLines(client: ApiClient, path: string): Promise<{ lines: SyslogLine[]; lastSeq: number }> {
  const { rows, headers } = await client.jsonLines<SyslogLine>(path);
  return { lines: rows, lastSeq: Number(headers.get(SYSLOG_LAST_SEQ_HEADER) ?? 0) };
}
