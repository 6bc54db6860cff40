/**
 * The fields of Tinkerbell's BMC kinds (bmc.tinkerbell.org/v1alpha1, Rufio) Machine and Job as
 * data, named as Rufio spells them, and the hand-written check of a v1 Secret, whose values must
 * never appear in a message.
 */
import type { Field, ObjectSpec, Path } from "./schema.ts";
import { describe, isObject, suggest } from "./schema.ts";
import type { JobTask, SecretSpec } from "./types.ts";
import { checkLabel, checkSubdomain, quote, urlCheck } from "./values.ts";

const str: Field = { type: "string" };
const bool: Field = { type: "boolean" };
const port: Field = { type: "integer", min: 1, max: 65535 };
const obj = (fields: Record<string, Field>, hints?: Record<string, string>): ObjectSpec => ({ type: "object", fields, hints });
const name: Field = { type: "string", check: checkSubdomain };
const ref = obj({ name: { ...name, required: true }, namespace: { type: "string", check: checkLabel } });

/** Longest a BMC step may be given (seconds): an hour covers a slow virtual-media mount. */
export const MAX_STEP_TIMEOUT_SECONDS = 3600;
/** Most retries of one step. */
export const MAX_STEP_RETRIES = 10;

/** Machine `spec`. */
export const MACHINE_SPEC = obj({
  connection: {
    ...obj({
      host: { type: "string", required: true, check: (s) => (s.trim() === "" || /\s/.test(s) ? `expected a host name or address, got ${quote(s)}` : undefined) },
      port,
      authSecretRef: ref,
      insecureTLS: bool,
      providerOptions: obj({
        // Rufio names its Redfish provider after the library, gofish.
        preferredOrder: {
          type: "list",
          items: {
            type: "string",
            check: (s) => (["ipmitool", "redfish", "gofish"].includes(s) ? undefined : `expected one of ipmitool, redfish (or Rufio's gofish), got ${quote(s)}`),
            normalize: (s) => (s === "gofish" ? "redfish" : s),
          },
        },
        ipmitool: obj({ port, cipherSuite: { type: "string", check: (s) => (/^\d{1,2}$/.test(s) ? undefined : `expected a cipher suite number such as "3" or "17", got ${quote(s)}`) } }),
        redfish: obj({ port, useBasicAuth: bool, systemName: str }),
        intelAMT: { type: "unsupported", note: "Intel AMT" },
        rpc: { type: "unsupported", note: "the RPC provider" },
      }),
    }),
    required: true,
  },
});

const device: Field = { type: "enum", values: ["pxe", "disk", "bios", "cdrom"] };

/** One entry of Job `spec.tasks`: Rufio's three actions, Wisp's persistent boot device, timeout and retries. */
const JOB_TASK = obj(
  {
    powerAction: { type: "enum", values: ["on", "off", "soft", "cycle", "reset", "status"] },
    oneTimeBootDeviceAction: obj({ device: { type: "list", items: device, nonEmpty: "expected at least one device, e.g. [pxe]" }, efiBootMode: bool }),
    virtualMediaAction: obj({ mediaURL: { type: "string", check: urlCheck("http", "https") }, kind: { type: "enum", values: ["CD", "Floppy", "USBStick", "DVD"] } }),
    bootDeviceAction: obj({ device: { ...device, required: true }, efiBootMode: bool, persistent: bool }),
    timeout: { type: "integer", min: 1, max: MAX_STEP_TIMEOUT_SECONDS },
    retries: { type: "integer", min: 0, max: MAX_STEP_RETRIES },
  },
  { power: "powerAction", bootDevice: "oneTimeBootDeviceAction", oneTimeBootDevice: "oneTimeBootDeviceAction" },
);

/** Job `spec`. */
export const JOB_SPEC = obj({
  machineRef: { ...ref, required: true },
  tasks: { type: "list", items: JOB_TASK, nonEmpty: "expected at least one task", required: true },
});

