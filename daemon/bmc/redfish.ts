/**
 * The Redfish driver (DSP0266): finds the ComputerSystem under /redfish/v1/Systems, powers it with
 * `ComputerSystem.Reset` (choosing among the ResetTypes the system allows), overrides the boot
 * source with a PATCH of `Boot`, and inserts or ejects virtual media through the managing BMC's
 * `VirtualMedia` actions. Each call is bounded by the target's timeoutMs as a whole.
 */
import { ok, type Result } from "../lib/result.ts";
import { bmcErr, DEFAULT_TIMEOUT_MS } from "./errors.ts";
import { redfishHttp, type RedfishDoc } from "./redfish-http.ts";
import type { BmcDriver, BmcError, BmcTarget, BootDevice, PowerAction, PowerState } from "./types.ts";

/** Our power actions as ResetTypes, best first (Redfish ResetType enum, DSP8010 Resource schema). */
export const RESET_TYPES = {
  on: ["On"],
  off: ["ForceOff"],
  soft: ["GracefulShutdown"],
  cycle: ["PowerCycle", "ForceRestart"],
  reset: ["ForceRestart", "PowerCycle", "GracefulRestart"],
} as const satisfies Record<PowerAction, readonly string[]>;

/** Our boot devices as BootSourceOverrideTarget values. */
export const BOOT_TARGETS = { pxe: "Pxe", disk: "Hdd", bios: "BiosSetup", cdrom: "Cd" } as const satisfies Record<BootDevice, string>;

/** What discovery found out about the system and its BMC. */
interface Discovered {
  systemPath: string;
  resetTarget: string;
  /** Undefined when the system does not say (then every standard type is tried as asked). */
  resetTypes?: string[];
  bootTargets?: string[];
  bootModes?: string[];
}

interface MediaSlot {
  path: string;
  inserted: boolean;
  insertTarget: string;
  ejectTarget: string;
}

const odataId = (v: unknown): string | undefined => {
  const id = (v as RedfishDoc | undefined)?.["@odata.id"];
  return typeof id === "string" ? id : undefined;
};
const members = (doc: RedfishDoc): string[] =>
  (Array.isArray(doc.Members) ? doc.Members : []).map(odataId).filter((m): m is string => m !== undefined);
const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : undefined;

/** Picks the ResetType for `action` among those the system allows (the first when it lists none). */
export function chooseResetType(action: PowerAction, allowed: string[] | undefined, power: PowerState): string | undefined {
  // A cycle of a machine that is off is a power on, as ipmitool's "power cycle" leaves it on.
  if (action === "cycle" && power === "off") return allowed === undefined || allowed.includes("On") ? "On" : undefined;
  const wanted: readonly string[] = RESET_TYPES[action];
  return allowed === undefined ? wanted[0] : wanted.find((t) => allowed.includes(t));
}

