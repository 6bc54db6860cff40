/**
 * The rendered-script cache of a real wispd: a second request for a machine's script is answered
 * from the cache (wisp_http_ipxe_script_cache_total), and a Hardware change applied through the
 * API in between (kernel parameters, allowPXE, a delete) is in the very next script once the
 * hardware index has it: the cache never serves the script of an older Hardware.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pgliteDataDir } from "../support/pglite.ts";
import { SETUP_TIMEOUT_MS, startWispd, type WispdHandle } from "../support/processes.ts";

const MAC = "52:54:00:ca:c4:01";
const hardware = (params: string[], allowPXE = true) => `apiVersion: tinkerbell.org/v1alpha1
kind: Hardware
metadata: {name: cached, namespace: default}
spec:
  interfaces:
    - dhcp: {mac: "${MAC}", arch: x86_64}
      netboot: {allowPXE: ${allowPXE}, osie: {kernelParams: ${JSON.stringify(params)}}}
`;

describe("iPXE script cache in wispd", () => {
  let wispd: WispdHandle;
  let token: string;
  let wispdDir = "";
  let remove = () => {};
  const script = async (mac = MAC) => {
    const r = await fetch(`${wispd.url}/ipxe/script/${mac}/auto.ipxe`);
    return { status: r.status, text: await r.text() };
  };
  const cacheCount = async (result: "hit" | "miss"): Promise<number> => {
    const text = await (await fetch(`${wispd.url}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`wisp_http_ipxe_script_cache_total{result="${result}"}`));
    return line === undefined ? 0 : Number(line.split(" ").pop());
  };
  const api = async (method: string, path: string, body?: object) => {
    const r = await fetch(`${wispd.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body && JSON.stringify(body) });
    expect(r.status).toBe(200);
  };
  const apply = (text: string) => api("POST", "/apply", { sources: [{ name: "hw.yaml", text }] });
  // The index follows the store's notifications: poll (bounded) until the script shows the change.
  const until = async (what: string, ok: (r: { status: number; text: string }) => boolean) => {
    for (let i = 0; i < 400; i++) {
      const r = await script();
      if (ok(r)) return r;
      await Bun.sleep(25);
    }
    throw new Error(`the script never showed ${what}`);
  };

  beforeAll(async () => {
    ({ dataDir: wispdDir, remove } = await pgliteDataDir());
    wispd = await startWispd(["--data-dir", wispdDir, "--public-ip", "10.1.2.3", "--tftp-port", "0"]);
    token = readFileSync(join(wispdDir, "api-token"), "utf8").trim();
    await apply(hardware(["first=1"]));
    await until("the applied Hardware", (r) => r.status === 200);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (wispd) expect(await wispd.stop()).toBe(0);
    remove();
  }, SETUP_TIMEOUT_MS);

  test("a second request is a cache hit with the same bytes", async () => {
    const first = await script();
    const [hits, misses] = [await cacheCount("hit"), await cacheCount("miss")];
    const again = await script();
    expect(again).toEqual(first);
    expect(first.text).toContain(" first=1 ");
    expect(await cacheCount("hit")).toBe(hits + 1);
    expect(await cacheCount("miss")).toBe(misses);
  });

  test("an applied change is served once the index has it, never the cached script of the old Hardware", async () => {
    await script(); // cached
    await apply(hardware(["second=2"]));
    const changed = await until("second=2", (r) => r.text.includes(" second=2 "));
    expect(changed.status).toBe(200);
    expect(changed.text).not.toContain("first=1");
    // From then on every answer is the new script (the old one is gone from the cache), a hit again.
    const hits = await cacheCount("hit");
    for (let i = 0; i < 5; i++) expect(await script()).toEqual(changed);
    expect(await cacheCount("hit")).toBe(hits + 5);
  });

  test("allowPXE false and a delete: the refusal, then no Hardware", async () => {
    await apply(hardware(["second=2"], false));
    const refused = await until("the allowPXE refusal", (r) => r.status === 404);
    expect(refused.text).toContain("netboot.allowPXE is false for default/cached");
    await api("DELETE", "/namespaces/default/hardware/cached");
    const gone = await until("no Hardware", (r) => r.text.includes("no Hardware has MAC"));
    expect(gone.status).toBe(404);
  });

  test("an unknown machine's refusal names each client's MAC (not cached across clients)", async () => {
    expect((await script("aa:bb:cc:00:00:01")).text).toContain("no Hardware has MAC aa:bb:cc:00:00:01");
    expect((await script("aa:bb:cc:00:00:02")).text).toContain("no Hardware has MAC aa:bb:cc:00:00:02");
  });
});