const ACTIONS = ["powerAction", "oneTimeBootDeviceAction", "virtualMediaAction", "bootDeviceAction"] as const;

/** Each task holds exactly one action, as Rufio requires; a one-time boot takes one device. */
export function jobRules(tasks: JobTask[] | undefined, error: (path: Path, message: string) => void): void {
  for (const [i, task] of (tasks ?? []).entries()) {
    const given = ACTIONS.filter((a) => task?.[a] !== undefined);
    if (given.length !== 1) {
      error(["spec", "tasks", i], given.length ? `expected exactly one action, got ${given.join(" and ")}` : `expected one of ${ACTIONS.join(", ")}`);
    }
    const devices = task?.oneTimeBootDeviceAction?.device;
    if (devices && devices.length > 1) error(["spec", "tasks", i, "oneTimeBootDeviceAction", "device"], `expected one device, got ${devices.length}`);
    if (task?.oneTimeBootDeviceAction && !devices) error(["spec", "tasks", i, "oneTimeBootDeviceAction", "device"], "required field is missing");
    if (task?.virtualMediaAction && task.virtualMediaAction.kind === undefined) {
      error(["spec", "tasks", i, "virtualMediaAction", "kind"], "required field is missing (CD)");
    }
  }
}

const SECRET_FIELDS = ["apiVersion", "kind", "metadata", "type", "data", "stringData", "immutable", "status"];
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * Checks a v1 Secret's `type`, `data` (base64) and `stringData` and returns its decoded values
 * (`stringData` wins, as in Kubernetes). Messages name the key, never the value.
 */
export function checkSecret(value: Record<string, unknown>, error: (path: Path, message: string) => void, warn: (path: Path, message: string) => void): SecretSpec {
  const data: Record<string, string> = {};
  for (const key of Object.keys(value)) {
    if (!SECRET_FIELDS.includes(key)) {
      const near = suggest(key, SECRET_FIELDS);
      warn([key], `unknown field, ignored${near ? `; did you mean ${quote(near)}?` : ""}`);
    }
  }
  if (value.spec !== undefined) warn(["spec"], "a Secret has no spec; its values go in data (base64) or stringData");
  const section = (field: "data" | "stringData", decode: (s: string, path: Path) => string | undefined) => {
    const given = value[field];
    if (given === undefined || given === null) return;
    if (!isObject(given)) {
      error([field], `expected an object of key: value, got ${Array.isArray(given) ? "a list" : typeof given}`);
      return;
    }
    for (const [key, v] of Object.entries(given)) {
      if (!SECRET_KEY.test(key)) error([field, key], `expected a key of letters, digits, '-', '_' and '.', got ${quote(key)}`);
      // The value is a credential: say what kind of thing it is, never what it is.
      if (typeof v !== "string") {
        error([field, key], `expected a string (quote it), got ${v === null ? "nothing" : Array.isArray(v) ? "a list" : typeof v}`);
        continue;
      }
      const text = decode(v, [field, key]);
      if (text !== undefined) data[key] = text;
    }
  };
  section("data", (s, path) => {
    const compact = s.replace(/\s+/g, "");
    if (!BASE64.test(compact)) {
      error(path, "expected base64 (data holds base64; put plain text in stringData); the value is not shown");
      return undefined;
    }
    const bytes = Buffer.from(compact, "base64");
    const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
    if (text.includes("\uFFFD")) {
      error(path, "expected base64 of UTF-8 text; the value is not shown");
      return undefined;
    }
    return text;
  });
  section("stringData", (s) => s);
  const type = value.type;
  if (type !== undefined && type !== null && typeof type !== "string") error(["type"], `expected a string, got ${describe(type)}`);
  if (value.immutable !== undefined && typeof value.immutable !== "boolean") error(["immutable"], `expected true or false, got ${describe(value.immutable)}`);
  return { ...(typeof type === "string" ? { type } : {}), data };
}
