/**
 * A Machine's BMC as the drivers want it (host, credentials from its Secret, provider options),
 * and what the poller learns of it. Credentials stay in the returned target: never log it.
 */
import { asc, eq } from "drizzle-orm";
import type { BmcTarget } from "../bmc/types.ts";
import { err, ok, type Result } from "../lib/result.ts";
import { machines } from "../store/schema.ts";
import { findSecret, type MachineRow } from "./bmc-objects.ts";
import type { CoreContext } from "./objects.ts";

/** The BMC target of a Machine, or why there is none (a missing Secret or key; no value is named). */
export async function machineTarget(ctx: CoreContext, row: MachineRow, timeoutMs?: number): Promise<Result<BmcTarget, string>> {
  const c = row.spec.connection ?? {};
  const ref = c.authSecretRef;
  if (!ref?.name) return err(`Machine ${row.namespace}/${row.name}: spec.connection.authSecretRef names no Secret`);
  const namespace = ref.namespace || row.namespace;
  const secret = await findSecret(ctx.db, namespace, ref.name);
  if (!secret) return err(`Secret ${namespace}/${ref.name} (spec.connection.authSecretRef) not found`);
  const missing = ["username", "password"].filter((k) => typeof secret.data[k] !== "string");
  if (missing.length) return err(`Secret ${namespace}/${ref.name} has no ${missing.join(" or ")} key`);
  const po = c.providerOptions ?? {};
  // Rufio's connection.port is the BMC's port for whichever provider has none of its own.
  const ipmitool = { ...(po.ipmitool ?? {}), ...(po.ipmitool?.port === undefined && c.port !== undefined ? { port: c.port } : {}) };
  const redfish = { ...(po.redfish ?? {}) };
  return ok({
    host: c.host ?? "",
    username: secret.data.username!,
    password: secret.data.password!,
    options: { ...(po.preferredOrder ? { preferredOrder: po.preferredOrder } : {}), ipmitool, redfish },
    insecureTls: c.insecureTLS ?? true,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
}

/** Every Machine, for the poller. */
export async function listMachineRows(ctx: CoreContext): Promise<MachineRow[]> {
  return ctx.db.select().from(machines).orderBy(asc(machines.namespace), asc(machines.name));
}

/** Records a poll: the state and provider, or the error (the state becomes unknown). */
export async function recordPoll(
  ctx: CoreContext,
  id: string,
  outcome: { powerState: "on" | "off" | "unknown"; provider?: string } | { error: string },
): Promise<void> {
  const polledAt = ctx.now();
  if ("error" in outcome) {
    const [row] = await ctx.db.select({ failures: machines.failures }).from(machines).where(eq(machines.id, id));
    if (!row) return;
    await ctx.db.update(machines).set({ powerState: "unknown", lastError: outcome.error, failures: row.failures + 1, polledAt }).where(eq(machines.id, id));
    return;
  }
  await ctx.db
    .update(machines)
    .set({ powerState: outcome.powerState, provider: outcome.provider ?? null, lastError: null, failures: 0, polledAt })
    .where(eq(machines.id, id));
}
