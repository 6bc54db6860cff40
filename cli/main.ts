/** `wisp`: the command-line client of wispd's REST API. Every error is one line and a non-zero exit. */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ApplyResult, StoredObject, WorkflowEvent } from "../daemon/core/types.ts";
import { formatDiagnostic, type Diagnostic } from "../daemon/lib/errors.ts";
import { KIND_NAMES, KIND_WORDS, resolveKind } from "../daemon/lib/kinds.ts";
import type { Kind } from "../daemon/manifest/types.ts";
import pkg from "../package.json" with { type: "json" };
import { BMC_HELP, bmcCommand } from "./bmc.ts";
import { ApiClient, CliError, DEFAULT_SERVER, findToken } from "./client.ts";
import { describe, objectTable, toYaml } from "./format.ts";
import { installServiceCommand } from "./install-service.ts";
import { logsCommand, parseSince } from "./logs.ts";
import { watchWorkflow } from "./watch.ts";

const HELP = `usage: wisp [global options] <command> [args]

commands:
  apply -f FILE|DIR|- [-f ...] [--dry-run]   create or update manifests, all or nothing
  get KIND [NAME] [-o table|yaml|json]        list objects, or show one
  describe KIND NAME                          an object in detail (workflows: actions, events)
  delete KIND NAME                            delete an object
  workflow watch NAME                         follow a workflow action by action until it ends
                                              (exit 0 SUCCESS, 3 FAILED, 4 TIMEOUT, 1 error)
  workflow rerun NAME                         run a finished workflow again
  workflow cancel NAME                        end an unfinished workflow (FAILED, "cancelled by
                                              operator"); the agent's next report is refused
  logs hardware NAME [--follow] [--since SEQ] syslog lines of a machine (-o json: as the API gives
                                              them); --follow polls each second until Ctrl-C
  logs workflow NAME [--action NAME] [--follow] [--since ID]
                                              action output (TIME ACTION[attempt] stream | line);
                                              --follow polls until the workflow ends, then exits 0
  bmc power on|off|soft|cycle|reset|status MACHINE
                                              power through the Machine's BMC (a one-step Job)
  bmc bootdev pxe|disk|bios|cdrom MACHINE [--efi] [--persistent]
                                              boot device: next boot only unless --persistent
                                              (exit 0 done, 3 the BMC failed; see wisp bmc --help)
  version                                     client version
  install-service [--dry-run] [--no-start] [--user NAME] [-- WISPD-ARGS]
                                              run wispd from this checkout as a systemd service
                                              (unit, user, /etc/wisp/wispd.env; see docs/operations.md)

KIND: hardware (hw), template (tpl), workflow (wf), machine, job, secret
      (machines show the polled power state; secrets show their keys, never their values)

global options:
  --server URL          wispd address (env WISP_SERVER, default ${DEFAULT_SERVER})
  --token TOKEN         API token (env WISP_TOKEN; default: api-token in WISP_DATA_DIR,
                        ./var or /var/lib/wisp, as written by wispd on first start)
  -n, --namespace NS    namespace (default "default")
  -A, --all-namespaces  list across all namespaces (get)
  -h, --help            this text`;

interface Args {
  positional: string[];
  files: string[];
  output: string;
  namespace?: string;
  all: boolean;
  dryRun: boolean;
  server?: string;
  token?: string;
  help: boolean;
  follow: boolean;
  since?: string;
  action?: string;
  efi: boolean;
  persistent: boolean;
}

const VALUE_FLAGS: Record<string, keyof Args> = {
  "-f": "files", "--filename": "files", "-o": "output", "--output": "output",
  "-n": "namespace", "--namespace": "namespace", "--server": "server", "--token": "token",
  "--since": "since", "--action": "action",
};
const BOOL_FLAGS: Record<string, keyof Args> = {
  "-A": "all", "--all-namespaces": "all", "--dry-run": "dryRun", "-h": "help", "--help": "help", "--follow": "follow", "--efi": "efi", "--persistent": "persistent",
};

/** Parses flags anywhere on the line; throws CliError on an unknown flag or a missing value. */
export function parseArgs(argv: string[]): Args {
  const a: Args = { positional: [], files: [], output: "table", all: false, dryRun: false, help: false, follow: false, efi: false, persistent: false };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let inline: string | undefined;
    if (arg.startsWith("--") && arg.includes("=")) [arg, inline] = [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)];
    const vf = VALUE_FLAGS[arg];
    if (vf) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new CliError(`${arg} needs a value`);
      if (vf === "files") a.files.push(v);
      else (a as unknown as Record<string, string>)[vf] = v;
      continue;
    }
    const bf = BOOL_FLAGS[arg];
    if (bf) (a as unknown as Record<string, boolean>)[bf] = true;
    else if (arg.startsWith("-") && arg !== "-") throw new CliError(`unknown option ${arg} (see wisp --help)`);
    else a.positional.push(arg);
  }
  if (!["table", "yaml", "json"].includes(a.output)) throw new CliError(`-o: expected table, yaml or json, got "${a.output}"`);
  return a;
}

function kindArg(word: string | undefined): Kind {
  if (!word) throw new CliError(`missing KIND: one of ${KIND_WORDS.join(", ")}`);
  const k = resolveKind(word);
  if (!k) throw new CliError(`unknown kind "${word}": expected one of ${KIND_WORDS.join(", ")}`);
  return k;
}

