/**
 * The YAML a Template renders to (Tinkerbell `version: "0.1"`) -> a checked WorkflowDefinition.
 * Scalars in string fields are read as their source text, as Go's yaml.v3 does for Tinkerbell:
 * `MODE: 0600` stays "0600" and `COMPRESSED: true` becomes "true".
 */
import { isScalar, LineCounter, parseAllDocuments, type Document } from "yaml";
import type { Diagnostic } from "../lib/errors.ts";
import { check, describe, formatPath, isObject, type Field, type ObjectSpec, type Path, type Spec, type Walk } from "../manifest/schema.ts";
import { normalizeMac, quote } from "../manifest/values.ts";
import type { ActionDef, TaskDef, WorkflowDefinition } from "./definition.ts";
import { checkImageReference } from "./image-ref.ts";

/** The only definition format Tinkerbell has. */
export const DEFINITION_VERSION = "0.1";
/** Tinkerbell refuses names of 200 characters or more (template_validator.go). */
const NAME_MAX = 199;
/** Beyond Tinkerbell: how many times an action may be retried. */
const RETRIES_MAX = 10;
const MAX_ALIAS_COUNT = 100;

/** Docker bind options (`docker run -v src:dst:opts`). */
const MOUNT_OPTIONS = new Set(["ro", "rw", "z", "Z", "shared", "rshared", "slave", "rslave", "private", "rprivate", "nocopy", "consistent", "cached", "delegated"]);

const checkName: (s: string) => string | undefined = (s) =>
  s.length >= 1 && s.length <= NAME_MAX ? undefined : `expected a name of 1 to ${NAME_MAX} characters, got ${quote(s)}`;

function checkVolume(v: string): string | undefined {
  const parts = v.split(":");
  const [src = "", dst = "", opts] = parts;
  const example = "like /dev:/dev or /lib/firmware:/lib/firmware:ro";
  if (parts.length < 2 || parts.length > 3) return `expected a volume ${example}, got ${quote(v)}`;
  // The source is a host path or a named volume; the target is always an absolute path.
  if (!src.startsWith("/") && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(src)) return `volume source must be an absolute path or a volume name, got ${quote(v)}`;
  if (!dst.startsWith("/")) return `volume target must be an absolute path, got ${quote(v)}`;
  const bad = opts?.split(",").find((o) => !MOUNT_OPTIONS.has(o));
  if (bad !== undefined) return `unknown volume option ${quote(bad)} in ${quote(v)} (expected ${[...MOUNT_OPTIONS].join(", ")})`;
  return undefined;
}

const checkEnvName = (k: string) => (k !== "" && !/[=\0]/.test(k) ? undefined : `environment variable name must be non-empty without "=", got ${quote(k)}`);

function checkWorker(w: string): string | undefined {
  if (w.trim() === "") return "expected a worker id (a MAC address or an agent id), got an empty string";
  if (w.includes("{{")) return `expected the rendered worker id (a MAC address or an agent id), got the unrendered ${quote(w)}`;
  return undefined;
}

const text: Field = { type: "string", scalar: true };
const name: Field = { ...text, check: checkName, required: true };
const uint: Field = { type: "integer", min: 0 };
const commands: Field = { type: "list", items: text, wrap: true };
const volumes: Field = { type: "list", items: { type: "string", check: checkVolume } };
const environment: Field = { type: "map", values: text, keyCheck: checkEnvName };
const obj = (fields: Record<string, Field>, hints?: Record<string, string>): ObjectSpec => ({ type: "object", fields, hints });

const ACTION = obj(
  {
    name,
    image: { type: "string", required: true },
    timeout: uint,
    command: commands,
    environment,
    volumes,
    pid: text,
    namespaces: obj({ network: text, pid: text }, { net: "network" }),
    "on-timeout": commands,
    "on-failure": commands,
    retries: { type: "integer", min: 0, max: RETRIES_MAX },
  },
  { env: "environment", cmd: "command", args: "command" },
);

const TASK = obj(
  {
    name,
    worker: { ...text, required: true, check: checkWorker, normalize: (w) => normalizeMac(w) ?? w },
    volumes,
    environment,
    actions: { type: "list", items: ACTION, required: true, nonEmpty: "a task needs at least one action" },
  },
  { env: "environment", steps: "actions" },
);

const WORKFLOW: Spec = obj(
  {
    version: { ...text, check: (v) => (v === DEFINITION_VERSION ? undefined : `expected ${quote(DEFINITION_VERSION)}, got ${quote(v)}`) },
    name,
    // Tinkerbell reads an `id` here and does nothing with it; so does Wisp.
    id: text,
    global_timeout: uint,
    tasks: { type: "list", items: TASK, required: true, nonEmpty: "a template needs at least one task" },
  },
  { timeout: "global_timeout" },
);

