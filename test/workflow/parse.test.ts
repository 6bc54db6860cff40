import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import type { Diagnostic } from "../../daemon/lib/errors.ts";
import { parseManifests } from "../../daemon/manifest/parse.ts";
import type { Template } from "../../daemon/manifest/types.ts";
import { checkImageReference } from "../../daemon/workflow/image-ref.ts";
import { parseWorkflowDefinition } from "../../daemon/workflow/parse.ts";

const EXAMPLES = new URL("../../../shared/examples/", import.meta.url);
const templateData = () => {
  const r = parseManifests(readFileSync(new URL("template.yaml", EXAMPLES), "utf8"), "template.yaml");
  return (r.manifests[0]!.object as Template).spec.data!;
};

const pairs = (ds: Diagnostic[]) => ds.map((d) => (d.field ? `${d.field}: ${d.message}` : d.message));

/** A one-task, one-action definition with extra YAML lines spliced in at each level. */
function def(opts: { top?: string; task?: string; action?: string; actions?: string } = {}): string {
  const indent = (s: string | undefined, n: number) => (s ? s.trim().split("\n").map((l) => " ".repeat(n) + l).join("\n") + "\n" : "");
  return (
    `version: "0.1"\nname: wf\nglobal_timeout: 600\n${indent(opts.top, 0)}` +
    `tasks:\n  - name: t\n    worker: "1c:69:7a:11:22:33"\n${indent(opts.task, 4)}` +
    `    actions:\n${opts.actions ?? `      - name: a\n        image: alpine:3.20\n${indent(opts.action, 8)}`}`
  );
}
const errorsOf = (o: Parameters<typeof def>[0]) => pairs(parseWorkflowDefinition(def(o)).errors);
const A = "tasks[0].actions[0]";

describe("the example template, rendered", () => {
  test("1 task, 7 actions, task volumes merged into each action", () => {
    const r = parseWorkflowDefinition(templateData().replace("{{.device_1}}", "1C:69:7A:11:22:33"));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    const d = r.definition!;
    expect(d.version).toBe("0.1");
    expect(d.name).toBe("ubuntu-focal-nvme");
    expect(d.globalTimeout).toBe(9800);
    expect(d.tasks).toHaveLength(1);
    const task = d.tasks[0]!;
    expect(task.name).toBe("os-installation");
    expect(task.worker).toBe("1c:69:7a:11:22:33");
    expect(task.actions.map((a) => a.name)).toEqual([
      "stream-ubuntu-image",
      "grow-partition",
      "install-openssl",
      "create-user",
      "enable-ssh",
      "disable-apparmor",
      "write-netplan",
    ]);
    const volumes = ["/dev:/dev", "/dev/console:/dev/console", "/lib/firmware:/lib/firmware:ro"];
    expect(task.volumes).toEqual(volumes);
    expect(task.actions[0]).toEqual({
      name: "stream-ubuntu-image",
      image: "quay.io/tinkerbell-actions/image2disk:v1.0.0",
      timeout: 0,
      command: [],
      environment: {},
      volumes,
      pid: "",
      namespaces: {},
      retries: 0,
      onTimeout: [],
      onFailure: [],
    });
    for (const a of task.actions) expect(a.volumes).toEqual(volumes);
  });
});

