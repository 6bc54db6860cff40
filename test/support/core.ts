/** Helpers for core tests: the shared examples, manifests from YAML, a clock tests move by hand, and domain errors caught. */
import { readFileSync } from "node:fs";
import { createCore } from "../../daemon/core/core.ts";
import type { Core, SourcedManifest, StoredWorkflow } from "../../daemon/core/types.ts";
import { formatDiagnostic, WispError } from "../../daemon/lib/errors.ts";
import { parseManifests } from "../../daemon/manifest/parse.ts";
import type { Store } from "../../daemon/store/open.ts";

/** shared/examples beside the repository (CI clones shared/ at ../shared). */
export const EXAMPLES = new URL("../../../shared/examples/", import.meta.url);

/** Parses YAML manifests; throws on any parse error so tests fail at the right place. */
export function manifests(text: string, source = "test.yaml"): SourcedManifest[] {
  const parsed = parseManifests(text, source);
  if (parsed.errors.length) throw new Error(parsed.errors.map(formatDiagnostic).join("\n"));
  return parsed.manifests;
}

/** The three example manifests, with `hardwareRef` optionally patched. */
export function exampleManifests(hardwareRef?: string): SourcedManifest[] {
  return ["hardware.yaml", "template.yaml", "workflow.yaml"].flatMap((file) => {
    let text = readFileSync(new URL(file, EXAMPLES), "utf8");
    if (hardwareRef) text = text.replace(/hardwareRef: .*/, `hardwareRef: ${hardwareRef}`);
    return manifests(text, file);
  });
}

/** A clock that only moves when told to. */
export interface TestClock {
  now(): Date;
  advance(seconds: number): Date;
}

/** A clock starting at a fixed instant. */
export function testClock(start = "2026-01-01T00:00:00.000Z"): TestClock {
  let t = new Date(start).getTime();
  return {
    now: () => new Date(t),
    advance: (seconds) => new Date((t += seconds * 1000)),
  };
}

/** A core over `store` with an injected clock. */
export function testCore(store: Store, clock: TestClock = testClock()): Core {
  return createCore(store, { now: clock.now });
}

/** The WispError `p` rejects with, or undefined when it resolves; any other error is rethrown. */
export async function wispErrorOf(p: Promise<unknown>): Promise<WispError | undefined> {
  try {
    await p;
  } catch (e) {
    if (e instanceof WispError) return e;
    throw e;
  }
  return undefined;
}

/** The code of the WispError `p` rejects with, or "ok" when it resolves. */
export async function errorCode(p: Promise<unknown>): Promise<string> {
  return (await wispErrorOf(p))?.code ?? "ok";
}

/** Gets a workflow with its status. */
export async function workflow(core: Core, namespace: string, name: string): Promise<StoredWorkflow> {
  return (await core.get("Workflow", namespace, name)) as StoredWorkflow;
}

/** Hardware YAML with one interface. */
export function hardwareYaml(name: string, mac: string, extra = "", namespace = "default"): string {
  return `apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  interfaces:
    - dhcp: { mac: "${mac}", hostname: ${name} }
      netboot: { allowPXE: false, allowWorkflow: true }
${extra}`;
}

/** Template YAML whose data is `body` (indented for spec.data). */
export function templateYaml(name: string, body: string, namespace = "default"): string {
  const data = body
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
  return `apiVersion: tinkerbell.org/v1alpha1
kind: Template
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  data: |
${data}
`;
}

/** Workflow YAML; `spec` lines are appended under spec. */
export function workflowYaml(name: string, template: string, hardware: string, mac: string, spec = "", namespace = "default"): string {
  return `apiVersion: tinkerbell.org/v1alpha1
kind: Workflow
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  templateRef: ${template}
  hardwareRef: ${hardware}
  hardwareMap: { device_1: "${mac}" }
${spec}`;
}

/** Template data of one task (`install`, on device_1) running `actions` in order, each alpine, with `timeout` seconds when given. */
export function alpineTemplate(name: string, actions: string[], timeout?: number): string {
  const items = actions.map((a) => `      - name: ${a}\n        image: alpine${timeout === undefined ? "" : `\n        timeout: ${timeout}`}`);
  return `version: "0.1"\nname: ${name}\nglobal_timeout: 600\ntasks:\n  - name: install\n    worker: "{{.device_1}}"\n    actions:\n${items.join("\n")}`;
}

/**
 * One machine's manifests: Hardware `hw` with `mac`, Template `tpl` whose data is `templateBody`,
 * and Workflow `wf` of the two (`workflowSpec` lines appended under its spec).
 */
export function machineYaml(mac: string, templateBody: string, workflowSpec = ""): string {
  return `${hardwareYaml("hw", mac)}---\n${templateYaml("tpl", templateBody)}---\n${workflowYaml("wf", "tpl", "hw", mac, workflowSpec)}`;
}