/** Outcome of parseWorkflowDefinition: the definition when there are no errors. */
export interface ParsedDefinition {
  definition?: WorkflowDefinition;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

/** Validates the YAML a Template renders to and builds the definition (task volumes/env merged under each action's). Never throws. */
export function parseWorkflowDefinition(yamlText: string): ParsedDefinition {
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const diag = (path: Path, message: string): Diagnostic => (path.length ? { field: formatPath(path), message } : { message });
  const walk: Walk = {
    error: (path, message) => void errors.push(diag(path, message)),
    warn: (path, message) => void warnings.push(diag(path, message)),
  };
  const doc = readOne(yamlText, walk);
  if (!doc) return { errors, warnings };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    walk.error([], `cannot read YAML: ${(e as Error).message}`);
    return { errors, warnings };
  }
  if (!isObject(value)) {
    walk.error([], `expected a workflow definition with version, name, global_timeout and tasks, got ${describe(value)}`);
    return { errors, warnings };
  }
  const raw = check(WORKFLOW, value, [], { ...walk, raw: (path) => sourceText(doc, path) }) as Record<string, unknown>;
  if (raw.version === undefined) walk.warn(["version"], `missing; read as version ${quote(DEFINITION_VERSION)}`);
  checkRules(raw, walk);
  return errors.length ? { errors, warnings } : { definition: build(raw as unknown as RawWorkflow), errors, warnings };
}

/** The one non-empty YAML document of the text, or undefined after reporting why not. */
function readOne(yamlText: string, walk: Walk): Document.Parsed | undefined {
  if (typeof yamlText !== "string") {
    walk.error([], `expected YAML text, got ${describe(yamlText)}`);
    return undefined;
  }
  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = [...parseAllDocuments(yamlText, { lineCounter, prettyErrors: false, merge: true, logLevel: "error" })];
  } catch (e) {
    walk.error([], `cannot read YAML: ${(e as Error).message}`);
    return undefined;
  }
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  for (const doc of docs) {
    for (const w of doc.warnings) walk.warn([], `YAML at ${at(w.pos[0])}: ${w.message}`);
    const [first, ...more] = doc.errors;
    if (first) {
      walk.error([], `YAML syntax error at ${at(first.pos[0])}: ${first.message}${more.length ? ` (and ${more.length} more)` : ""}`);
      return undefined;
    }
  }
  const filled = docs.filter((d) => d.contents !== null);
  if (filled.length !== 1) {
    walk.error([], filled.length ? `expected one YAML document, found ${filled.length}` : "the template rendered to an empty document");
    return undefined;
  }
  return filled[0];
}

/** Source text of the plain scalar at a path, so `0600` is not read back as "600". */
function sourceText(doc: Document.Parsed, path: Path): string | undefined {
  try {
    const node = doc.getIn(path, true);
    return isScalar(node) && typeof node.source === "string" ? node.source : undefined;
  } catch {
    return undefined;
  }
}

/** Task names unique, action names unique within their task, images valid references. */
function checkRules(raw: Record<string, unknown>, walk: Walk): void {
  const tasks = Array.isArray(raw.tasks) ? raw.tasks : [];
  const unique = (items: unknown[], at: (i: number) => Path, what: string) => {
    const seen = new Map<string, number>();
    for (const [i, item] of items.entries()) {
      const n = isObject(item) ? item.name : undefined;
      if (typeof n !== "string") continue;
      const first = seen.get(n);
      if (first !== undefined) walk.error([...at(i), "name"], `${what} name ${quote(n)} is already used by ${formatPath(at(first))}`);
      else seen.set(n, i);
    }
  };
  unique(tasks, (i) => ["tasks", i], "task");
  for (const [i, task] of tasks.entries()) {
    const actions = isObject(task) && Array.isArray(task.actions) ? task.actions : [];
    unique(actions, (j) => ["tasks", i, "actions", j], "action");
    for (const [j, action] of actions.entries()) {
      if (!isObject(action)) continue;
      const at = ["tasks", i, "actions", j];
      if (typeof action.image !== "string") continue;
      const problem = checkImageReference(action.image);
      const who = typeof action.name === "string" ? `action ${quote(action.name)}: ` : "";
      if (problem) walk.error([...at, "image"], `${who}invalid image reference ${quote(action.image)}: ${problem}`);
    }
  }
}

/** The checked document, as the tables above guarantee it to be. */
interface RawAction {
  name: string;
  image: string;
  timeout?: number;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  pid?: string;
  namespaces?: { network?: string; pid?: string };
  "on-timeout"?: string[];
  "on-failure"?: string[];
  retries?: number;
}
interface RawTask {
  name: string;
  worker: string;
  volumes?: string[];
  environment?: Record<string, string>;
  actions: RawAction[];
}
interface RawWorkflow {
  version?: string;
  name: string;
  global_timeout?: number;
  tasks: RawTask[];
}

/** Fills defaults and merges each task's volumes and environment under its actions'. */
function build(raw: RawWorkflow): WorkflowDefinition {
  const tasks = raw.tasks.map((t): TaskDef => {
    const volumes = t.volumes ?? [];
    const environment = t.environment ?? {};
    const actions = t.actions.map(
      (a): ActionDef => ({
        name: a.name,
        image: a.image,
        timeout: a.timeout ?? 0,
        command: a.command ?? [],
        environment: { ...environment, ...a.environment },
        volumes: [...volumes, ...(a.volumes ?? [])],
        pid: a.pid ?? "",
        namespaces: { ...a.namespaces },
        retries: a.retries ?? 0,
        onTimeout: a["on-timeout"] ?? [],
        onFailure: a["on-failure"] ?? [],
      }),
    );
    return { name: t.name, worker: t.worker, volumes, environment, actions };
  });
  return { version: raw.version ?? DEFINITION_VERSION, name: raw.name, globalTimeout: raw.global_timeout ?? 0, tasks };
}
