/**
 * One decoded manifest object -> a normalised Hardware, Template or Workflow, or the located
 * reasons it is not one.
 */
import type { Diagnostic } from "../lib/errors.ts";
import { checkSecret, JOB_SPEC, jobRules, MACHINE_SPEC } from "./bmc-fields.ts";
import { HARDWARE_SPEC, OBJECT_META, TEMPLATE_SPEC, WORKFLOW_SPEC } from "./fields.ts";
import { checkObject, describe, formatPath, isObject, setOwn, suggest, type ObjectSpec, type Path } from "./schema.ts";
import { DEFAULT_NAMESPACE, KIND_API_VERSION, type Hardware, type Job, type Kind, type Manifest } from "./types.ts";
import { quote, sameSubnet } from "./values.ts";

/** Where an object came from. */
export interface ManifestLocation {
  source: string;
  document: number;
  /** Namespace for objects that name none (default `default`). */
  defaultNamespace?: string;
}

/** Validation outcome: the object when there are no errors. */
export interface Validated {
  object?: Manifest;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

// A Secret has no spec: its own walk (checkSecret) keeps its values out of every message.
const SECRET_SPEC: ObjectSpec = { type: "object", fields: {} };
const SPECS = {
  Hardware: HARDWARE_SPEC,
  Template: TEMPLATE_SPEC,
  Workflow: WORKFLOW_SPEC,
  Machine: MACHINE_SPEC,
  Job: JOB_SPEC,
  Secret: SECRET_SPEC,
} as const satisfies Record<Kind, ObjectSpec>;
const KINDS = Object.keys(SPECS) as Kind[];
/** `A, B and C (group/v1), D and E (bmc...) and F (v1)`: the kinds grouped by apiVersion. */
function acceptedKinds(): string {
  const groups = new Map<string, Kind[]>();
  for (const k of KINDS) groups.set(KIND_API_VERSION[k], [...(groups.get(KIND_API_VERSION[k]) ?? []), k]);
  const and = (words: string[]) => (words.length > 1 ? `${words.slice(0, -1).join(", ")} and ${words.at(-1)}` : words[0]!);
  const parts = [...groups].map(([version, kinds]) => `${and(kinds)} (${version})`);
  return `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`;
}
const ACCEPTED = `Wisp accepts ${acceptedKinds()}`;

/** Tinkerbell kinds Wisp does not take, with the apiVersion they belong to and why. */
const NOT_YET: Readonly<Record<string, string>> = {
  Task: `Task (${KIND_API_VERSION.Job}) is not applied in Wisp: a Job runs its spec.tasks itself and shows each step in its status; apply a Job`,
  WorkflowRuleSet: `WorkflowRuleSet (${KIND_API_VERSION.Workflow}) is not supported yet`,
};

/** The fields around `spec`, per kind; `apiVersion` and `kind` are checked before the walk. */
const envelope = (spec: ObjectSpec): ObjectSpec => ({
  type: "object",
  fields: {
    apiVersion: { type: "string" },
    kind: { type: "string" },
    metadata: OBJECT_META,
    spec,
    status: { type: "dropped", warning: "set by Wisp; the given one is ignored" },
  },
});
const ENVELOPES = {
  Hardware: envelope(HARDWARE_SPEC),
  Template: envelope(TEMPLATE_SPEC),
  Workflow: envelope(WORKFLOW_SPEC),
  Machine: envelope(MACHINE_SPEC),
  Job: envelope(JOB_SPEC),
  Secret: { type: "object", fields: { apiVersion: { type: "string" }, kind: { type: "string" }, metadata: OBJECT_META } },
} as const satisfies Record<Kind, ObjectSpec>;

/** Checks across fields that a per-field table cannot express. */
type Rule = (object: Manifest, error: (path: Path, message: string) => void, warn: (path: Path, message: string) => void) => void;

const hardwareRules: Rule = (object, error, warn) => {
  const seen = new Map<string, number>();
  for (const [i, iface] of ((object as Hardware).spec.interfaces ?? []).entries()) {
    const dhcp = iface?.dhcp;
    if (!dhcp) continue;
    const at = ["spec", "interfaces", i, "dhcp"];
    if (dhcp.mac !== undefined) {
      const first = seen.get(dhcp.mac);
      if (first !== undefined) error([...at, "mac"], `${dhcp.mac} is already the MAC of spec.interfaces[${first}]`);
      else seen.set(dhcp.mac, i);
    }
    // Tinkerbell's CRD refuses one without the other (DHCP options 66 and 67 go together).
    if (!dhcp.tftp_server_name !== !dhcp.boot_file_name) {
      const missing = dhcp.tftp_server_name ? "boot_file_name" : "tftp_server_name";
      error([...at, missing], "tftp_server_name and boot_file_name must be given together");
    }
    const ip = dhcp.ip;
    if (ip?.address && ip.gateway && ip.netmask && sameSubnet(ip.address, ip.gateway, ip.netmask) === false) {
      warn([...at, "ip", "gateway"], `gateway ${ip.gateway} is outside ${ip.address}/${ip.netmask}`);
    }
  }
};

const RULES: Record<Kind, Rule> = {
  Hardware: hardwareRules,
  Template: () => {},
  Workflow: () => {},
  Machine: () => {},
  Job: (object, error) => jobRules((object as Job).spec.tasks, error),
  Secret: () => {},
};

/** Validates one already-decoded object (API create/update bodies). Never throws. */
export function validateManifest(value: unknown, loc: ManifestLocation): Validated {
  return validateAt(value, loc, []);
}

/** As validateManifest, for an object found at `at` inside its document (`items[2]` of a List). */
export function validateAt(value: unknown, loc: ManifestLocation, at: Path): Validated {
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const raw = isObject(value) ? value : {};
  const meta = isObject(raw.metadata) ? raw.metadata : {};
  const namespaceGiven = typeof meta.namespace === "string" ? meta.namespace : undefined;
  const namespace = namespaceGiven ?? loc.defaultNamespace ?? DEFAULT_NAMESPACE;
  const who = {
    source: loc.source,
    document: loc.document,
    ...(typeof raw.kind === "string" ? { kind: raw.kind } : {}),
    ...(typeof meta.name === "string" ? { name: meta.name, namespace } : {}),
  };
  const diag = (path: Path, message: string): Diagnostic => {
    const field = formatPath([...at, ...path]);
    return { ...who, ...(field ? { field } : {}), message };
  };
  const error = (path: Path, message: string) => void errors.push(diag(path, message));
  const warn = (path: Path, message: string) => void warnings.push(diag(path, message));

  if (!isObject(value)) {
    error([], `expected a manifest object with apiVersion, kind, metadata and spec, got ${describe(value)}`);
    return { errors, warnings };
  }
  const kind = checkKind(value.kind, error);
  if (!kind) return { errors, warnings };
  const apiVersion = KIND_API_VERSION[kind];
  if (value.apiVersion === undefined || value.apiVersion === null) error(["apiVersion"], `required field is missing; expected ${quote(apiVersion)}`);
  else if (value.apiVersion !== apiVersion) {
    error(["apiVersion"], `expected ${quote(apiVersion)} for kind ${kind}, got ${describe(value.apiVersion)}`);
  }

  let out: Record<string, unknown>;
  if (kind === "Secret") {
    const { type, data } = checkSecret(value, error, warn);
    const envelope = checkObject(ENVELOPES.Secret, { apiVersion: value.apiVersion, kind: value.kind, metadata: value.metadata ?? {} }, [], { error, warn });
    out = { ...envelope, ...(type !== undefined ? { type } : {}), stringData: data };
  } else {
    // Walk with empty metadata/spec filled in so that missing required fields are named by path.
    const filled = { ...value, metadata: value.metadata ?? {}, spec: value.spec ?? {} };
    out = checkObject(ENVELOPES[kind], filled, [], { error, warn });
  }
  if (errors.length) return { errors, warnings };

  const metadata = out.metadata as Record<string, unknown>;
  if (metadata.namespace === undefined) setOwn(metadata, "namespace", namespace);
  const object = out as unknown as Manifest;
  RULES[kind](object, error, warn);
  return errors.length ? { errors, warnings } : { object, errors, warnings };
}

/** The kind named, or undefined after reporting why it is not one Wisp stores. */
function checkKind(kind: unknown, error: (path: Path, message: string) => void): Kind | undefined {
  if (kind === undefined || kind === null) {
    error(["kind"], `required field is missing; ${ACCEPTED}`);
    return undefined;
  }
  if (typeof kind !== "string") {
    error(["kind"], `expected a string, got ${describe(kind)}; ${ACCEPTED}`);
    return undefined;
  }
  if (Object.hasOwn(SPECS, kind)) return kind as Kind;
  if (Object.hasOwn(NOT_YET, kind)) {
    error(["kind"], `${NOT_YET[kind]}; ${ACCEPTED}`);
  } else if (kind.endsWith("List")) {
    error(["kind"], `a ${kind} holds several objects; it is accepted in files, not as a single object; ${ACCEPTED}`);
  } else {
    const near = suggest(kind, KINDS);
    error(["kind"], `unknown kind ${quote(kind)}${near ? ` (did you mean ${near}?)` : ""}; ${ACCEPTED}`);
  }
  return undefined;
}