describe("merging and conversions", () => {
  test("action environment overrides the task's; volumes are task ++ action", () => {
    const r = parseWorkflowDefinition(
      def({
        task: "volumes: [/dev:/dev]\nenvironment: {DEST_DISK: /dev/sda, COMPRESSED: true}",
        action: "volumes: [/tmp:/tmp:rw]\nenvironment: {DEST_DISK: /dev/nvme0n1, IMG_URL: http://10.0.0.1/focal.raw.gz}",
      }),
    );
    expect(r.errors).toEqual([]);
    const task = r.definition!.tasks[0]!;
    expect(task.environment).toEqual({ DEST_DISK: "/dev/sda", COMPRESSED: "true" });
    expect(task.actions[0]!.environment).toEqual({ DEST_DISK: "/dev/nvme0n1", COMPRESSED: "true", IMG_URL: "http://10.0.0.1/focal.raw.gz" });
    expect(task.actions[0]!.volumes).toEqual(["/dev:/dev", "/tmp:/tmp:rw"]);
  });

  test("numbers and booleans in environment keep their source text, as Go's YAML does", () => {
    const r = parseWorkflowDefinition(def({ action: "environment:\n  MODE: 0600\n  UID: 0\n  SIZE: 0x10\n  RATIO: 1.50\n  ON: true\n  EMPTY:\n  Q: '007'" }));
    expect(r.definition!.tasks[0]!.actions[0]!.environment).toEqual({ MODE: "0600", UID: "0", SIZE: "0x10", RATIO: "1.50", ON: "true", EMPTY: "", Q: "007" });
  });

  test("every optional action field", () => {
    const r = parseWorkflowDefinition(
      def({
        action: 'timeout: 90\ncommand: ["/bin/sh", "-c", "echo hi"]\npid: host\nnamespaces: {network: host, pid: host}\non-timeout: [echo, timeout]\non-failure: [echo, failed]\nretries: 3',
      }),
    );
    expect(r.errors).toEqual([]);
    expect(r.definition!.tasks[0]!.actions[0]).toMatchObject({
      timeout: 90,
      command: ["/bin/sh", "-c", "echo hi"],
      pid: "host",
      namespaces: { network: "host", pid: "host" },
      onTimeout: ["echo", "timeout"],
      onFailure: ["echo", "failed"],
      retries: 3,
    });
  });

  test("a single command string is wrapped; scalars in lists become text", () => {
    const r = parseWorkflowDefinition(def({ action: "command: sleep 5\non-failure: [sleep, 5]" }));
    expect(r.definition!.tasks[0]!.actions[0]!.command).toEqual(["sleep 5"]);
    expect(r.definition!.tasks[0]!.actions[0]!.onFailure).toEqual(["sleep", "5"]);
  });

  test("the worker is normalised when it is a MAC and kept when it is an agent id", () => {
    const worker = (w: string) => parseWorkflowDefinition(def().replace('"1c:69:7a:11:22:33"', w)).definition?.tasks[0]!.worker;
    expect(worker("1C-69-7A-11-22-33")).toBe("1c:69:7a:11:22:33");
    expect(worker("agent-7")).toBe("agent-7");
    expect(worker("001122334455")).toBe("00:11:22:33:44:55");
  });

  test("version may be written as a number; a missing one is read as 0.1 with a warning", () => {
    expect(parseWorkflowDefinition(def().replace('version: "0.1"', "version: 0.1")).errors).toEqual([]);
    const r = parseWorkflowDefinition(def().replace('version: "0.1"\n', ""));
    expect(r.definition!.version).toBe("0.1");
    expect(pairs(r.warnings)).toEqual(['version: missing; read as version "0.1"']);
  });

  test("global_timeout defaults to 0, an id is accepted", () => {
    const r = parseWorkflowDefinition(def().replace("global_timeout: 600\n", "id: abc\n"));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.definition!.globalTimeout).toBe(0);
  });
});

