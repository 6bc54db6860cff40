/** Hardware repository: MAC bookkeeping, uniqueness, upsert and the allowPXE toggle. */
import { and, arrayOverlaps, eq, not, notInArray } from "drizzle-orm";
import type { Hardware, HardwareSpec } from "../manifest/types.ts";
import { normalizeMac } from "../manifest/parse.ts";
import type { Db } from "../store/open.ts";
import { hardware, workflows } from "../store/schema.ts";
import { TERMINAL_STATES } from "../workflow/definition.ts";
import {
  objectError,
  sameJson,
  sameMeta,
  type CoreContext,
  type HardwareRow,
  type SourceLoc,
} from "./objects.ts";
import type { ApplyOutcome } from "./types.ts";

/** The distinct normalised MACs of a Hardware spec, in interface order. */
export function hardwareMacs(spec: HardwareSpec): string[] {
  const macs = (spec.interfaces ?? []).flatMap((i) => {
    const raw = i.dhcp?.mac;
    return raw ? [normalizeMac(raw) ?? raw.toLowerCase()] : [];
  });
  return [...new Set(macs)];
}

/** The Hardware row `namespace/name`, optionally locked for update. */
export async function findHardware(db: Db, namespace: string, name: string, lock = false): Promise<HardwareRow | undefined> {
  const q = db.select().from(hardware).where(and(eq(hardware.namespace, namespace), eq(hardware.name, name)));
  const [row] = lock ? await q.for("update") : await q;
  return row;
}

/** Throws `conflict` when another Hardware (any namespace) already claims one of `macs`. */
async function checkMacs(db: Db, obj: Hardware, macs: string[], loc: SourceLoc): Promise<void> {
  if (macs.length === 0) return;
  const others = await db
    .select({ namespace: hardware.namespace, name: hardware.name, macs: hardware.macs })
    .from(hardware)
    .where(
      and(
        arrayOverlaps(hardware.macs, macs),
        not(and(eq(hardware.namespace, obj.metadata.namespace), eq(hardware.name, obj.metadata.name))!),
      ),
    );
  const other = others[0];
  if (!other) return;
  const mac = macs.find((m) => other.macs.includes(m))!;
  const index = (obj.spec.interfaces ?? []).findIndex((i) => i.dhcp?.mac && (normalizeMac(i.dhcp.mac) ?? i.dhcp.mac) === mac);
  throw objectError(
    "conflict",
    { kind: "Hardware", ...obj.metadata },
    loc,
    `spec.interfaces[${index}].dhcp.mac`,
    `MAC ${mac} is already used by Hardware ${other.namespace}/${other.name}`,
  );
}

/** Inserts or updates a Hardware; `mode` decides whether presence or absence is an error. */
export async function putHardware(
  ctx: CoreContext,
  obj: Hardware,
  mode: "apply" | "create" | "update",
  loc: SourceLoc,
): Promise<ApplyOutcome> {
  const { namespace, name } = obj.metadata;
  const existing = await findHardware(ctx.db, namespace, name, true);
  const id = { kind: "Hardware" as const, namespace, name };
  if (existing && mode === "create") throw objectError("already_exists", id, loc, undefined, "already exists");
  if (!existing && mode === "update") throw objectError("not_found", id, loc, undefined, "not found");
  const macs = hardwareMacs(obj.spec);
  await checkMacs(ctx.db, obj, macs, loc);
  const columns = {
    spec: obj.spec,
    macs,
    agentId: obj.spec.agentID || null,
    labels: obj.metadata.labels ?? null,
    annotations: obj.metadata.annotations ?? null,
  };
  if (!existing) {
    const now = ctx.now();
    await ctx.db.insert(hardware).values({ namespace, name, ...columns, createdAt: now, updatedAt: now });
    return "created";
  }
  if (sameJson(existing.spec, obj.spec) && sameMeta(existing, obj.metadata)) return "unchanged";
  await ctx.db
    .update(hardware)
    .set({ ...columns, resourceVersion: existing.resourceVersion + 1, updatedAt: ctx.now() })
    .where(eq(hardware.id, existing.id));
  return "configured";
}

/** Sets `netboot.allowPXE` on every interface; returns false when it already had that value everywhere. */
export async function setAllowPXE(ctx: CoreContext, row: HardwareRow, allow: boolean): Promise<boolean> {
  const interfaces = row.spec.interfaces ?? [];
  if (interfaces.length > 0 && interfaces.every((i) => i.netboot?.allowPXE === allow)) return false;
  const spec: HardwareSpec = {
    ...row.spec,
    interfaces: interfaces.map((i) => ({ ...i, netboot: { ...i.netboot, allowPXE: allow } })),
  };
  await ctx.db
    .update(hardware)
    .set({ spec, resourceVersion: row.resourceVersion + 1, updatedAt: ctx.now() })
    .where(eq(hardware.id, row.id));
  return true;
}

/** Throws `conflict` when a workflow that has not finished still references this Hardware. */
export async function checkHardwareUnused(db: Db, namespace: string, name: string): Promise<void> {
  const users = await db
    .select({ name: workflows.name, state: workflows.state })
    .from(workflows)
    .where(
      and(
        eq(workflows.namespace, namespace),
        eq(workflows.hardwareRef, name),
        notInArray(workflows.state, [...TERMINAL_STATES]),
      ),
    )
    .limit(1);
  const user = users[0];
  if (user) {
    throw objectError(
      "conflict",
      { kind: "Hardware", namespace, name },
      {},
      undefined,
      `still used by Workflow ${namespace}/${user.name} (${user.state}); delete the workflow or wait for it to finish`,
    );
  }
}