/** A Redfish driver for `target`; it connects on the first call. */
export function redfishDriver(target: BmcTarget): BmcDriver {
  const http = redfishHttp(target);
  const timeoutMs = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let found: Discovered | undefined;
  const fail = (code: BmcError["code"], step: string, why: string) => bmcErr("redfish", code, `redfish ${http.where}: ${step}: ${why}`);

  const get = async (path: string, step: string, signal: AbortSignal): Promise<Result<RedfishDoc, BmcError>> => {
    const r = await http.request("GET", path, step, signal);
    return r.ok ? ok(r.value.body) : r;
  };

  const discover = async (signal: AbortSignal): Promise<Result<Discovered, BmcError>> => {
    if (found) return ok(found);
    const root = await get("/redfish/v1/", "read service root", signal);
    if (!root.ok) return root;
    const systemsPath = odataId(root.value.Systems);
    if (!systemsPath) return fail("protocol", "find systems", "the service root has no Systems link");
    const systems = await get(systemsPath, "list systems", signal);
    if (!systems.ok) return systems;
    const all = members(systems.value);
    const name = target.options?.redfish?.systemName;
    const systemPath = name === undefined ? all[0] : all.find((m) => m.replace(/\/+$/, "").split("/").pop() === name);
    if (!systemPath) return fail("protocol", "find system", name === undefined ? "Systems has no members" : `no system named ${name} (have ${all.join(", ")})`);
    const system = await get(systemPath, "read system", signal);
    if (!system.ok) return system;
    const reset = (system.value.Actions as RedfishDoc | undefined)?.["#ComputerSystem.Reset"] as RedfishDoc | undefined;
    const boot = system.value.Boot as RedfishDoc | undefined;
    found = {
      systemPath,
      resetTarget: typeof reset?.target === "string" ? reset.target : `${systemPath}/Actions/ComputerSystem.Reset`,
      resetTypes: strings(reset?.["ResetType@Redfish.AllowableValues"]),
      bootTargets: strings(boot?.["BootSourceOverrideTarget@Redfish.AllowableValues"]),
      bootModes: strings(boot?.["BootSourceOverrideMode@Redfish.AllowableValues"]),
    };
    return ok(found);
  };

  const readPower = async (signal: AbortSignal): Promise<Result<PowerState, BmcError>> => {
    const d = await discover(signal);
    if (!d.ok) return d;
    const system = await get(d.value.systemPath, "read power state", signal);
    if (!system.ok) return system;
    const p = system.value.PowerState;
    // PoweringOn/PoweringOff are transitions: report where it is going as unknown until there.
    return ok(p === "On" ? "on" : p === "Off" ? "off" : "unknown");
  };

  /** The first CD/DVD slot of the BMC that manages the system. */
  const findMedia = async (signal: AbortSignal): Promise<Result<MediaSlot, BmcError>> => {
    const d = await discover(signal);
    if (!d.ok) return d;
    const system = await get(d.value.systemPath, "read system", signal);
    if (!system.ok) return system;
    const managedBy = (system.value.Links as RedfishDoc | undefined)?.ManagedBy;
    const managerPath = Array.isArray(managedBy) ? odataId(managedBy[0]) : undefined;
    if (!managerPath) return fail("unsupported", "find virtual media", "the system names no managing BMC (Links.ManagedBy)");
    const manager = await get(managerPath, "read manager", signal);
    if (!manager.ok) return manager;
    const mediaPath = odataId(manager.value.VirtualMedia);
    if (!mediaPath) return fail("unsupported", "find virtual media", `${managerPath} has no VirtualMedia`);
    const slots = await get(mediaPath, "list virtual media", signal);
    if (!slots.ok) return slots;
    for (const path of members(slots.value)) {
      const slot = await get(path, "read virtual media", signal);
      if (!slot.ok) return slot;
      const types = strings(slot.value.MediaTypes) ?? [];
      if (!types.includes("CD") && !types.includes("DVD")) continue;
      const actions = (slot.value.Actions ?? {}) as Record<string, RedfishDoc | undefined>;
      const insert = actions["#VirtualMedia.InsertMedia"]?.target;
      const eject = actions["#VirtualMedia.EjectMedia"]?.target;
      return ok({
        path,
        inserted: slot.value.Inserted === true,
        insertTarget: typeof insert === "string" ? insert : `${path}/Actions/VirtualMedia.InsertMedia`,
        ejectTarget: typeof eject === "string" ? eject : `${path}/Actions/VirtualMedia.EjectMedia`,
      });
    }
    return fail("unsupported", "find virtual media", `${mediaPath} has no CD or DVD slot`);
  };

  /** Runs `fn` under one deadline of timeoutMs. */
  const bounded = <T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> => fn(AbortSignal.timeout(timeoutMs));

  const asVoid = (r: Result<unknown, BmcError>): Result<void, BmcError> => (r.ok ? ok(undefined) : r);

  return {
    provider: "redfish",
    powerState: () => bounded(readPower),
    power: (action) =>
      bounded(async (signal) => {
        const d = await discover(signal);
        if (!d.ok) return d;
        let state: PowerState = "unknown";
        if (action === "cycle") {
          const p = await readPower(signal);
          if (!p.ok) return p;
          state = p.value;
        }
        const resetType = chooseResetType(action, d.value.resetTypes, state);
        if (!resetType) return fail("unsupported", `power ${action}`, `the system allows only ResetType ${d.value.resetTypes?.join(", ")}`);
        return asVoid(await http.request("POST", d.value.resetTarget, `power ${action} (ResetType ${resetType})`, signal, { ResetType: resetType }));
      }),
    setBootDevice: (device, opts) =>
      bounded(async (signal) => {
        const d = await discover(signal);
        if (!d.ok) return d;
        const bootTarget = BOOT_TARGETS[device];
        if (d.value.bootTargets && !d.value.bootTargets.includes(bootTarget)) {
          return fail("unsupported", `boot device ${device}`, `the system allows only BootSourceOverrideTarget ${d.value.bootTargets.join(", ")}`);
        }
        const mode = opts.efi ? "UEFI" : "Legacy";
        if (d.value.bootModes && !d.value.bootModes.includes(mode)) {
          return fail("unsupported", `boot device ${device}`, `the system allows only BootSourceOverrideMode ${d.value.bootModes.join(", ")}`);
        }
        const boot = {
          BootSourceOverrideTarget: bootTarget,
          BootSourceOverrideEnabled: opts.persistent ? "Continuous" : "Once",
          BootSourceOverrideMode: mode,
        };
        return asVoid(await http.request("PATCH", d.value.systemPath, `boot device ${device}`, signal, { Boot: boot }));
      }),
    insertMedia: (imageUrl) =>
      bounded(async (signal) => {
        if (!/^https?:\/\/\S+$/.test(imageUrl)) return fail("refused", "insert media", `image URL must be http(s): ${JSON.stringify(imageUrl)}`);
        const slot = await findMedia(signal);
        if (!slot.ok) return slot;
        // Most BMCs refuse a second insert: take out what is there first.
        if (slot.value.inserted) {
          const out = await http.request("POST", slot.value.ejectTarget, "eject media before insert", signal, {});
          if (!out.ok) return out;
        }
        const body = { Image: imageUrl, Inserted: true, WriteProtected: true };
        return asVoid(await http.request("POST", slot.value.insertTarget, "insert media", signal, body));
      }),
    ejectMedia: () =>
      bounded(async (signal) => {
        const slot = await findMedia(signal);
        if (!slot.ok) return slot;
        if (!slot.value.inserted) return ok(undefined);
        return asVoid(await http.request("POST", slot.value.ejectTarget, "eject media", signal, {}));
      }),
    close: () => bounded((signal) => http.logout(signal)),
  };
}