describe("every rule has a failing case naming the field", () => {
  test("document", () => {
    expect(pairs(parseWorkflowDefinition("version: '0.1'\ntasks: [\n").errors)[0]).toStartWith("YAML syntax error at line 3, column 1: ");
    expect(pairs(parseWorkflowDefinition("a: 1\na: 2\n").errors)).toEqual(["YAML syntax error at line 2, column 1: Map keys must be unique"]);
    expect(pairs(parseWorkflowDefinition("").errors)).toEqual(["the template rendered to an empty document"]);
    expect(pairs(parseWorkflowDefinition(def() + "---\n" + def()).errors)).toEqual(["expected one YAML document, found 2"]);
    expect(pairs(parseWorkflowDefinition("- a\n").errors)).toEqual(["expected a workflow definition with version, name, global_timeout and tasks, got a list"]);
  });

  test("version, name, global_timeout", () => {
    expect(errorsOf({}).length).toBe(0);
    expect(pairs(parseWorkflowDefinition(def().replace('version: "0.1"', 'version: "0.2"')).errors)).toEqual(['version: expected "0.1", got "0.2"']);
    expect(pairs(parseWorkflowDefinition(def().replace("name: wf\n", "")).errors)).toEqual(["name: required field is missing (expected a string)"]);
    expect(pairs(parseWorkflowDefinition(def().replace("name: wf", `name: ${"x".repeat(200)}`)).errors)[0]).toStartWith("name: expected a name of 1 to 199 characters");
    expect(pairs(parseWorkflowDefinition(def().replace("name: wf", "name: [wf]")).errors)).toEqual(["name: expected a string, got a list"]);
    expect(pairs(parseWorkflowDefinition(def().replace("global_timeout: 600", "global_timeout: 10m")).errors)).toEqual([
      'global_timeout: expected an integer, got string "10m"',
    ]);
    expect(pairs(parseWorkflowDefinition(def().replace("global_timeout: 600", "global_timeout: -1")).errors)).toEqual([
      "global_timeout: expected an integer of at least 0, got -1",
    ]);
  });

  test("tasks", () => {
    const head = 'version: "0.1"\nname: wf\n';
    expect(pairs(parseWorkflowDefinition(head).errors)).toEqual(["tasks: required field is missing"]);
    expect(pairs(parseWorkflowDefinition(head + "tasks: []\n").errors)).toEqual(["tasks: a template needs at least one task"]);
    expect(pairs(parseWorkflowDefinition(head + "tasks: {t: 1}\n").errors)).toEqual(["tasks: expected a list, got an object"]);
    expect(pairs(parseWorkflowDefinition(head + "tasks: [x]\n").errors)).toEqual(['tasks[0]: expected an object, got string "x"']);
  });

  test("task name unique and present", () => {
    const two = def() + def().split("tasks:\n")[1]!;
    expect(pairs(parseWorkflowDefinition(two).errors)).toEqual(['tasks[1].name: task name "t" is already used by tasks[0]']);
    expect(pairs(parseWorkflowDefinition(def().replace("  - name: t\n    worker", "  - worker")).errors)).toEqual([
      "tasks[0].name: required field is missing (expected a string)",
    ]);
  });

  test("worker", () => {
    const w = (line: string) => pairs(parseWorkflowDefinition(def().replace('    worker: "1c:69:7a:11:22:33"\n', line)).errors);
    expect(w("")).toEqual(["tasks[0].worker: required field is missing (expected a string)"]);
    expect(w('    worker: ""\n')).toEqual(["tasks[0].worker: expected a worker id (a MAC address or an agent id), got an empty string"]);
    expect(w('    worker: "{{.device_1}}"\n')).toEqual([
      'tasks[0].worker: expected the rendered worker id (a MAC address or an agent id), got the unrendered "{{.device_1}}"',
    ]);
    expect(w("    worker: {{.device_1}}\n")[0]).toStartWith("tasks[0].worker: expected a string, got an object");
  });

  test("task volumes and environment", () => {
    expect(errorsOf({ task: "volumes: [/dev]" })).toEqual([
      'tasks[0].volumes[0]: expected a volume like /dev:/dev or /lib/firmware:/lib/firmware:ro, got "/dev"',
    ]);
    expect(errorsOf({ task: "volumes: [dev:/dev:ro:x]" })).toHaveLength(1);
    expect(errorsOf({ task: "volumes: ['/dev:dev']" })).toEqual(['tasks[0].volumes[0]: volume target must be an absolute path, got "/dev:dev"']);
    expect(errorsOf({ task: "volumes: [':/dev']" })).toEqual(['tasks[0].volumes[0]: volume source must be an absolute path or a volume name, got ":/dev"']);
    expect(errorsOf({ task: "volumes: ['/dev:/dev:rx']" })[0]).toStartWith('tasks[0].volumes[0]: unknown volume option "rx" in "/dev:/dev:rx"');
    expect(errorsOf({ task: "volumes: ['cache:/cache:ro,z']" })).toEqual([]);
    expect(errorsOf({ task: "volumes: /dev:/dev" })).toEqual(['tasks[0].volumes: expected a list, got string "/dev:/dev"']);
    expect(errorsOf({ task: "environment: [A=1]" })).toEqual(["tasks[0].environment: expected an object, got a list"]);
    expect(errorsOf({ task: "environment: {A: [1]}" })).toEqual(["tasks[0].environment.A: expected a string, got a list"]);
    expect(errorsOf({ task: "environment: {'A=B': x}" })).toEqual(['tasks[0].environment["A=B"]: environment variable name must be non-empty without "=", got "A=B"']);
  });

  test("actions", () => {
    expect(errorsOf({ actions: "      []\n" })).toEqual(["tasks[0].actions: a task needs at least one action"]);
    expect(pairs(parseWorkflowDefinition(def().replace(/    actions:[\s\S]*/, "")).errors)).toEqual(["tasks[0].actions: required field is missing"]);
    const dup = "      - {name: a, image: alpine}\n      - {name: b, image: alpine}\n      - {name: a, image: alpine}\n";
    expect(errorsOf({ actions: dup })).toEqual(['tasks[0].actions[2].name: action name "a" is already used by tasks[0].actions[0]']);
    // The same action name in two tasks is fine.
    const two = def() + def().split("tasks:\n")[1]!.replace("name: t", "name: u");
    expect(pairs(parseWorkflowDefinition(two).errors)).toEqual([]);
    expect(errorsOf({ actions: "      - {image: alpine}\n" })).toEqual([`${A}.name: required field is missing (expected a string)`]);
  });

  test("image", () => {
    expect(errorsOf({ actions: "      - {name: a}\n" })).toEqual([`${A}.image: required field is missing (expected a string)`]);
    expect(errorsOf({ actions: "      - {name: stream, image: Quay.io/Tinkerbell/image2disk}\n" })).toEqual([
      `${A}.image: action "stream": invalid image reference "Quay.io/Tinkerbell/image2disk": repository name must be lowercase`,
    ]);
    expect(errorsOf({ actions: "      - {name: a, image: 'alpine:'}\n" })[0]).toStartWith(`${A}.image: action "a": invalid image reference "alpine:": invalid tag ""`);
    expect(errorsOf({ actions: "      - {name: a, image: 7}\n" })).toEqual([`${A}.image: expected a string, got number 7 (quote it: "7")`]);
  });

  test("timeout, command, pid, namespaces, on-timeout, on-failure, retries", () => {
    expect(errorsOf({ action: "timeout: 1.5" })).toEqual([`${A}.timeout: expected an integer, got number 1.5`]);
    expect(errorsOf({ action: "timeout: -5" })).toEqual([`${A}.timeout: expected an integer of at least 0, got -5`]);
    expect(errorsOf({ action: "timeout: 10s" })).toEqual([`${A}.timeout: expected an integer, got string "10s"`]);
    expect(errorsOf({ action: "command: {sh: x}" })).toEqual([`${A}.command: expected a list, got an object`]);
    expect(errorsOf({ action: "command: [sh, [x]]" })).toEqual([`${A}.command[1]: expected a string, got a list`]);
    expect(errorsOf({ action: "environment: x" })).toEqual([`${A}.environment: expected an object, got string "x"`]);
    expect(errorsOf({ action: "volumes: [/dev]" })[0]).toStartWith(`${A}.volumes[0]: expected a volume like`);
    expect(errorsOf({ action: "pid: [host]" })).toEqual([`${A}.pid: expected a string, got a list`]);
    expect(errorsOf({ action: "namespaces: host" })).toEqual([`${A}.namespaces: expected an object, got string "host"`]);
    expect(errorsOf({ action: "namespaces: {network: [host]}" })).toEqual([`${A}.namespaces.network: expected a string, got a list`]);
    expect(errorsOf({ action: "on-timeout: {a: 1}" })).toEqual([`${A}.on-timeout: expected a list, got an object`]);
    expect(errorsOf({ action: "on-failure: [[x]]" })).toEqual([`${A}.on-failure[0]: expected a string, got a list`]);
    expect(errorsOf({ action: "retries: 11" })).toEqual([`${A}.retries: expected an integer from 0 to 10, got 11`]);
    expect(errorsOf({ action: "retries: -1" })).toEqual([`${A}.retries: expected an integer from 0 to 10, got -1`]);
    expect(errorsOf({ action: "retries: two" })).toEqual([`${A}.retries: expected an integer, got string "two"`]);
  });

  test("unknown fields are warnings with suggestions", () => {
    const r = parseWorkflowDefinition(
      def({ top: "globalTimeout: 5", task: "env: {A: b}", action: "onFailure: [x]\ncmd: [x]\nnamespaces: {net: host}\nprivileged: true" }),
    );
    expect(r.errors).toEqual([]);
    expect(pairs(r.warnings)).toEqual([
      'globalTimeout: unknown field, ignored; did you mean "global_timeout"?',
      'tasks[0].env: unknown field, ignored; did you mean "environment"?',
      'tasks[0].actions[0].onFailure: unknown field, ignored; did you mean "on-failure"?',
      'tasks[0].actions[0].cmd: unknown field, ignored; did you mean "command"?',
      'tasks[0].actions[0].namespaces.net: unknown field, ignored; did you mean "network"?',
      "tasks[0].actions[0].privileged: unknown field, ignored",
    ]);
  });
});