/** Reads manifest sources: files, every .yaml/.yml/.json in a directory (sorted), or stdin for "-". */
export async function readSources(paths: string[]): Promise<{ name: string; text: string }[]> {
  if (paths.length === 0) throw new CliError("apply needs -f FILE|DIR|-");
  const out: { name: string; text: string }[] = [];
  for (const p of paths) {
    if (p === "-") {
      out.push({ name: "-", text: await Bun.stdin.text() });
      continue;
    }
    if (!existsSync(p)) throw new CliError(`${p}: no such file or directory`);
    if (statSync(p).isDirectory()) {
      const files = readdirSync(p).filter((f) => /\.(ya?ml|json)$/i.test(f)).sort();
      if (files.length === 0) throw new CliError(`${p}: no .yaml, .yml or .json files`);
      for (const f of files) out.push({ name: join(p, f), text: readFileSync(join(p, f), "utf8") });
    } else {
      out.push({ name: p, text: readFileSync(p, "utf8") });
    }
  }
  return out;
}

const objectPath = (kind: Kind, ns: string, name?: string) =>
  `/api/v1/namespaces/${encodeURIComponent(ns)}/${KIND_NAMES[kind].plural}${name ? "/" + encodeURIComponent(name) : ""}`;

function printWarnings(warnings: Diagnostic[]): void {
  for (const w of warnings) console.error(`warning: ${formatDiagnostic(w)}`);
}

/** Runs one CLI invocation and returns its exit code. */
export async function run(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  // Its own arguments (wispd's after --): not the API client's.
  if (argv[0] === "install-service") return installServiceCommand(argv.slice(1), { bun: process.execPath, root: join(import.meta.dir, "..") }, (l) => console.log(l));
  const a = parseArgs(argv);
  const [cmd, ...rest] = a.positional;
  if (cmd === "bmc" && (a.help || rest.length === 0)) {
    console.log(BMC_HELP);
    return a.help ? 0 : 1;
  }
  if (a.help || !cmd) {
    console.log(HELP);
    return cmd || a.help ? 0 : 1;
  }
  if (cmd === "version") {
    console.log(`wisp ${pkg.version}`);
    return 0;
  }
  const client = new ApiClient(a.server ?? env.WISP_SERVER ?? DEFAULT_SERVER, findToken(a.token, env));
  const ns = a.namespace ?? "default";
  switch (cmd) {
    case "apply": {
      const sources = await readSources(a.files);
      const q = a.namespace ? `?namespace=${encodeURIComponent(a.namespace)}` : "";
      const r = await client.request<ApplyResult>("POST", `/api/v1/apply${q}`, { sources, dryRun: a.dryRun });
      printWarnings(r.warnings);
      for (const o of r.objects) console.log(`${o.kind.toLowerCase()}/${o.name} ${o.outcome}${a.dryRun ? " (dry run)" : ""}`);
      return 0;
    }
    case "get": {
      const kind = kindArg(rest[0]);
      const name = rest[1];
      if (name) {
        const o = await client.request<StoredObject>("GET", objectPath(kind, ns, name));
        console.log(a.output === "json" ? JSON.stringify(o, null, 2) : a.output === "yaml" ? toYaml(o).trimEnd() : objectTable([o], false));
        return 0;
      }
      const path = a.all ? `/api/v1/${KIND_NAMES[kind].plural}` : objectPath(kind, ns);
      const list = await client.request<StoredObject[]>("GET", path);
      if (a.output === "json") console.log(JSON.stringify(list, null, 2));
      else if (a.output === "yaml") console.log(toYaml({ apiVersion: "v1", kind: "List", items: list }).trimEnd());
      else if (list.length === 0) console.error(a.all ? `no ${KIND_NAMES[kind].plural} found` : `no ${KIND_NAMES[kind].plural} found in namespace ${ns}`);
      else console.log(objectTable(list, a.all));
      return 0;
    }
    case "describe": {
      const kind = kindArg(rest[0]);
      if (!rest[1]) throw new CliError("describe needs KIND NAME");
      const o = await client.request<StoredObject>("GET", objectPath(kind, ns, rest[1]));
      const events = kind === "Workflow" ? await client.request<WorkflowEvent[]>("GET", objectPath(kind, ns, rest[1]) + "/events") : [];
      console.log(describe(o, events));
      return 0;
    }
    case "delete": {
      const kind = kindArg(rest[0]);
      if (!rest[1]) throw new CliError("delete needs KIND NAME");
      await client.request("DELETE", objectPath(kind, ns, rest[1]));
      console.log(`${kind.toLowerCase()}/${rest[1]} deleted`);
      return 0;
    }
    case "workflow":
    case "wf": {
      const [sub, name] = rest;
      if (!name || (sub !== "watch" && sub !== "rerun" && sub !== "cancel")) throw new CliError("usage: wisp workflow watch|rerun|cancel NAME");
      if (sub === "cancel") {
        await client.request("POST", objectPath("Workflow", ns, name) + "/cancel");
        console.log(`workflow/${name} cancelled`);
        return 0;
      }
      if (sub === "rerun") {
        await client.request("POST", objectPath("Workflow", ns, name) + "/rerun");
        console.log(`workflow/${name} restarted`);
        return 0;
      }
      return watchWorkflow(client, ns, name, (l) => console.log(l));
    }
    case "bmc":
      return bmcCommand(client, rest, { namespace: ns, efi: a.efi, persistent: a.persistent }, (l) => console.log(l));
    case "logs":
      return logsCommand(client, rest, { namespace: ns, follow: a.follow, since: parseSince(a.since), action: a.action, output: a.output }, (l) => console.log(l));
    default:
      throw new CliError(`unknown command "${cmd}" (see wisp --help)`);
  }
}

if (import.meta.main) {
  try {
    process.exitCode = await run(process.argv.slice(2), process.env);
  } catch (e) {
    console.error(`wisp: ${(e as Error).message}`);
    process.exitCode = e instanceof CliError ? e.exitCode : 1;
  }
}
