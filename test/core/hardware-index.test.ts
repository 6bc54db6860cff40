// The in-memory Hardware index stays fresh through the wisp_hardware trigger: changes through the
// core, TRUNCATE, and (PostgreSQL) writes by another process. Tests wait for the index's change
// event with a bounded timeout, never a sleep.
import { expect, test } from "bun:test";
import { createHardwareIndex, type HardwareIndex } from "../../daemon/core/hardware-index.ts";
import { createCore } from "../../daemon/core/core.ts";
import { openStore, type Store } from "../../daemon/store/open.ts";
import { parseIpv4 } from "../../daemon/wire/address.ts";
import { manifests } from "../support/core.ts";
import { freshDatabase } from "../support/postgres.ts";
import { forEachStore, resetStore } from "../support/stores.ts";

const WAIT_MS = 10_000;

const ip = (text: string): number => {
  const r = parseIpv4(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

function hardwareYaml(name: string, mac: string, address: string, allowPXE = true): string {
  return `apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata: { name: ${name}, namespace: lab }
spec:
  interfaces:
    - dhcp: { mac: "${mac}", hostname: ${name}, arch: x86_64, ip: { address: ${address}, netmask: 255.255.255.0 } }
      netboot: { allowPXE: ${allowPXE} }
`;
}

/** Resolves when `predicate` holds, checking now and after each change the index applies. */
function until(index: HardwareIndex, what: string, predicate: () => boolean): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`hardware index: timed out after ${WAIT_MS} ms waiting for ${what}`));
    }, WAIT_MS);
    const stop = index.onChange(() => {
      if (!predicate()) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

async function withIndex(store: Store, fn: (index: HardwareIndex) => Promise<void>): Promise<void> {
  const index = await createHardwareIndex(store);
  try {
    await fn(index);
  } finally {
    await index.close();
  }
}

forEachStore("hardware index", (ctx) => {
  test("loads every Hardware at start", async () => {
    const core = createCore(ctx.store);
    await core.apply(manifests(`${hardwareYaml("a", "00:00:00:00:00:0a", "10.0.0.10")}---\n${hardwareYaml("b", "00:00:00:00:00:0b", "10.0.0.11")}`));
    await withIndex(ctx.store, async (index) => {
      await index.ready;
      expect(index.size).toBe(2);
      expect(index.byMac("00:00:00:00:00:0a")).toMatchObject({ hardwareName: "a", namespace: "lab", ip: ip("10.0.0.10"), allowPXE: true });
      expect(index.byIp(ip("10.0.0.11"))?.mac).toBe("00:00:00:00:00:0b");
      expect(index.byMac("00:00:00:00:00:0c")).toBeUndefined();
      expect(index.hardwareByName("lab", "b")?.spec.interfaces?.[0]?.dhcp?.ip?.address).toBe("10.0.0.11");
      expect(index.hardwareByName("other", "b")).toBeUndefined();
    });
  });

  test("sees Hardware applied, updated and deleted through the core, without reopening", async () => {
    const core = createCore(ctx.store);
    await withIndex(ctx.store, async (index) => {
      expect(index.size).toBe(0);
      await core.apply(manifests(hardwareYaml("a", "00:00:00:00:00:0a", "10.0.0.10")));
      await until(index, "the applied Hardware", () => index.byMac("00:00:00:00:00:0a") !== undefined);
      expect(index.byIp(ip("10.0.0.10"))?.hardwareName).toBe("a");

      await core.apply(manifests(hardwareYaml("a", "00:00:00:00:00:0a", "10.0.0.20", false)));
      await until(index, "the update", () => index.byMac("00:00:00:00:00:0a")?.ip === ip("10.0.0.20"));
      expect(index.byMac("00:00:00:00:00:0a")?.allowPXE).toBe(false);
      expect(index.hardwareByName("lab", "a")?.spec.interfaces?.[0]?.dhcp?.ip?.address).toBe("10.0.0.20");
      expect(index.byIp(ip("10.0.0.10"))).toBeUndefined();

      // A new MAC on the same Hardware: the old one goes.
      await core.apply(manifests(hardwareYaml("a", "00:00:00:00:00:0b", "10.0.0.20")));
      await until(index, "the MAC change", () => index.byMac("00:00:00:00:00:0b") !== undefined);
      expect(index.byMac("00:00:00:00:00:0a")).toBeUndefined();
      expect(index.size).toBe(1);

      await core.delete("Hardware", "lab", "a");
      await until(index, "the delete", () => index.size === 0);
      expect(index.byIp(ip("10.0.0.20"))).toBeUndefined();
      expect(index.hardwareByName("lab", "a")).toBeUndefined();
    });
  });

  test("a batch of Hardware in one apply, then TRUNCATE", async () => {
    const core = createCore(ctx.store);
    await withIndex(ctx.store, async (index) => {
      const docs = Array.from({ length: 60 }, (_, i) => hardwareYaml(`m${i}`, `00:00:00:00:01:${i.toString(16).padStart(2, "0")}`, `10.0.1.${i + 1}`));
      await core.apply(manifests(docs.join("---\n")));
      await until(index, "60 hosts", () => index.size === 60);
      expect(index.byIp(ip("10.0.1.60"))?.hardwareName).toBe("m59");
      await resetStore(ctx.store);
      await until(index, "an empty index", () => index.size === 0);
    });
  });

  test("refresh() and settled()", async () => {
    const core = createCore(ctx.store);
    await withIndex(ctx.store, async (index) => {
      await core.apply(manifests(hardwareYaml("a", "00:00:00:00:00:0a", "10.0.0.10")));
      await index.refresh();
      expect(index.size).toBe(1);
      await index.settled();
      expect(index.byMac("00:00:00:00:00:0a")?.hostname).toBe("a");
    });
  });

  test("close() stops listening; lookups keep the last state", async () => {
    const core = createCore(ctx.store);
    await core.apply(manifests(hardwareYaml("a", "00:00:00:00:00:0a", "10.0.0.10")));
    const index = await createHardwareIndex(ctx.store);
    await index.close();
    await index.close();
    await core.delete("Hardware", "lab", "a");
    await index.settled();
    expect(index.byMac("00:00:00:00:00:0a")?.hardwareName).toBe("a");
  });

  if (ctx.driver === "postgres") {
    test("sees Hardware written by another process on the same database", async () => {
      const database = await freshDatabase();
      const first = await openStore({ databaseUrl: database.url });
      const second = await openStore({ databaseUrl: database.url });
      try {
        await withIndex(first, async (index) => {
          const other = createCore(second);
          await other.apply(manifests(hardwareYaml("remote", "00:00:00:00:00:0e", "10.0.0.14")));
          await until(index, "the other process's Hardware", () => index.byMac("00:00:00:00:00:0e") !== undefined);
          await other.apply(manifests(hardwareYaml("remote", "00:00:00:00:00:0e", "10.0.0.15")));
          await until(index, "its update", () => index.byMac("00:00:00:00:00:0e")?.ip === ip("10.0.0.15"));
          await other.delete("Hardware", "lab", "remote");
          await until(index, "its delete", () => index.size === 0);
        });
      } finally {
        await second.close();
        await first.close();
        await database.drop();
      }
    });
  }
});