describe("image references (Docker's grammar)", () => {
  test("valid", () => {
    for (const ref of [
      "alpine",
      "alpine:3.20",
      "library/alpine",
      "quay.io/tinkerbell-actions/image2disk:v1.0.0",
      "localhost/a",
      "localhost:5000/a/b_c__d.e-f:Tag_1",
      "10.0.0.1:5000/actions/cexec",
      "[::1]:5000/a",
      "ghcr.io/o/r@sha256:" + "a".repeat(64),
      "ghcr.io/o/r:v1@sha256:" + "0123456789abcdef".repeat(4),
      "a---b",
    ]) {
      expect([ref, checkImageReference(ref)]).toEqual([ref, undefined]);
    }
  });

  test("invalid, with the reason", () => {
    const cases: [string, string][] = [
      ["", "image reference is empty"],
      ["Alpine", "repository name must be lowercase"],
      ["quay.io/Tinkerbell/x", "repository name must be lowercase"],
      ["alpine:", 'invalid tag ""'],
      ["alpine:.x", 'invalid tag ".x"'],
      ["alpine:" + "x".repeat(129), "invalid tag"],
      ["a/-b", 'invalid path component "-b"'],
      ["a//b", "invalid reference format (empty path component)"],
      ["a_-b", 'invalid path component "a_-b"'],
      ["-x.io/a", 'invalid registry host "-x.io"'],
      ["alpine@sha256:abc", 'invalid digest "sha256:abc"'],
      ["alpine@md5:" + "a".repeat(32), 'unsupported digest algorithm "md5"'],
      ["alpine@sha256:" + "A".repeat(64), "invalid sha256 digest (expected 64 lower-case hex digits)"],
      ["a".repeat(64).replace(/a/g, "f"), "a 64-character hexadecimal image ID cannot be used as an image name"],
      ["x.io/" + "a".repeat(260), "repository name is longer than 255 characters"],
      [":tag", "image reference has no repository name"],
      ["alpine latest", 'invalid path component "alpine latest"'],
    ];
    for (const [ref, why] of cases) expect([ref, checkImageReference(ref)]).toEqual([ref, expect.stringContaining(why)]);
  });
});

