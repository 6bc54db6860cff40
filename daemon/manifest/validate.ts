/**
 * One decoded manifest object -> a normalised Hardware, Template or Workflow, or the located
 * reasons it is not one.
 */
import type { Diagnostic } from "../lib/errors.ts";
import { HARDWARE_SPEC, OBJECT_META, TEMPLATE_SPEC, WORKFLOW_SPEC } from "./fields.ts";
import { checkObject, describe, formatPath, isObject, setOwn, suggest, type ObjectSpec, type Path } from "./schema.ts";
import { API_VERSION, DEFAULT_NAMESPACE, type Hardware, type Kind, type Manifest } from "./types.ts";
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

const SPECS = { Hardware: HARDWARE_SPEC, Template: TEMPLATE_SPEC, Workflow: WORKFLOW_SPEC } as const satisfies Record<Kind, ObjectSpec>;
const KINDS = Object.keys(SPECS) as Kind[];
const ACCEPTED = `Wisp accepts ${KINDS.slice(0, -1).join(", ")} and ${KINDS.at(-1)} (${API_VERSION})`;

/** Tinkerbell kinds Wisp will take later, with the apiVersion they belong to. */
const NOT_YET: Readonly<Record<string, string>> = {
  Machine: "bmc.tinkerbell.org/v1alpha1",
  Job: "bmc.tinkerbell.org/v1alpha1",
  Task: "bmc.tinkerbell.org/v1alpha1",
  Secret: "v1",
  WorkflowRuleSet: API_VERSION,
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
const ENVELOPES = { Hardware: envelope(HARDWARE_SPEC), Template: envelope(TEMPLATE_SPEC), Workflow: envelope(WORKFLOW_SPEC) };

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

const RULES: Record<Kind, Rule> = { Hardware: hardwareRules, Template: () => {}, Workflow: () => {} };

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
  if (value.apiVersion === undefined || value.apiVersion === null) error(["apiVersion"], `required field is missing; expected ${quote(API_VERSION)}`);
  else if (value.apiVersion !== API_VERSION) {
    error(["apiVersion"], `expected ${quote(API_VERSION)} for kind ${kind}, got ${describe(value.apiVersion)}`);
  }

  // Walk with empty metadata/spec filled in so that missing required fields are named by path.
  const filled = { ...value, metadata: value.metadata ?? {}, spec: value.spec ?? {} };
  const out = checkObject(ENVELOPES[kind], filled, [], { error, warn });
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
    error(["kind"], `${kind} (${NOT_YET[kind]}) is not supported yet; ${ACCEPTED}`);
  } else if (kind.endsWith("List")) {
    error(["kind"], `a ${kind} holds several objects; it is accepted in files, not as a single object; ${ACCEPTED}`);
  } else {
    const near = suggest(kind, KINDS);
    error(["kind"], `unknown kind ${quote(kind)}${near ? ` (did you mean ${near}?)` : ""}; ${ACCEPTED}`);
  }
  return undefined;
}