describe("never throws", () => {
  test("random text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (text) => {
        const r = parseWorkflowDefinition(text);
        expect(r.errors.length === 0 || r.definition === undefined).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test("random JSON values as YAML, and mutated valid definitions", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        parseWorkflowDefinition(JSON.stringify(value) ?? "");
      }),
      { numRuns: 300 },
    );
    const base = templateData().replace("{{.device_1}}", "1c:69:7a:11:22:33");
    const bits = fc.constantFrom(":", "-", " ", "\n", "[", "{", "'", "&x", "*x", "<<: *x\n", "#", "0", "~", "!!str ");
    fc.assert(
      fc.property(fc.nat(), fc.nat({ max: 10 }), fc.array(bits, { maxLength: 4 }), (at, cut, insert) => {
        const i = at % (base.length + 1);
        const r = parseWorkflowDefinition(base.slice(0, i) + insert.join("") + base.slice(i + cut));
        if (r.definition) expect(r.definition.tasks.length).toBeGreaterThan(0);
      }),
      { numRuns: 1000 },
    );
  });

  test("random structures shaped like a definition", () => {
    const any = fc.oneof(fc.jsonValue(), fc.string(), fc.constant(null));
    const action = fc.record({ name: any, image: fc.oneof(fc.constant("alpine"), any), timeout: any, command: any, environment: any, volumes: any, retries: any, namespaces: any }, { requiredKeys: [] });
    const task = fc.record({ name: any, worker: any, volumes: any, environment: any, actions: fc.oneof(fc.array(action), any) }, { requiredKeys: [] });
    const wf = fc.record({ version: any, name: any, global_timeout: any, tasks: fc.oneof(fc.array(task), any) }, { requiredKeys: [] });
    fc.assert(
      fc.property(wf, (value) => {
        const r = parseWorkflowDefinition(JSON.stringify(value));
        expect(r.errors.length === 0 || r.definition === undefined).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
